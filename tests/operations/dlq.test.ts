import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { InventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import { closeDb } from '../support/db.js';
import { kafkaBrokers, readEvents } from '../support/kafka.js';
import { readServiceLog } from '../support/logs.js';
import { shopifyRequests, writesAmong } from '../support/shopify.js';
import { shopifyAvailable, shopifyTakesOrder } from '../support/shopify-stand-in.js';
import { stackEnv } from '../support/stack-env.js';
import { createVariant, eventually, recordMovement, type TestVariant } from '../stream/harness.js';
import { runTool } from './run-tool.js';

/**
 * `npm run dlq` through the running stack: events in the real dead-letter topic are listed with their
 * reason, a dry run sends nothing, and a replay gets them to Shopify through the stream processor,
 * never twice: an order whose variant moved on is confirmed by the newer movement's event, a restock
 * (a delta no confirm makes) is always replayed, a decrease a later confirm already lowered is not.
 */

const env = stackEnv();
const inventoryTopic = env.INVENTORY_TOPIC ?? 'inventory-updates';
const dlqTopic = env.DLQ_TOPIC ?? 'inventory-updates.dlq';
const kafka = new Kafka({ clientId: `test-dlq-${randomUUID().slice(0, 8)}`, brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });

/** What the processor writes to the DLQ after Shopify refused an event for good. */
async function deadLetter(event: InventoryEvent): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({
      topic: dlqTopic,
      messages: [
        {
          key: event.variantId,
          value: JSON.stringify(event),
          headers: {
            'x-correlation-id': `test-${event.eventId}`,
            'x-dlq-reason': 'shopify_failed: graphql_errors after 1 attempt: ACCESS_DENIED: test',
            'x-dlq-source': `${inventoryTopic}/0/1`,
          },
        },
      ],
    });
  } finally {
    await producer.disconnect();
  }
}

const key = (v: TestVariant) => `key ${v.variantId}`;

after(closeDb);

describe('npm run dlq lists dead-letter events and replays them once the cause is fixed (docs/spec.md section 10)', () => {
  it('lists events with their reason; --dry-run sends nothing; replay brings Shopify in line once, skipping what a newer movement settled', async (t) => {
    const fresh = await createVariant(t, { database: 9 }); // an order Shopify did not take: its confirm lowers Shopify
    const moved = await createVariant(t, { database: 6 }); // an order whose variant moved on since
    const restocked = await createVariant(t, { database: 5 }); // a restock, then an order Shopify took
    const corrected = await createVariant(t, { database: 5 }); // a decrease a later confirm lowered already
    const since = new Date(Date.now() - 1_000).toISOString();

    const order = await recordMovement(fresh, { reason: 'order', delta: -1 });
    const stale = await recordMovement(moved, { reason: 'order', delta: -1 });
    await recordMovement(moved, { reason: 'order', delta: -1 });
    const restock = await recordMovement(restocked, { reason: 'restock', delta: 3 });
    await shopifyTakesOrder([{ inventoryItemId: restocked.inventoryItemId, locationId: restocked.locationId, quantity: 1 }]);
    await recordMovement(restocked, { reason: 'order', delta: -1 });
    const decrease = await recordMovement(corrected, { reason: 'correction', delta: -2 });
    await recordMovement(corrected, { reason: 'order', delta: -1 });
    for (const e of [order, stale, restock, decrease]) await deadLetter(e);

    const list = await runTool('dlq', ['list', '--since', since]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      new RegExp(
        `${key(fresh)}  order movement ${order.movementId} order ${order.orderId} variant ${fresh.variantId} .* version 2 available 8\\n    reason: shopify_failed: graphql_errors after 1 attempt: ACCESS_DENIED: test`,
      ),
    );
    assert.match(list.stdout, new RegExp(`${key(restocked)}  restock movement ${restock.movementId} variant `));

    const sentSince = Date.now();
    const dry = await runTool('dlq', ['replay', '--since', since, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`would replay  \\d+/\\d+  \\S+  ${key(fresh)} `));
    assert.match(dry.stdout, new RegExp(`would replay  \\d+/\\d+  \\S+  ${key(restocked)} `));
    assert.match(
      dry.stdout,
      new RegExp(`skip  \\d+/\\d+  \\S+  ${key(moved)} [^\\n]*\\n[^\\n]*\\n    skipped: superseded: the database is at version 3`),
    );
    assert.match(
      dry.stdout,
      new RegExp(`skip  \\d+/\\d+  \\S+  ${key(corrected)} [^\\n]*\\n[^\\n]*\\n    skipped: applied: the database is at version 3`),
    );
    assert.match(dry.stdout, /dry run: \d+ event\(s\) would be sent .* nothing sent, no offset moved/);
    const mine = (e: { value: { eventId?: string } }) => [order, stale, restock, decrease].some((d) => d.eventId === e.value.eventId);
    assert.deepEqual(await readEvents({ topic: inventoryTopic, predicate: mine, untilEnd: true, fromTimestamp: sentSince }), []);

    const replay = await runTool('dlq', ['replay', '--since', since]);
    assert.equal(replay.code, 0, replay.stderr);
    const replayed = await readEvents<{ eventId: string }>({ topic: inventoryTopic, predicate: mine, fromTimestamp: sentSince, count: 2 });
    assert.deepEqual(replayed.map((e) => e.value.eventId).sort(), [order.eventId, restock.eventId].sort());
    const replayedOrder = replayed.find((e) => e.value.eventId === order.eventId)!;
    assert.equal(replayedOrder.key, String(fresh.variantId));
    assert.equal(replayedOrder.headers['x-correlation-id'], `test-${order.eventId}`);
    assert.match(replayedOrder.headers['x-dlq-replayed-from'] ?? '', new RegExp(`^${dlqTopic.replace(/\./g, '\\.')}/\\d+/\\d+$`));

    await eventually(async () => {
      assert.equal(await shopifyAvailable(fresh.inventoryItemId, fresh.locationId), 8, 'lowered to the database');
      assert.equal(await shopifyAvailable(restocked.inventoryItemId, restocked.locationId), 7, 'Shopify 5 - 1 it took + 3');
    }, 20_000);
    await eventually(() => {
      const lines = readServiceLog('order-stream-process').filter((l) => l.msg.startsWith('SUCCESS'));
      assert.ok(lines.some((l) => l.eventId === order.eventId && l.result === 'lowered'));
      assert.ok(lines.some((l) => l.eventId === restock.eventId && l.result === 'adjusted'));
    }, 10_000);
    assert.deepEqual(
      writesAmong(await shopifyRequests([moved.inventoryItemId, corrected.inventoryItemId])),
      [],
      'the skipped events never reached Shopify',
    );

    const again = await runTool('dlq', ['replay', '--since', since]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, new RegExp(`${key(fresh)} `), 'a second replay starts after what the first one settled');
    assert.match((await runTool('dlq', ['list', '--since', since])).stdout, new RegExp(`${key(fresh)} .*\\n.*\\[replayed\\]`));
  });

  it('refuses an unknown command and a --since that is not a time', async () => {
    assert.equal((await runTool('dlq', ['purge'])).code, 64);
    const bad = await runTool('dlq', ['list', '--since', 'yesterday']);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /--since yesterday: not an ISO 8601 time/);
  });
});

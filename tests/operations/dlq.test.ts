import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { closeDb, createTestProduct, dbPool, type TestProduct } from '../support/db.js';
import { kafkaBrokers, readEvents } from '../support/kafka.js';
import { readServiceLog } from '../support/logs.js';
import { inventoryItemGid, removeShopifyRequests, shopifyRequests } from '../support/shopify.js';
import { stackEnv } from '../support/stack-env.js';
import { eventually } from '../stream/harness.js';
import { runTool } from './run-tool.js';

/**
 * `npm run dlq` through the running stack: an event in the real dead-letter topic is listed with
 * its reason, a dry run sends nothing, and a replay gets it to Shopify through the stream processor.
 */

const env = stackEnv();
const inventoryTopic = env.INVENTORY_TOPIC ?? 'inventory-updates';
const dlqTopic = env.DLQ_TOPIC ?? 'inventory-updates.dlq';
const kafka = new Kafka({ clientId: `test-dlq-${randomUUID().slice(0, 8)}`, brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });

/** What the processor writes to the DLQ after Shopify refused an event for good. */
async function deadLetter(product: TestProduct, fields: { availableAfter: number; inventoryVersion: number }) {
  const event = {
    eventId: randomUUID(),
    orderId: String(6_000_000_000_000 + Math.floor(Math.random() * 1e9)),
    productId: String(product.productId),
    sku: product.sku,
    inventoryItemId: String(product.inventoryItemId),
    locationId: String(product.locationId),
    quantityOrdered: 1,
    ...fields,
    occurredAt: new Date().toISOString(),
  };
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    await producer.send({
      topic: dlqTopic,
      messages: [
        {
          key: event.productId,
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
  return event;
}

after(closeDb);

describe('npm run dlq lists dead-letter events and replays them once the cause is fixed (SPEC.md section 10)', () => {
  it('lists an event with its reason; --dry-run sends nothing; replay gets it to Shopify once, and a stale event is skipped', async (t) => {
    const fresh = await createTestProduct({ availableQuantity: 9 });
    const moved = await createTestProduct({ availableQuantity: 6 });
    t.after(() => removeShopifyRequests([fresh.inventoryItemId, moved.inventoryItemId]));
    // `moved` sold again after its event failed: the database is at version 3, the event at 2.
    await dbPool().query('UPDATE inventory SET version = 3 WHERE product_id = $1', [String(moved.productId)]);
    const since = new Date(Date.now() - 1_000).toISOString();
    const current = await deadLetter(fresh, { availableAfter: 4, inventoryVersion: 1 });
    const stale = await deadLetter(moved, { availableAfter: 5, inventoryVersion: 2 });

    const list = await runTool('dlq', ['list', '--since', since]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`key ${fresh.productId}  order ${current.orderId} product ${fresh.productId} .* version 1 available 4\\n    reason: shopify_failed: graphql_errors after 1 attempt: ACCESS_DENIED: test`));
    assert.match(list.stdout, new RegExp(`key ${moved.productId}  order ${stale.orderId} `));

    const sentSince = Date.now();
    const dry = await runTool('dlq', ['replay', '--since', since, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`would replay  \\d+/\\d+  \\S+  key ${fresh.productId} `));
    assert.match(dry.stdout, new RegExp(`skip  \\d+/\\d+  \\S+  key ${moved.productId} [^\\n]*\\n[^\\n]*\\n    skipped: superseded: the database is at version 3`));
    assert.match(dry.stdout, /dry run: \d+ event\(s\) would be sent .* nothing sent, no offset moved/);
    const mine = (e: { value: { eventId?: string } }) => e.value.eventId === current.eventId || e.value.eventId === stale.eventId;
    assert.deepEqual(await readEvents({ topic: inventoryTopic, predicate: mine, untilEnd: true, fromTimestamp: sentSince }), []);

    const replay = await runTool('dlq', ['replay', '--since', since]);
    assert.equal(replay.code, 0, replay.stderr);
    assert.match(replay.stdout, new RegExp(`replay  \\d+/\\d+  \\S+  key ${fresh.productId} `));
    const [replayed] = await readEvents<{ eventId: string }>({ topic: inventoryTopic, predicate: mine, fromTimestamp: sentSince });
    assert.equal(replayed!.value.eventId, current.eventId);
    assert.equal(replayed!.key, String(fresh.productId));
    assert.equal(replayed!.headers['x-correlation-id'], `test-${current.eventId}`);
    assert.match(replayed!.headers['x-dlq-replayed-from'] ?? '', new RegExp(`^${dlqTopic.replace(/\./g, '\\.')}/\\d+/\\d+$`));

    const [write] = await eventually(async () => {
      const found = await shopifyRequests([fresh.inventoryItemId]);
      assert.equal(found.length, 1);
      return found;
    }, 20_000);
    assert.equal(write!.body.variables.input.quantities[0]!.inventoryItemId, inventoryItemGid(fresh.inventoryItemId));
    assert.equal(write!.body.variables.input.quantities[0]!.quantity, 4);
    await eventually(() => {
      const success = readServiceLog('order-stream-process').find((l) => l.eventId === current.eventId && l.msg.startsWith('SUCCESS'));
      assert.ok(success, 'the stream processor logs SUCCESS for the replayed event');
    }, 10_000);
    assert.deepEqual(await shopifyRequests([moved.inventoryItemId]), [], 'the superseded event never reached Shopify');

    const again = await runTool('dlq', ['replay', '--since', since]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, new RegExp(`key ${fresh.productId} `), 'a second replay starts after what the first one settled');
    assert.match((await runTool('dlq', ['list', '--since', since])).stdout, new RegExp(`key ${fresh.productId} .*\\n.*\\[replayed\\]`));
  });

  it('refuses an unknown command and a --since that is not a time', async () => {
    assert.equal((await runTool('dlq', ['purge'])).code, 64);
    const bad = await runTool('dlq', ['list', '--since', 'yesterday']);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /--since yesterday: not an ISO 8601 time/);
  });
});

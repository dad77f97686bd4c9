/**
 * End-to-end proofs against the whole running stack: the real `inventory-updates` topic, the
 * stack's own relay and stream processor, WireMock as Shopify. Some tests stop components through
 * the launcher, so this suite runs alone, after the other suites (`npm run test:e2e`).
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { closeDb, readInventory, readMovements, readOutboxRows } from '../support/db.js';
import { readEvents } from '../support/kafka.js';
import { readServiceLog } from '../support/logs.js';
import { buildShopifyOrder, lineOf, randomOrderId } from '../support/orders.js';
import { inventoryItemGid, locationGid, shopifyGraphqlPath, shopifyRequests } from '../support/shopify.js';
import { stackEnv } from '../support/stack-env.js';
import {
  availableByVariant,
  launcherOk,
  orderIntegrity,
  pool,
  postOrder,
  publishedEventsOf,
  Report,
  shopifyMatchesDatabase,
  stockedProducts,
  waitFor,
  type WebhookAnswer,
} from './support.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const env = stackEnv();
const topic = env.INVENTORY_TOPIC ?? 'inventory-updates';
const report = new Report('e2e: whole stack');

after(async () => {
  report.print();
  // Whatever failed above, the stack is left whole for the suites that follow.
  await launcherOk('start', 'kafka').catch(() => undefined);
  await launcherOk('start', 'order-stream-process').catch(() => undefined);
  await closeDb();
});

describe('an order through the whole stack', () => {
  it('an accepted order becomes one Kafka event per variant and the compare-and-set call the contract describes', async () => {
    const { products, cleanup } = await stockedProducts(2, { availableQuantity: 40 });
    const [shirt, mug] = products as [(typeof products)[0], (typeof products)[0]];
    try {
      const orderId = randomOrderId();
      const webhookId = `e2e-${orderId}`;
      const since = Date.now() - 1_000;
      const res = await postOrder(buildShopifyOrder({ orderId, lines: [lineOf(shirt, 3), lineOf(mug, 1)] }), {
        'x-shopify-webhook-id': webhookId,
      });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      assert.deepEqual(res.json, { status: 'success', message: 'Order received and processed', order_id: String(orderId) });

      const events = await publishedEventsOf(orderId, { since });
      assert.deepEqual(
        events.map((e) => e.key).sort(),
        [String(shirt.variantId), String(mug.variantId)].sort(),
        'one event per variant, keyed by it',
      );
      const outbox = await readOutboxRows(orderId);
      for (const [variant, quantity] of [
        [shirt, 3],
        [mug, 1],
      ] as const) {
        const event = events.find((e) => e.key === String(variant.variantId))!;
        const row = await readInventory(variant.variantId);
        assert.equal(row!.availableQuantity, 40 - quantity);
        const [movement] = (await readMovements(variant.variantId)).filter((m) => m.reason === 'order');
        const { eventId, occurredAt, ...fields } = event.value;
        assert.match(String(eventId), UUID);
        assert.ok(!Number.isNaN(Date.parse(String(occurredAt))), `occurredAt ${String(occurredAt)} is a date`);
        assert.deepEqual(fields, {
          movementId: movement!.id,
          reason: 'order',
          reference: String(orderId),
          orderId: String(orderId),
          variantId: String(variant.variantId),
          productId: String(variant.productId),
          sku: variant.sku,
          inventoryItemId: String(variant.inventoryItemId),
          locationId: String(variant.locationId),
          delta: -quantity,
          availableAfter: 40 - quantity,
          inventoryVersion: row!.version,
          shopifyKnows: true,
        });
        assert.equal(event.headers['x-correlation-id'], webhookId, 'the correlation id travels from the webhook id to Kafka');
        assert.ok(
          outbox.some((o) => o.eventId === eventId && o.publishedAt !== null),
          'the outbox row is marked published',
        );
      }

      // Shopify did not take this order (the test sent the webhook): the processor reads Shopify's
      // level, then lowers it to the database's figure with a compare-and-set from what it read.
      await shopifyMatchesDatabase(products);
      for (const [variant, quantity] of [
        [shirt, 3],
        [mug, 1],
      ] as const) {
        const calls = await shopifyRequests([variant.inventoryItemId]);
        for (const call of calls) {
          assert.equal(new URL(call.url, 'http://x').pathname, shopifyGraphqlPath());
          assert.equal(call.headers['x-shopify-access-token'], env.SHOPIFY_ACCESS_TOKEN ?? 'shpat_local_access_token');
        }
        const sets = calls.filter((c) => c.operation === 'inventorySetQuantities');
        assert.equal(sets.length, 1, 'one compare-and-set lowers the item');
        assert.match(sets[0]!.body.query, /inventorySetQuantities\(input: \$input\) @idempotent\(key: \$idempotencyKey\)/);
        assert.ok(
          calls.slice(0, calls.indexOf(sets[0]!)).some((c) => c.operation === 'availableQuantities'),
          "Shopify's level is read before it is set",
        );
        assert.ok(
          !calls.some((c) => c.operation === 'inventoryAdjustQuantities'),
          'an order is never sent as a delta: Shopify knows its orders',
        );
        const { input, idempotencyKey } = sets[0]!.body.variables;
        assert.ok(input?.quantities, 'the set names its quantities');
        assert.match(idempotencyKey ?? '', UUID);
        assert.equal(input.name, 'available');
        assert.equal(input.reason, 'correction');
        assert.match(input.referenceDocumentUri, /^gid:\/\/order-intake\//);
        for (const q of input.quantities) assert.equal(typeof q.changeFromQuantity, 'number', 'never a blind set');
        const mine = input.quantities.find((q) => q.inventoryItemId === inventoryItemGid(variant.inventoryItemId));
        assert.deepEqual(mine, {
          inventoryItemId: inventoryItemGid(variant.inventoryItemId),
          locationId: locationGid(variant.locationId),
          quantity: 40 - quantity,
          changeFromQuantity: 40,
        });
      }
      report.add({
        scenario: 'one order: event + Shopify compare-and-set',
        requests: 1,
        faults: '-',
        accepted: 1,
        refused: 0,
        lost: 0,
        oversold: 0,
      });
    } finally {
      await cleanup();
    }
  });

  it('50 orders on 3 variants: Shopify gets far fewer calls than there are events, and ends holding the database quantities', async () => {
    const { products, cleanup } = await stockedProducts(3, { availableQuantity: 500 });
    const orderIds: number[] = [];
    try {
      // Stopped, the processor finds the 50 orders' events waiting as one backlog: the case coalescing is for.
      await launcherOk('stop', 'order-stream-process');
      const answers = await pool(
        Array.from({ length: 50 }, (_, i) => () => {
          const orderId = randomOrderId();
          orderIds.push(orderId);
          const lines = products.filter((_, p) => (i + p) % 3 !== 0).map((p, n) => lineOf(p, 1 + ((i + n) % 3)));
          return postOrder(buildShopifyOrder({ orderId, lines }));
        }),
        10,
      );
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(50).fill(201),
      );
      const events = await waitFor('every event published', async () => {
        const state = await orderIntegrity(orderIds);
        return state.unpublished === 0 ? state : undefined;
      });
      const eventCount = events.events;
      await launcherOk('start', 'order-stream-process');
      const calls = await shopifyMatchesDatabase(products);
      assert.ok(calls.length * 5 <= eventCount, `${calls.length} Shopify calls for ${eventCount} events`);
      const db = await availableByVariant(products.map((p) => p.variantId));
      for (const p of products) assert.equal(db.get(p.variantId), 500 - (events.soldByVariant.get(p.variantId) ?? 0));
      report.add({
        scenario: `50 orders, 3 products: ${eventCount} events -> ${calls.length} Shopify calls`,
        requests: 50,
        faults: 'processor stopped while orders arrive',
        accepted: answers.filter((a) => a.status === 201).length,
        refused: answers.filter((a) => a.status !== 201).length,
        lost: 0,
        oversold: 0,
      });
    } finally {
      await launcherOk('start', 'order-stream-process');
      await cleanup();
    }
  });

  it('each service writes its SUCCESS line for the order id in its .stack/logs file', async () => {
    const { products, cleanup } = await stockedProducts(1, { availableQuantity: 10 });
    try {
      const orderId = randomOrderId();
      const res = await postOrder(buildShopifyOrder({ orderId, lines: [lineOf(products[0]!, 1)] }));
      assert.equal(res.status, 201);
      const markers: Array<[string, string]> = [
        ['order-manage-api', 'order.accepted'],
        ['order-manage-data-api', 'order.committed'],
        ['order-manage-data-api', 'inventory.event.published'],
        ['order-stream-process', 'shopify.inventory.updated'],
      ];
      for (const [service, event] of markers) {
        const line = await waitFor(
          `${service} ${event} SUCCESS line for order ${orderId}`,
          async () =>
            readServiceLog(service).find((l) => l.event === event && l.orderId === String(orderId) && l.msg.startsWith('SUCCESS')),
          30_000,
        );
        assert.equal(line.service, service);
        assert.ok(typeof line.correlationId === 'string' && line.correlationId.length > 0, `${event} carries a correlation id`);
        assert.ok(typeof line.time === 'string' && typeof line.level === 'string');
      }
      report.add({
        scenario: 'SUCCESS markers of 4 events in logs',
        requests: 1,
        faults: '-',
        accepted: 1,
        refused: 0,
        lost: 0,
        oversold: 0,
      });
    } finally {
      await cleanup();
    }
  });

  it('Kafka stopped while orders arrive: all are accepted; once it is back every event is published and Shopify matches the database', async () => {
    const { products, cleanup } = await stockedProducts(2, { availableQuantity: 100 });
    const orderIds: number[] = [];
    const send = (i: number) => {
      const orderId = randomOrderId();
      orderIds.push(orderId);
      return postOrder(buildShopifyOrder({ orderId, lines: [lineOf(products[i % 2]!, 1 + (i % 3))] }));
    };
    const since = Date.now() - 1_000;
    try {
      // Orders keep coming, one every 200 ms, while the broker shuts down; then more while it is down.
      let stopped = false;
      const stopping = launcherOk('stop', 'kafka').finally(() => (stopped = true));
      const answers: WebhookAnswer[] = [];
      for (let i = 0; !stopped || i < 4; i++) {
        answers.push(await send(i));
        await sleep(200);
      }
      await stopping;
      const whileDown = orderIds.length;
      answers.push(
        ...(await pool(
          Array.from({ length: 8 }, (_, i) => () => send(whileDown + i)),
          4,
        )),
      );
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(orderIds.length).fill(201),
        JSON.stringify(answers.map((a) => a.json)),
      );
      const during = await orderIntegrity(orderIds);
      assert.equal(during.orders, orderIds.length);
      assert.ok(during.unpublished >= 8, `the events of the orders taken while Kafka was down wait in the outbox (${during.unpublished})`);

      await launcherOk('start', 'kafka');
      await waitFor('the outbox to drain', async () => ((await orderIntegrity(orderIds)).unpublished === 0 ? true : undefined), 120_000);
      // Drained means Kafka acknowledged every event: the topic, read to its end, holds every copy sent.
      const ours = new Set(orderIds.map(String));
      const events = await readEvents({
        topic,
        fromTimestamp: since,
        untilEnd: true,
        predicate: (e) => ours.has(e.value.orderId as string),
        timeoutMs: 60_000,
      });
      // A broker stopping mid-send may have kept a batch whose acknowledgement was lost: the relay is
      // at least once across such a fault, so a copy may repeat, but only whole (docs/design.md, "Delivery is at least once").
      assert.deepEqual(
        [...new Set(events.map((e) => e.value.orderId))].sort(),
        [...ours].sort(),
        'an event for every order (of one line each)',
      );
      const byMovement = new Map(events.map((e) => [e.value.movementId, JSON.stringify(e.value)]));
      for (const e of events)
        assert.equal(JSON.stringify(e.value), byMovement.get(e.value.movementId), 'a repeated event is an exact copy');
      await shopifyMatchesDatabase(products, 120_000);
      report.add({
        scenario: 'orders while Kafka stops and is down',
        requests: orderIds.length,
        faults: 'kafka stopped, then started',
        accepted: answers.filter((a) => a.status === 201).length,
        refused: answers.filter((a) => a.status !== 201).length,
        lost: orderIds.length - new Set(events.map((e) => e.value.orderId)).size,
        oversold: 0,
      });
    } finally {
      await launcherOk('start', 'kafka');
      await cleanup();
    }
  });
});

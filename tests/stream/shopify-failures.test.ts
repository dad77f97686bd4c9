/**
 * What goes wrong on the way to Shopify: failures retried with the same idempotency key, a stale
 * compare-and-set read and decided again, Shopify's refusals, and the DLQ after the last attempt.
 * The stand-in answers for real; a stub answers in its place only where a test needs a failure
 * (`thenStandIn` hands the calls back to it afterwards).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { DLQ_REASON_HEADER } from '../../services/order-stream-process/src/clients/dlq-writer.js';
import { closeDb } from '../support/db.js';
import {
  inventoryItemGid,
  shopifyReplies,
  shopifyRequests,
  stubShopify,
  writesAmong,
  type ShopifyOperation,
  type ShopifyReply,
} from '../support/shopify.js';
import { shopifyAvailable, shopifyLevels } from '../support/shopify-stand-in.js';
import {
  benchFor,
  createBench,
  createVariant,
  eventFor,
  eventually,
  header,
  kafka,
  metricSample,
  recordMovement,
  type Bench,
  type TestVariant,
} from './harness.js';

after(closeDb);

async function committedOffset(groupId: string, topic: string, partition: number): Promise<string | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return entry?.partitions.find((p) => p.partition === partition)?.offset;
  } finally {
    await admin.disconnect();
  }
}

async function stub(
  t: { after: (fn: () => Promise<void>) => void },
  v: TestVariant,
  operation: ShopifyOperation,
  replies: ShopifyReply[],
  thenStandIn = true,
) {
  const s = await stubShopify([v.inventoryItemId], replies, { operation, thenStandIn });
  t.after(() => s.remove());
  return s;
}

async function dead(bench: Bench, count: number) {
  return eventually(async () => {
    const messages = await bench.dlq();
    assert.equal(messages.length, count);
    return messages;
  });
}

const available = (v: TestVariant) => shopifyAvailable(v.inventoryItemId, v.locationId);
const awaitSuccess = (bench: Bench, eventId: string) =>
  eventually(() => {
    const line = bench.success(eventId);
    assert.ok(line, `no SUCCESS line yet for ${eventId}`);
    return line;
  });

describe('failures are retried with the same idempotency key', () => {
  it('retries a THROTTLED compare-and-set with the same request and lowers Shopify once', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    await stub(t, variant, 'inventorySetQuantities', [shopifyReplies.throttled()]);
    const bench = await benchFor(t);
    const order = await recordMovement(variant, { reason: 'order', delta: -2 });
    await bench.produce([order]);

    await awaitSuccess(bench, order.eventId);
    const sets = await shopifyRequests([variant.inventoryItemId], { operation: 'inventorySetQuantities' });
    assert.equal(sets.length, 2);
    assert.deepEqual(sets[0]!.body, sets[1]!.body, 'the same body, the same key');
    assert.equal(await available(variant), 8);
    assert.equal(await metricSample(bench, 'shopify_retries_total', 'outcome="throttled"'), 1);
  });

  it('retries three HTTP 500 answers to a delta with the same key and applies it once, on the fourth attempt', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    await stub(t, variant, 'inventoryAdjustQuantities', [
      shopifyReplies.serverError(),
      shopifyReplies.serverError(),
      shopifyReplies.serverError(),
    ]);
    const bench = await benchFor(t);
    const restock = await recordMovement(variant, { reason: 'restock', delta: 4 });
    await bench.produce([restock]);

    const line = await awaitSuccess(bench, restock.eventId);
    assert.equal(line.attempts, 4);
    const adjusts = await shopifyRequests([variant.inventoryItemId], { operation: 'inventoryAdjustQuantities' });
    assert.equal(adjusts.length, 4);
    assert.equal(new Set(adjusts.map((r) => r.body.variables.idempotencyKey)).size, 1);
    assert.equal(await available(variant), 14);
    assert.equal(bench.logs.filter((l) => l.event === 'shopify.call.failed').length, 3);
    assert.deepEqual(await bench.dlq(), []);
  });
});

describe('a stale compare-and-set is read and decided again', () => {
  it('reads Shopify again after CHANGE_FROM_QUANTITY_STALE (nothing applied) and lowers it from the figure it holds now', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    // The first read sees 12, the figure a moment before Shopify sold 2 more: the set from 12 is stale.
    const before = {
      data: {
        nodes: [{ id: inventoryItemGid(variant.inventoryItemId), inventoryLevel: { quantities: [{ name: 'available', quantity: 12 }] } }],
      },
    };
    await stub(t, variant, 'availableQuantities', [{ status: 200, body: before }]);
    const bench = await benchFor(t);
    const order = await recordMovement(variant, { reason: 'order', delta: -2 });
    await bench.produce([order]);

    const line = await awaitSuccess(bench, order.eventId);
    assert.equal(line.result, 'lowered');
    assert.equal(line.shopify, 10);
    const sets = await shopifyRequests([variant.inventoryItemId], { operation: 'inventorySetQuantities' });
    assert.deepEqual(
      sets.map((s) => s.body.variables.input!.quantities![0]!.changeFromQuantity),
      [12, 10],
    );
    assert.notEqual(sets[0]!.body.variables.idempotencyKey, sets[1]!.body.variables.idempotencyKey, 'a new decision, a new key');
    const [level] = await shopifyLevels(variant.inventoryItemId);
    assert.deepEqual(
      level!.history.map((h) => [h.cause, h.available]),
      [
        ['seed', 10],
        ['set', 8],
      ],
      'the stale set applied nothing',
    );
    assert.equal(await metricSample(bench, 'shopify_stale_compare_total'), 1);
    assert.deepEqual(
      bench.logs.filter((l) => l.event === 'shopify.inventory.stale').map(({ level, msg, round }) => ({ level, msg, round })),
      [{ level: 'info', msg: 'Shopify moved 1 item(s) since the read (round 1): reading again', round: 1 }],
    );
  });

  it('sends the events to the DLQ when Shopify moved between every read and write, after 5 rounds, having changed nothing', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const moving = {
      data: {
        nodes: [{ id: inventoryItemGid(variant.inventoryItemId), inventoryLevel: { quantities: [{ name: 'available', quantity: 12 }] } }],
      },
    };
    await stub(t, variant, 'availableQuantities', [{ status: 200, body: moving }], false);
    const bench = await benchFor(t);
    const order = await recordMovement(variant, { reason: 'order', delta: -2 });
    const [correlationId] = await bench.produce([order]);

    const [letter] = await dead(bench, 1);
    assert.match(header(letter!, DLQ_REASON_HEADER) ?? '', /^shopify_failed: CHANGE_FROM_QUANTITY_STALE in 5 rounds/);
    assert.equal(header(letter!, 'x-correlation-id'), correlationId);
    assert.equal(JSON.parse(letter!.value!.toString()).eventId, order.eventId);
    assert.equal((await shopifyRequests([variant.inventoryItemId], { operation: 'inventorySetQuantities' })).length, 5);
    assert.equal(await available(variant), 10);
    assert.equal(bench.success(order.eventId), undefined);
  });
});

describe('the DLQ after the last attempt', () => {
  it('dead-letters the event of a lowering Shopify keeps refusing with 503 after the last attempt, and goes on with the next event', async (t) => {
    const failing = await createVariant(t, { database: 10 });
    const healthy = await createVariant(t, { database: 10 });
    await stub(t, failing, 'inventorySetQuantities', [shopifyReplies.serverError(503)], false);
    const bench = await benchFor(t, { maxAttempts: 3 });

    const broken = await recordMovement(failing, { reason: 'order', delta: -1 });
    await bench.produce([broken], { partition: 0 });
    const [letter] = await dead(bench, 1);
    assert.match(header(letter!, DLQ_REASON_HEADER) ?? '', /^shopify_failed: http_5xx after 3 attempts: HTTP 503/);
    assert.equal(letter!.key?.toString(), String(failing.variantId));
    assert.deepEqual(JSON.parse(letter!.value!.toString()), broken);
    const failure = bench.logs.find((l) => l.event === 'shopify.inventory.failed');
    assert.equal(failure?.orderId, broken.orderId);

    const next = await recordMovement(healthy, { reason: 'order', delta: -3 });
    await bench.produce([next], { partition: 0 });
    await awaitSuccess(bench, next.eventId);
    assert.equal(await available(healthy), 7);
    await eventually(async () => assert.equal(await committedOffset(bench.groupId, bench.topic, 0), '2'));
    assert.equal(await metricSample(bench, 'inventory_dlq_messages_total', 'reason="shopify_failed"'), 1);
  });

  it("dead-letters a delta for an item Shopify does not stock at the location (ITEM_NOT_STOCKED_AT_LOCATION) and applies the other item's delta, a call of its own", async (t) => {
    const unstocked = await createVariant(t, { database: 10, shopify: 'none' });
    const stocked = await createVariant(t, { database: 10 });
    const bench = await benchFor(t, { start: false, maxAttempts: 2 });
    const bad = await recordMovement(unstocked, { reason: 'correction', delta: -1 });
    const good = await recordMovement(stocked, { reason: 'wms_sync', delta: 6 });
    await bench.produce([bad, good], { partition: 0 });
    await bench.processor.start();

    await awaitSuccess(bench, good.eventId);
    const [letter] = await dead(bench, 1);
    assert.equal(JSON.parse(letter!.value!.toString()).eventId, bad.eventId);
    assert.match(header(letter!, DLQ_REASON_HEADER) ?? '', /ITEM_NOT_STOCKED_AT_LOCATION/);
    const movementsOf = async (variant: TestVariant) =>
      writesAmong(await shopifyRequests([variant.inventoryItemId])).map((c) => [
        c.body.variables.input!.referenceDocumentUri,
        c.body.variables.input!.changes!.length,
      ]);
    assert.deepEqual(
      await movementsOf(unstocked),
      [
        [`gid://order-intake/InventoryMovement/${bad.movementId}`, 1],
        [`gid://order-intake/InventoryMovement/${bad.movementId}`, 1],
      ],
      'two attempts of the refused movement, alone in its call',
    );
    assert.deepEqual(
      await movementsOf(stocked),
      [[`gid://order-intake/InventoryMovement/${good.movementId}`, 1]],
      'the stocked item in a call of its own, once',
    );
    assert.equal(await available(stocked), 16);
    assert.deepEqual(await shopifyLevels(unstocked.inventoryItemId), []);
  });
});

describe('at least once across a restart', () => {
  it('commits nothing while Shopify fails; after a restart the same delta, same key, applies once', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const failing = await stubShopify([variant.inventoryItemId], shopifyReplies.serverError(), { operation: 'inventoryAdjustQuantities' });
    t.after(() => failing.remove());
    const bench = await createBench({ maxAttempts: 1_000 });
    t.after(() => bench.close());

    const restock = await recordMovement(variant, { reason: 'restock', delta: 7 });
    await bench.produce([restock], { partition: 2 });
    await eventually(async () =>
      assert.ok((await shopifyRequests([variant.inventoryItemId], { operation: 'inventoryAdjustQuantities' })).length >= 2),
    );
    await bench.processor.stop();
    assert.ok([undefined, '-1'].includes(await committedOffset(bench.groupId, bench.topic, 2)), 'nothing committed');

    await failing.remove();
    await bench.restart();
    await awaitSuccess(bench, restock.eventId);
    await eventually(async () => assert.equal(await committedOffset(bench.groupId, bench.topic, 2), '1'));
    const adjusts = await shopifyRequests([variant.inventoryItemId], { operation: 'inventoryAdjustQuantities' });
    assert.equal(new Set(adjusts.map((r) => r.body.variables.idempotencyKey)).size, 1, 'one key before and after the restart');
    assert.equal(await available(variant), 17);
  });
});

describe('unusable messages', () => {
  it('sends bad JSON, a missing field and the old product event to the DLQ with their reasons, and goes on', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t);
    await bench.produceRaw({ key: 'poison', value: '{"eventId": "not json', headers: { 'x-correlation-id': 'poison-1' }, partition: 0 });
    const { availableAfter: _dropped, ...incomplete } = eventFor(variant);
    await bench.produceRaw({
      key: String(variant.variantId),
      value: JSON.stringify(incomplete),
      headers: { 'x-correlation-id': 'poison-2' },
      partition: 0,
    });
    const { movementId: _m, reason: _r, reference: _ref, variantId: _v, delta: _d, shopifyKnows: _s, ...old } = eventFor(variant);
    await bench.produceRaw({
      key: String(variant.productId),
      value: JSON.stringify({ ...old, quantityOrdered: 1 }),
      headers: { 'x-correlation-id': 'poison-3' },
      partition: 0,
    });
    const valid = await recordMovement(variant, { reason: 'order', delta: -2 });
    await bench.produce([valid], { partition: 0 });

    const letters = await dead(bench, 3);
    const byCorrelation = new Map(letters.map((m) => [header(m, 'x-correlation-id'), m]));
    assert.equal(byCorrelation.get('poison-1')!.value?.toString(), '{"eventId": "not json');
    assert.match(header(byCorrelation.get('poison-1')!, DLQ_REASON_HEADER) ?? '', /^invalid_json: /);
    assert.deepEqual(JSON.parse(byCorrelation.get('poison-2')!.value!.toString()), incomplete);
    assert.match(header(byCorrelation.get('poison-2')!, DLQ_REASON_HEADER) ?? '', /^invalid_event: availableAfter/);
    assert.match(header(byCorrelation.get('poison-3')!, DLQ_REASON_HEADER) ?? '', /^invalid_event: .*movementId/);

    await awaitSuccess(bench, valid.eventId);
    assert.equal(await available(variant), 8);
    await eventually(async () => assert.equal(await committedOffset(bench.groupId, bench.topic, 0), '4'));
  });
});

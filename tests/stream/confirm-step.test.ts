/**
 * The confirm step of one batch (`use-cases/sync-batch/confirm.ts`), called as the batch handler
 * calls it, with KafkaJS's answers in the test's hands: what it does when the batch stops being
 * this consumer's, when Shopify cannot tell an item's figure or refuses one item of a call, and how
 * many quantities it puts in a call. Real Kafka for the DLQ, the Shopify stand-in that keeps
 * Shopify's levels (a stub in its place only for a failure), and order-manage-data-api's figures.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { InventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import { createConfirmMemory } from '../../services/order-stream-process/src/use-cases/sync-batch/sync-batch.js';
import { closeDb } from '../support/db.js';
import {
  inventoryItemGid,
  shopifyReplies,
  shopifyRequests,
  stubShopify,
  type ShopifyOperation,
  type ShopifyReply,
} from '../support/shopify.js';
import { shopifyAvailable, shopifyTakesOrder } from '../support/shopify-stand-in.js';
import {
  batchContext,
  benchFor,
  closedPortUrl,
  createVariant,
  eventually,
  header,
  randomLocationId,
  recordMovement,
  syncAsOneBatch,
  type Bench,
  type TestVariant,
} from './harness.js';

after(closeDb);

type T = { after: (fn: () => Promise<void>) => void };

/** An order the database recorded and Shopify did not take: the confirm step lowers Shopify by it. */
const orderOf = (variant: TestVariant) => recordMovement(variant, { reason: 'order', delta: -1 });

async function stub(t: T, variant: TestVariant, operation: ShopifyOperation, replies: ShopifyReply | ShopifyReply[], thenStandIn = false) {
  const s = await stubShopify([variant.inventoryItemId], replies, { operation, thenStandIn });
  t.after(() => s.remove());
}

async function deadLetters(bench: Bench, count: number) {
  return eventually(async () => {
    const messages = await bench.dlq();
    assert.equal(messages.length, count);
    return messages.map((m) => ({ eventId: JSON.parse(m.value!.toString()).eventId as string, reason: header(m, 'x-dlq-reason') }));
  });
}

const available = (v: TestVariant) => shopifyAvailable(v.inventoryItemId, v.locationId);

const takeAtShopify = (v: TestVariant, quantity: number) =>
  shopifyTakesOrder([{ inventoryItemId: v.inventoryItemId, locationId: v.locationId, quantity }]);

describe('a batch that stops being this consumer’s', () => {
  it('is given up before anything is read when it is no longer ours at the first round', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t, { start: false });
    const ctx = await batchContext(t, bench, { isRunning: () => false });

    assert.equal(await syncAsOneBatch(bench, ctx, [await orderOf(variant)]), false);

    assert.deepEqual(await shopifyRequests([variant.inventoryItemId]), []);
    assert.deepEqual(bench.successLines(), []);
  });

  it('is given up after the read and before the compare-and-set when the consumer stops meanwhile', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t, { start: false });
    let asked = 0;
    const ctx = await batchContext(t, bench, { isRunning: () => ++asked === 1 });

    assert.equal(await syncAsOneBatch(bench, ctx, [await orderOf(variant)]), false);

    assert.deepEqual(
      (await shopifyRequests([variant.inventoryItemId])).map((r) => r.operation),
      ['availableQuantities'],
    );
    assert.equal(await available(variant), 10);
    assert.deepEqual(bench.successLines(), []);
  });
});

describe('an item whose figure Shopify cannot give', () => {
  it("goes to the DLQ when Shopify does not know the inventory item; the batch's other item is lowered", async (t) => {
    const [unknown, known] = [await createVariant(t, { database: 10 }), await createVariant(t, { database: 10 })];
    await stub(t, unknown, 'availableQuantities', { status: 200, body: { data: { nodes: [null] } } });
    const bench = await benchFor(t, { start: false });
    const [lost, kept] = [await orderOf(unknown), await orderOf(known)];

    assert.equal(await syncAsOneBatch(bench, await batchContext(t, bench), [lost, kept]), true);

    assert.deepEqual(await deadLetters(bench, 1), [
      { eventId: lost.eventId, reason: 'shopify_failed: Shopify does not know this inventory item' },
    ]);
    assert.equal(bench.success(kept.eventId)?.result, 'lowered');
    assert.equal(await available(known), 9);
  });

  it('goes to the DLQ when Shopify does not stock the item at its location', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const node = { id: inventoryItemGid(variant.inventoryItemId), inventoryLevel: null };
    await stub(t, variant, 'availableQuantities', { status: 200, body: { data: { nodes: [node] } } });
    const bench = await benchFor(t, { start: false });
    const order = await orderOf(variant);

    assert.equal(await syncAsOneBatch(bench, await batchContext(t, bench), [order]), true);

    assert.deepEqual(await deadLetters(bench, 1), [
      {
        eventId: order.eventId,
        reason: 'shopify_failed: ITEM_NOT_STOCKED_AT_LOCATION: Shopify does not stock this item at this location',
      },
    ]);
  });

  it("goes to the DLQ when Shopify's levels cannot be read after the last attempt, having written nothing", async (t) => {
    const variant = await createVariant(t, { database: 10 });
    await stub(t, variant, 'availableQuantities', shopifyReplies.serverError(503));
    const bench = await benchFor(t, { start: false, maxAttempts: 2 });
    const order = await orderOf(variant);

    assert.equal(await syncAsOneBatch(bench, await batchContext(t, bench), [order]), true);

    const [letter] = await deadLetters(bench, 1);
    assert.equal(letter!.eventId, order.eventId);
    assert.match(letter!.reason ?? '', /^shopify_failed: reading Shopify's levels: http_5xx after 2 attempts/);
    assert.deepEqual(
      (await shopifyRequests([variant.inventoryItemId])).map((r) => r.operation),
      ['availableQuantities', 'availableQuantities'],
    );
    assert.deepEqual(
      bench.logs.filter((l) => l.event === 'shopify.call.failed').map(({ operation, attempt }) => ({ operation, attempt })),
      [
        { operation: 'confirm.read', attempt: 1 },
        { operation: 'confirm.read', attempt: 2 },
      ],
    );
  });
});

describe("the confirm step's compare-and-sets", () => {
  it('hold at most maxPerCall quantities each', async (t) => {
    const locationId = randomLocationId();
    const variants = [];
    for (let i = 0; i < 3; i++) variants.push(await createVariant(t, { database: 10, locationId }));
    const bench = await benchFor(t, { start: false });
    const orders = [];
    for (const v of variants) orders.push(await orderOf(v));

    assert.equal(await syncAsOneBatch(bench, await batchContext(t, bench, { maxPerCall: 2 }), orders), true);

    const sets = await shopifyRequests(
      variants.map((v) => v.inventoryItemId),
      { operation: 'inventorySetQuantities' },
    );
    assert.deepEqual(
      sets.map((s) => s.body.variables.input!.quantities!.length),
      [2, 1],
    );
    for (const v of variants) assert.equal(await available(v), 9);
    assert.deepEqual(
      orders.map((o) => bench.success(o.eventId)?.result),
      ['lowered', 'lowered', 'lowered'],
    );
  });

  it("send the item Shopify refuses in a call to the DLQ, and write the call's other item again", async (t) => {
    const locationId = randomLocationId();
    const [refused, other] = [await createVariant(t, { database: 10, locationId }), await createVariant(t, { database: 10, locationId })];
    const refusal = shopifyReplies.userErrors([
      {
        code: 'INVALID_INVENTORY_ITEM',
        field: ['input', 'quantities', '0', 'inventoryItemId'],
        message: 'The inventory item is not valid',
      },
    ]);
    await stub(t, refused, 'inventorySetQuantities', refusal, true);
    const bench = await benchFor(t, { start: false, maxAttempts: 1 });
    const [lost, kept] = [await orderOf(refused), await orderOf(other)];

    assert.equal(await syncAsOneBatch(bench, await batchContext(t, bench), [lost, kept]), true);

    const [letter] = await deadLetters(bench, 1);
    assert.equal(letter!.eventId, lost.eventId);
    assert.match(letter!.reason ?? '', /^shopify_failed: .*INVALID_INVENTORY_ITEM/);
    const keptLine = bench.success(kept.eventId);
    assert.equal(keptLine?.result, 'lowered');
    assert.equal(await available(other), 9);
    assert.equal(await available(refused), 10);
    const sets = await shopifyRequests([refused.inventoryItemId, other.inventoryItemId], { operation: 'inventorySetQuantities' });
    assert.deepEqual(
      sets.map((s) => s.body.variables.input!.quantities!.map((q) => q.inventoryItemId)),
      [[inventoryItemGid(refused.inventoryItemId), inventoryItemGid(other.inventoryItemId)], [inventoryItemGid(other.inventoryItemId)]],
      'both in the first call; the other alone in the second round',
    );
    assert.deepEqual(
      bench.logs
        .filter((l) => l.event === 'shopify.call.failed')
        .map(({ operation, idempotencyKey, quantities, round }) => ({ operation, idempotencyKey, quantities, round })),
      [{ operation: 'confirm.set', idempotencyKey: sets[0]!.body.variables.idempotencyKey, quantities: 2, round: 1 }],
    );
  });
});

describe("a data-api that does not answer the database's figures", () => {
  it('is waited for, each attempt logged, and the batch given up without a dead letter when the consumer stops', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t, { start: false, dataApiUrl: await closedPortUrl() });
    let asked = 0;
    // Ours at the first round and after each of the first two failed reads; stopping after the third.
    const ctx = await batchContext(t, bench, { isRunning: () => ++asked <= 3 });

    assert.equal(await syncAsOneBatch(bench, ctx, [await orderOf(variant)]), false);

    assert.deepEqual(
      bench.logs.filter((l) => l.event === 'inventory.stock.unavailable').map(({ level, attempt }) => ({ level, attempt })),
      [1, 2, 3].map((attempt) => ({ level: 'warn', attempt })),
    );
    assert.match(
      bench.logs.find((l) => l.event === 'inventory.stock.unavailable')!.msg,
      /^cannot read the database's stock \(attempt 1\); trying again: /,
    );
    assert.deepEqual(await shopifyRequests([variant.inventoryItemId]), []);
    assert.deepEqual(
      bench.logs.filter((l) => l.event === 'shopify.inventory.failed'),
      [],
    );
  });
});

describe('an item the database has moved past', () => {
  it("is confirmed by the database's newer movement without reading Shopify", async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t, { start: false });
    const first = await orderOf(variant);
    await orderOf(variant); // its event is still on its way

    assert.equal(await syncAsOneBatch(bench, await batchContext(t, bench), [first]), true);

    assert.equal(bench.success(first.eventId)?.result, 'superseded');
    assert.deepEqual(await shopifyRequests([variant.inventoryItemId]), []);
  });

  it('still brings Shopify to the database at the next batch when the movement that superseded an import arrives, and not after', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t, { start: false });
    const memory = createConfirmMemory();
    const ctx = await batchContext(t, bench);
    const batch = (event: InventoryEvent) => syncAsOneBatch(bench, ctx, [event], memory);
    const imported = await recordMovement(variant, { reason: 'import', delta: 10 }); // the warehouse count: 20
    await takeAtShopify(variant, 1); // Shopify 9
    const taken = await orderOf(variant); // the database 19

    await batch(imported);
    assert.equal(bench.success(imported.eventId)?.result, 'superseded');
    await batch(taken);
    assert.equal(bench.success(taken.eventId)?.result, 'set');
    assert.equal(await available(variant), 19, 'the import raised Shopify, less the order it took');

    await takeAtShopify(variant, 2); // Shopify 17: two orders, one of whose webhooks is still on its way
    const next = await orderOf(variant); // the database 18
    await batch(next);
    assert.equal(bench.success(next.eventId)?.result, 'confirmed');
    assert.equal(await available(variant), 17, 'the import is done: Shopify is never raised over an order it took');
  });
});

describe('a processor that stops while the data-api does not answer', () => {
  it('gives the batch up at once, without a warning or a retry', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t, { start: false, dataApiUrl: await closedPortUrl() });
    const stopping = new AbortController();
    stopping.abort(new Error('processor stopping'));

    assert.equal(await syncAsOneBatch(bench, await batchContext(t, bench, { signal: stopping.signal }), [await orderOf(variant)]), false);

    assert.deepEqual(
      bench.logs.filter((l) => l.event === 'inventory.stock.unavailable'),
      [],
    );
  });
});

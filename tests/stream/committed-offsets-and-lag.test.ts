/**
 * The batch handler's bookkeeping after a batch is synced: the consumer group's committed offset
 * (read by a Kafka admin, and proven from the outside by a restarted processor that does not sync
 * the committed events again) and the inventory_consumer_lag gauge. A replayed batch is harmless,
 * so only these checks notice offsets that are never committed.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { InventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import { closeDb } from '../support/db.js';
import { shopifyReplies, shopifyRequests, stubShopify } from '../support/shopify.js';
import { benchFor, closedPortUrl, createVariant, eventFor, eventually, recordMovement, type Bench, type TestVariant } from './harness.js';

after(closeDb);

/** Three orders of one variant, recorded in the database, produced together: one batch at offsets 0-2 of partition 0. */
async function threeOrdersOnPartition0(bench: Bench, variant: TestVariant): Promise<InventoryEvent[]> {
  const orders: InventoryEvent[] = [];
  for (let i = 0; i < 3; i++) orders.push(await recordMovement(variant, { reason: 'order', delta: -1 }));
  await bench.produce(orders, { partition: 0 });
  return orders;
}

async function awaitSuccesses(bench: Bench, events: InventoryEvent[]): Promise<void> {
  await eventually(() => {
    for (const event of events) assert.ok(bench.success(event.eventId), `no SUCCESS line yet for ${event.eventId}`);
  });
}

/** The inventory_consumer_lag line of the test's topic and this partition in the bench's metrics text, if any. */
async function consumerLag(bench: Bench, partition: number): Promise<number | undefined> {
  const text = await bench.metrics.registry.metrics();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('inventory_consumer_lag{') && l.includes(`topic="${bench.topic}"`) && l.includes(`partition="${partition}"`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe("a synced batch's offsets are committed", () => {
  it('commits partition 0 past the three events of a batch once they have their SUCCESS lines', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t);

    const orders = await threeOrdersOnPartition0(bench, variant);
    await awaitSuccesses(bench, orders);

    await eventually(async () => assert.equal(await bench.committedOffset(0), '3'));
  });

  it('a processor restarted in the same group syncs only what follows the committed events: no second SUCCESS line, no second Shopify call for them', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const markerVariant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t);
    const orders = await threeOrdersOnPartition0(bench, variant);
    await awaitSuccesses(bench, orders);
    assert.equal((await shopifyRequests([variant.inventoryItemId])).length, 2, 'one read and one compare-and-set for the batch');

    await bench.restart(); // a new processor remembers no event it handled: only the commit keeps it from replaying them
    const marker = await recordMovement(markerVariant, { reason: 'order', delta: -1 });
    await bench.produce([marker], { partition: 0 });
    await awaitSuccesses(bench, [marker]);

    for (const order of orders)
      assert.equal(bench.successLines().filter((l) => l.eventId === order.eventId).length, 1, `one SUCCESS line for ${order.eventId}`);
    assert.equal((await shopifyRequests([variant.inventoryItemId])).length, 2, 'no call for the committed events after the restart');
  });
});

describe('a batch abandoned because the processor stops is not committed', () => {
  it('commits nothing of a batch the processor stops while waiting for the data-api', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t, { dataApiUrl: await closedPortUrl() });
    const order = await recordMovement(variant, { reason: 'order', delta: -1 });
    await bench.produce([order], { partition: 0 });
    await eventually(() => assert.ok(bench.logs.some((l) => l.event === 'inventory.stock.unavailable')));

    await bench.processor.stop(); // waits for the batch handler to give the batch up
    assert.equal(await bench.committedOffset(0), '-1');
    assert.equal(bench.success(order.eventId), undefined);
  });

  it('dead-letters none of a batch that lingers when the processor stops, and commits nothing past the previous batch', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    // A linger far longer than the test: the second batch waits until the processor stops.
    const bench = await benchFor(t, { lingerMs: 600_000 });
    await bench.produce([eventFor(variant, { delta: 0 })], { partition: 0 });
    await eventually(async () => assert.equal(await bench.committedOffset(0), '1'));

    // Two unusable events in one send: one batch at offsets 1-2, which lingers after the first.
    await bench.produce([eventFor(variant, { delta: 0 }), eventFor(variant, { delta: 0 })], { partition: 0 });
    await eventually(async () => assert.equal(await consumerLag(bench, 0), 1, 'the lingering batch read one message behind its start'));
    await bench.processor.stop();

    assert.equal(await bench.committedOffset(0), '1');
    assert.deepEqual(
      bench.logs.filter((l) => l.event === 'inventory.event.invalid').map((l) => l.offset),
      ['0'],
      'only the first batch went to the DLQ',
    );
  });
});

describe('the inventory_consumer_lag gauge', () => {
  it("reads the messages after a held batch's first offset while Shopify fails, and 0 once the batch is committed", async (t) => {
    const variant = await createVariant(t, { database: 10 });
    // Shopify answers 500 until the stub goes: the batch is held, retrying (up to 1,000 attempts), meanwhile.
    const failing = await stubShopify([variant.inventoryItemId], shopifyReplies.serverError());
    t.after(() => failing.remove());
    const bench = await benchFor(t, { maxAttempts: 1_000 });

    const orders = await threeOrdersOnPartition0(bench, variant);
    await eventually(async () => assert.ok((await shopifyRequests([variant.inventoryItemId])).length >= 1, 'Shopify called for the batch'));
    assert.equal(await consumerLag(bench, 0), 2, 'offsets 1 and 2 follow the batch start at offset 0');

    await failing.remove();
    await awaitSuccesses(bench, orders);
    await eventually(async () => assert.equal(await bench.committedOffset(0), '3'));
    await bench.processor.stop(); // waits for the batch handler to return, so the gauge holds its last figure
    assert.equal(await consumerLag(bench, 0), 0);
  });
});

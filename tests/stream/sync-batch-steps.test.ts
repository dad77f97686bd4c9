/**
 * The steps of one batch (`use-cases/sync-batch/sync-batch.ts`): the deltas' SUCCESS lines beside
 * the confirm step's, and a batch given up between two deltas. Real Kafka, the Shopify stand-in
 * that keeps Shopify's levels, and order-manage-data-api's figures.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { closeDb } from '../support/db.js';
import { shopifyRequests } from '../support/shopify.js';
import { shopifyAvailable } from '../support/shopify-stand-in.js';
import { batchContext, benchFor, createVariant, eventually, recordMovement, syncAsOneBatch } from './harness.js';

after(closeDb);

describe("an item's delta and the confirm step in one batch", () => {
  it("logs the restock's SUCCESS line as adjusted and the order's beside it as lowered by the confirm step, one line each", async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t);
    const order = await recordMovement(variant, { reason: 'order', delta: -1 });
    const restock = await recordMovement(variant, { reason: 'restock', delta: 5 });
    await bench.produce([order, restock], { partition: 0 });

    await eventually(() => assert.ok(bench.success(order.eventId) && bench.success(restock.eventId)));
    const lines = bench.successLines().filter((l) => l.eventId === order.eventId || l.eventId === restock.eventId);
    assert.deepEqual(
      lines.map((l) => [l.eventId, l.result]).sort(),
      [
        [order.eventId, 'lowered'],
        [restock.eventId, 'adjusted'],
      ].sort(),
    );
    assert.equal(
      await shopifyAvailable(variant.inventoryItemId, variant.locationId),
      14,
      'Shopify 10 + 5, lowered by the order Shopify did not take',
    );
  });
});

describe('a batch given up between two deltas', () => {
  it('is not to be committed: the delta sent stays applied, the next is not sent, and no event has a SUCCESS line or goes to the DLQ', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t, { start: false });
    const restock = await recordMovement(variant, { reason: 'restock', delta: 5 });
    const correction = await recordMovement(variant, { reason: 'correction', delta: -2 });
    let asked = 0;
    // Running when the first delta is sent; stopping by the time the second would be.
    const ctx = await batchContext(t, bench, { isRunning: () => ++asked === 1 });

    const commit = await syncAsOneBatch(bench, ctx, [restock, correction]);

    assert.equal(commit, false);
    const adjusts = await shopifyRequests([variant.inventoryItemId], { operation: 'inventoryAdjustQuantities' });
    assert.deepEqual(
      adjusts.map((a) => a.body.variables.input!.referenceDocumentUri),
      [`gid://order-intake/InventoryMovement/${restock.movementId}`],
    );
    assert.equal(await shopifyAvailable(variant.inventoryItemId, variant.locationId), 15);
    assert.deepEqual(
      bench.logs.filter((l) => l.event === 'shopify.inventory.updated' || l.event === 'shopify.inventory.failed'),
      [],
    );
  });
});

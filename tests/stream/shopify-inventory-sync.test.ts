/**
 * The sync rule through the running parts (docs/spec.md section 6): real Kafka, the Shopify stand-in that
 * keeps Shopify's levels, and order-manage-data-api's figures. Each test moves Shopify itself (the
 * orders it takes first, the restocks a merchant makes there) through the stand-in's test interface
 * and records the database's movements as the data-api would, then reads what Shopify holds.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { closeDb, readInventory } from '../support/db.js';
import { inventoryItemGid, locationGid, shopifyGraphqlPath, shopifyRequests, writesAmong } from '../support/shopify.js';
import { raisesBySystem, shopifyAvailable, shopifyLevels, shopifyTakesOrder } from '../support/shopify-stand-in.js';
import { ACCESS_TOKEN, benchFor, createVariant, eventually, recordMovement, type Bench, type TestVariant } from './harness.js';

after(closeDb);

async function successOf(bench: Bench, eventId: string) {
  return eventually(() => {
    const line = bench.success(eventId);
    assert.ok(line, `no SUCCESS line yet for ${eventId}`);
    return line;
  });
}

const takeAtShopify = (v: TestVariant, quantity: number) =>
  shopifyTakesOrder([{ inventoryItemId: v.inventoryItemId, locationId: v.locationId, quantity }]);

describe('order events: Shopify is only ever lowered to the database', () => {
  it('lowers Shopify to the database, compare-and-set, for an order Shopify did not take, and logs SUCCESS', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t);
    const order = await recordMovement(variant, { reason: 'order', delta: -2 });
    const [correlationId] = await bench.produce([order]);

    const line = await successOf(bench, order.eventId);
    assert.equal(await shopifyAvailable(variant.inventoryItemId, variant.locationId), 8);
    const calls = await shopifyRequests([variant.inventoryItemId]);
    assert.deepEqual(
      calls.map((c) => c.operation),
      ['availableQuantities', 'inventorySetQuantities'],
      'read, then one compare-and-set',
    );
    const [read, set] = calls;
    assert.equal(read!.url, shopifyGraphqlPath());
    assert.equal(read!.headers['x-shopify-access-token'], ACCESS_TOKEN);
    assert.deepEqual(read!.body.variables, {
      ids: [inventoryItemGid(variant.inventoryItemId)],
      locationId: locationGid(variant.locationId),
    });
    assert.match(set!.body.query, /inventorySetQuantities\(input: \$input\) @idempotent\(key: \$idempotencyKey\)/);
    assert.deepEqual(set!.body.variables.input!.quantities, [
      {
        inventoryItemId: inventoryItemGid(variant.inventoryItemId),
        locationId: locationGid(variant.locationId),
        quantity: 8,
        changeFromQuantity: 10,
      },
    ]);
    assert.equal(set!.body.variables.input!.referenceDocumentUri, `gid://order-intake/InventoryMovement/${order.movementId}`);

    assert.equal(line.level, 'info');
    assert.equal(line.service, 'order-stream-process');
    assert.equal(line.orderId, order.orderId);
    assert.equal(line.correlationId, correlationId);
    assert.equal(line.variantId, String(variant.variantId));
    assert.equal(line.inventoryItemId, String(variant.inventoryItemId));
    assert.equal(line.result, 'lowered');
    assert.equal(line.shopify, 10);
    assert.equal(line.quantity, 8);
    assert.equal(line.idempotencyKey, set!.body.variables.idempotencyKey);
    assert.ok(!JSON.stringify(bench.logs).includes(ACCESS_TOKEN), 'the access token is never logged');
  });

  it("lowers a variant's next order with one compare-and-set from the guessed figure once a read bore the guess out; a stale guess is read and decided again", async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t);
    const first = await recordMovement(variant, { reason: 'order', delta: -2 });
    await bench.produce([first]);
    assert.equal((await successOf(bench, first.eventId)).result, 'lowered'); // read 10 (the guess: right), lowered to 8

    const second = await recordMovement(variant, { reason: 'order', delta: -3 });
    await bench.produce([second]);
    const guessed = await successOf(bench, second.eventId);
    assert.equal(guessed.result, 'lowered');
    assert.equal(guessed.guessed, true);
    assert.equal(await shopifyAvailable(variant.inventoryItemId, variant.locationId), 5);
    const calls = await shopifyRequests([variant.inventoryItemId]);
    assert.deepEqual(
      calls.map((c) => c.operation),
      ['availableQuantities', 'inventorySetQuantities', 'inventorySetQuantities'],
      'the second order costs one call: the compare-and-set, no read',
    );
    assert.deepEqual(calls[2]!.body.variables.input!.quantities, [
      {
        inventoryItemId: inventoryItemGid(variant.inventoryItemId),
        locationId: locationGid(variant.locationId),
        quantity: 5,
        changeFromQuantity: 8,
      },
    ]);

    await takeAtShopify(variant, 1); // Shopify takes an order itself (4); its webhook becomes the third movement
    const third = await recordMovement(variant, { reason: 'order', delta: -1 });
    await bench.produce([third]);
    const line = await successOf(bench, third.eventId);
    assert.equal(line.result, 'confirmed', 'the guess (5 → 4) was stale; the read found Shopify at the database');
    assert.equal(line.shopify, 4);
    assert.deepEqual(
      (await shopifyRequests([variant.inventoryItemId])).slice(3).map((c) => c.operation),
      ['inventorySetQuantities', 'availableQuantities'],
      'a stale guess, then a read',
    );
    assert.deepEqual(
      bench.logs.filter((l) => l.event === 'shopify.inventory.stale'),
      [],
      'a stale guess is not a stale read: no line for it',
    );
    const [level] = await shopifyLevels(variant.inventoryItemId);
    assert.equal(level!.available, 4);
    assert.deepEqual(raisesBySystem(level!), []);
  });

  it('sends nothing when Shopify already took the order, and leaves alone the later orders the database has not seen', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t);
    await takeAtShopify(variant, 2); // order A: Shopify takes it, then sends the webhook
    await takeAtShopify(variant, 3); // order B: taken too; its webhook is still on its way
    const orderA = await recordMovement(variant, { reason: 'order', delta: -2 });
    await bench.produce([orderA]);

    const line = await successOf(bench, orderA.eventId);
    assert.equal(line.result, 'confirmed');
    assert.equal(line.shopify, 5);
    assert.equal(line.database, 8);
    assert.deepEqual(writesAmong(await shopifyRequests([variant.inventoryItemId])), [], 'no write: Shopify is below the database');
    const [level] = await shopifyLevels(variant.inventoryItemId);
    assert.equal(level!.available, 5, "order B's units stay taken");
    assert.deepEqual(raisesBySystem(level!), []);
  });

  it("harmlessly confirms an old event replayed after a restart: the newer movement's own event confirms", async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t);
    const first = await recordMovement(variant, { reason: 'order', delta: -1 });
    await bench.produce([first], { partition: 0 });
    await successOf(bench, first.eventId);
    await takeAtShopify(variant, 4);
    const second = await recordMovement(variant, { reason: 'order', delta: -4 });

    await bench.restart(); // forgets the event ids it handled
    await bench.produce([first], { partition: 0 });
    const replayed = await eventually(() => {
      const lines = bench.successLines().filter((l) => l.eventId === first.eventId);
      assert.equal(lines.length, 2);
      return lines[1]!;
    });
    assert.equal(replayed.result, 'superseded');
    assert.equal(replayed.databaseVersion, second.inventoryVersion);
    await bench.produce([second], { partition: 0 });
    assert.equal((await successOf(bench, second.eventId)).result, 'confirmed');
    assert.equal(await shopifyAvailable(variant.inventoryItemId, variant.locationId), 5);
    assert.equal(writesAmong(await shopifyRequests([variant.inventoryItemId])).length, 1, 'the one lowering of the first order');
  });

  it('coalesces 60 events on 3 variants into a few reads and writes per batch, each variant ending at the database', async (t) => {
    const variants = await Promise.all([1, 2, 3].map(() => createVariant(t, { database: 100 })));
    const bench = await benchFor(t, { start: false });
    const events = [];
    for (let i = 0; i < 60; i++) events.push(await recordMovement(variants[i % 3]!, { reason: 'order', delta: -1 }));
    await bench.produce(events);
    await bench.processor.start();

    await eventually(() => assert.equal(bench.successLines().length, 60));
    assert.deepEqual(
      new Set(bench.successLines().map((l) => l.eventId)),
      new Set(events.map((e) => e.eventId)),
      'one SUCCESS line for every event',
    );
    for (const variant of variants) {
      assert.equal(await shopifyAvailable(variant.inventoryItemId, variant.locationId), 80);
      assert.equal((await readInventory(variant.variantId))?.availableQuantity, 80);
    }
    const calls = await shopifyRequests(variants.map((v) => v.inventoryItemId));
    assert.ok(calls.length <= 15, `a read per location and a write per batch, far fewer than 60 events: ${calls.length} calls`);
  });
});

describe('movements Shopify cannot know go as deltas, exactly once', () => {
  it('applies a restock from the warehouse once when its event is delivered twice, and again once when redelivered after a restart with one more movement of the item, on top of an order Shopify took meanwhile', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t);
    await takeAtShopify(variant, 1); // its webhook has not reached the database yet
    const restock = await recordMovement(variant, { reason: 'restock', delta: 5 });
    await bench.produce([restock, restock], { partition: 1 });
    const line = await successOf(bench, restock.eventId);
    await bench.produce([restock], { partition: 1 });
    await eventually(async () => {
      const text = await bench.metrics.registry.metrics();
      assert.match(text, /inventory_events_processed_total\{[^}]*result="duplicate"[^}]*\} 2/);
    });

    assert.equal(line.result, 'adjusted');
    assert.equal(bench.successLines().filter((l) => l.eventId === restock.eventId).length, 1);
    assert.equal(await shopifyAvailable(variant.inventoryItemId, variant.locationId), 14, 'Shopify 9 + 5: the order it took stays taken');
    const adjusts = await shopifyRequests([variant.inventoryItemId], { operation: 'inventoryAdjustQuantities' });
    assert.equal(adjusts.length, 1);
    assert.deepEqual(adjusts[0]!.body.variables.input, {
      name: 'available',
      reason: 'correction',
      referenceDocumentUri: `gid://order-intake/InventoryMovement/${restock.movementId}`,
      changes: [
        {
          inventoryItemId: inventoryItemGid(variant.inventoryItemId),
          locationId: locationGid(variant.locationId),
          delta: 5,
          changeFromQuantity: null,
        },
      ],
    });
    assert.equal(line.idempotencyKey, adjusts[0]!.body.variables.idempotencyKey);
    const [level] = await shopifyLevels(variant.inventoryItemId);
    assert.deepEqual(
      level!.history.map((h) => [h.cause, h.available]),
      [
        ['seed', 10],
        ['order', 9],
        ['adjust', 14],
      ],
    );

    // A crash before the offset commit: the restock comes again after a restart, this time in one
    // batch with a correction made since. The restock is the same call under its own key (Shopify
    // answers it, applies nothing); the correction is a call of its own, applied once.
    await bench.restart(); // forgets the event ids it handled
    const correction = await recordMovement(variant, { reason: 'correction', delta: -2 });
    await bench.produce([restock, correction], { partition: 1 });
    const corrected = await successOf(bench, correction.eventId);
    assert.equal(corrected.result, 'adjusted');
    assert.equal(
      await shopifyAvailable(variant.inventoryItemId, variant.locationId),
      12,
      'Shopify 14 − 2: the restock is not applied twice',
    );
    const [after] = await shopifyLevels(variant.inventoryItemId);
    assert.deepEqual(
      after!.history.map((h) => [h.cause, h.available]),
      [
        ['seed', 10],
        ['order', 9],
        ['adjust', 14],
        ['adjust', 12],
      ],
    );
    const calls = await shopifyRequests([variant.inventoryItemId], { operation: 'inventoryAdjustQuantities' });
    const movementUri = (e: typeof restock) => `gid://order-intake/InventoryMovement/${e.movementId}`;
    assert.deepEqual(
      calls
        .map((c) => [
          c.body.variables.input!.referenceDocumentUri,
          c.body.variables.input!.changes!.map((ch) => ch.delta),
          c.body.variables.idempotencyKey,
        ])
        .sort(),
      [
        [movementUri(restock), [5], line.idempotencyKey],
        [movementUri(restock), [5], line.idempotencyKey],
        [movementUri(correction), [-2], corrected.idempotencyKey],
      ].sort(),
      'one call per movement; the redelivered restock again under its first key',
    );
    assert.notEqual(corrected.idempotencyKey, line.idempotencyKey);
  });
});

describe('an import brings Shopify to the database in either direction', () => {
  it('raises Shopify from below and lowers it from above the imported figure, compare-and-set', async (t) => {
    const below = await createVariant(t, { database: 0, shopify: 3 });
    const above = await createVariant(t, { database: 0, shopify: 20 });
    const bench = await benchFor(t);
    const imports = [
      await recordMovement(below, { reason: 'import', delta: 10 }),
      await recordMovement(above, { reason: 'import', delta: 7 }),
    ];
    await bench.produce(imports);

    for (const e of imports) assert.equal((await successOf(bench, e.eventId)).result, 'set');
    assert.equal(await shopifyAvailable(below.inventoryItemId, below.locationId), 10);
    assert.equal(await shopifyAvailable(above.inventoryItemId, above.locationId), 7);
    const sets = await shopifyRequests([below.inventoryItemId, above.inventoryItemId], { operation: 'inventorySetQuantities' });
    const quantities = sets.flatMap((s) => s.body.variables.input!.quantities!);
    assert.deepEqual(
      quantities.map((q) => [q.inventoryItemId, q.changeFromQuantity, q.quantity]).sort(),
      [
        [inventoryItemGid(below.inventoryItemId), 3, 10],
        [inventoryItemGid(above.inventoryItemId), 20, 7],
      ].sort(),
    );
  });
});

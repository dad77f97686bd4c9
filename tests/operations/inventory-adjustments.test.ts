/**
 * `POST /api/inventory/adjustments` on the running data-api (docs/spec.md section 10): a restock or a
 * correction changes one variant's stock under its row lock, with one movement and one event, and
 * the stream sends it to Shopify as a delta exactly once. Every answer the SPEC names, and what
 * each leaves in the database (the ledger, the outbox) and at the Shopify stand-in.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { closeDb, createTestProduct, readInventory, readMovements, type TestProduct } from '../support/db.js';
import { eventually, waitFor } from '../support/eventually.js';
import { kafkaClient, readEvents } from '../support/kafka.js';
import { inventoryItemGid, locationGid, removeShopifyRequests, shopifyRequests } from '../support/shopify.js';
import { shopifyAvailable, shopifyLevels } from '../support/shopify-stand-in.js';
import { stackEnv } from '../support/stack-env.js';
import { adjust, type Movement, outboxEventsOf, streamSuccessOf } from './stock-support.js';

after(closeDb);

const topic = () => stackEnv().INVENTORY_TOPIC || 'inventory-updates';
const key = (what: string) => `test-${what}-${randomUUID()}`;

async function variant(t: { after: (fn: () => Promise<void>) => void }, availableQuantity: number): Promise<TestProduct> {
  const v = await createTestProduct({ availableQuantity });
  t.after(() => removeShopifyRequests([v.inventoryItemId]));
  return v;
}

/** What the ledger and the outbox hold for a variant: nothing may change on a refusal or a replay. */
async function footprint(v: TestProduct) {
  return {
    stock: (await readInventory(v.variantId))?.availableQuantity,
    movements: (await readMovements(v.variantId)).map((m) => [m.reason, m.delta]),
    events: (await outboxEventsOf(v.variantId)).length,
  };
}

describe('POST /api/inventory/adjustments: a restock or a correction as one movement (docs/spec.md section 10)', () => {
  it('answers 201 with the movement of a restock by SKU, writes it to the ledger under its key and announces it as an event Shopify does not know', async (t) => {
    const v = await variant(t, 10);
    const k = key('restock');
    const started = Date.now();
    const res = await adjust({ sku: v.sku, delta: 5, reason: 'restock', key: k });

    assert.equal(res.status, 201);
    const movement = res.json.movement as Movement;
    assert.deepEqual(Object.keys(movement).sort(), [
      'availableAfter',
      'createdAt',
      'delta',
      'id',
      'reason',
      'reference',
      'sku',
      'variantId',
      'versionAfter',
    ]);
    assert.match(movement.id, /^[1-9]\d*$/);
    assert.equal(movement.variantId, String(v.variantId));
    assert.equal(movement.sku, v.sku);
    assert.equal(movement.delta, 5);
    assert.equal(movement.reason, 'restock');
    assert.equal(movement.reference, k);
    assert.equal(movement.availableAfter, 15);
    assert.equal(movement.versionAfter, 2);
    assert.ok(Math.abs(Date.parse(movement.createdAt) - started) < 60_000, movement.createdAt);

    assert.equal((await readInventory(v.variantId))?.availableQuantity, 15);
    const ledger = await readMovements(v.variantId);
    assert.deepEqual(
      ledger.map((m) => [m.reason, m.delta, m.reference, m.idempotencyKey, m.availableAfter, m.versionAfter]),
      [
        ['import', 10, 'test', `test-import:${v.variantId}`, 10, 1],
        ['restock', 5, k, `adjustment:${k}`, 15, 2],
      ],
    );
    const [event] = await readEvents<Record<string, unknown>>({
      topic: topic(),
      fromTimestamp: started - 5_000,
      predicate: (e) => e.value.movementId === movement.id,
    });
    assert.equal(event!.key, String(v.variantId), 'keyed by variant: ordered with its orders');
    assert.deepEqual(
      { ...event!.value, eventId: '<uuid>', occurredAt: '<time>' },
      {
        eventId: '<uuid>',
        movementId: movement.id,
        reason: 'restock',
        reference: k,
        orderId: null,
        variantId: String(v.variantId),
        productId: String(v.productId),
        sku: v.sku,
        inventoryItemId: String(v.inventoryItemId),
        locationId: String(v.locationId),
        delta: 5,
        availableAfter: 15,
        inventoryVersion: 2,
        occurredAt: '<time>',
        shopifyKnows: false,
      },
    );
    assert.match(String(event!.value.eventId), /^[0-9a-f-]{36}$/);
    assert.ok(event!.headers['x-correlation-id'], 'the correlation id travels in the Kafka header');
  });

  it('takes a correction by variant id, and a set as the delta from the stock it finds under the lock', async (t) => {
    const v = await variant(t, 10);
    const down = await adjust({ variantId: String(v.variantId), delta: -3, reason: 'correction', key: key('down') });
    assert.equal(down.status, 201);
    assert.deepEqual([(down.json.movement as Movement).delta, (down.json.movement as Movement).availableAfter], [-3, 7]);

    const set = await adjust({ sku: v.sku, set: 25, reason: 'restock', key: key('set') });
    assert.equal(set.status, 201);
    const movement = set.json.movement as Movement;
    assert.deepEqual([movement.reason, movement.delta, movement.availableAfter, movement.versionAfter], ['restock', 18, 25, 3]);

    const toZero = await adjust({ sku: v.sku, set: 0, reason: 'correction', key: key('zero') });
    assert.equal(toZero.status, 201);
    assert.deepEqual([(toZero.json.movement as Movement).delta, (toZero.json.movement as Movement).availableAfter], [-25, 0]);
    assert.deepEqual((await footprint(v)).movements, [
      ['import', 10],
      ['correction', -3],
      ['restock', 18],
      ['correction', -25],
    ]);
  });

  it('answers a set equal to the stock with 200, movement null and the figure, and writes nothing', async (t) => {
    const v = await variant(t, 12);
    const before = await footprint(v);
    const k = key('same');
    const res = await adjust({ sku: v.sku, set: 12, reason: 'correction', key: k });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { movement: null, variantId: String(v.variantId), sku: v.sku, availableQuantity: 12, version: 1 });
    assert.deepEqual(await footprint(v), before);

    // The key keeps that answer: stock that moved since does not turn its retry into a movement.
    assert.equal((await adjust({ sku: v.sku, delta: 3, reason: 'restock', key: key('later') })).status, 201);
    const again = await adjust({ sku: v.sku, set: 12, reason: 'correction', key: k });
    assert.equal(again.status, 200);
    assert.deepEqual(again.json, { movement: null, variantId: String(v.variantId), sku: v.sku, availableQuantity: 12, version: 1 });
    assert.equal((await readInventory(v.variantId))?.availableQuantity, 15);
  });

  it('answers the same key with the same body 200 with the same movement and changes nothing', async (t) => {
    const v = await variant(t, 10);
    const body = { sku: v.sku, delta: 4, reason: 'restock', key: key('retry') };
    const first = await adjust(body);
    assert.equal(first.status, 201);
    const after1 = await footprint(v);

    const second = await adjust(body);
    assert.equal(second.status, 200);
    assert.deepEqual(second.json, first.json, 'the same movement, id and all');
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await footprint(v), after1);
    assert.deepEqual(after1, {
      stock: 14,
      movements: [
        ['import', 10],
        ['restock', 4],
      ],
      events: 1,
    });
  });

  it('answers the same key sent five times at once with one 201 and four 200s naming the same movement', async (t) => {
    const v = await variant(t, 10);
    const body = { sku: v.sku, delta: 2, reason: 'restock', key: key('race') };
    const answers = await Promise.all(Array.from({ length: 5 }, () => adjust(body)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 200, 201]);
    assert.equal(new Set(answers.map((a) => (a.json.movement as Movement).id)).size, 1);
    assert.deepEqual(await footprint(v), {
      stock: 12,
      movements: [
        ['import', 10],
        ['restock', 2],
      ],
      events: 1,
    });
  });

  it('answers the same key with another body 409 IDEMPOTENCY_KEY_REUSED and changes nothing', async (t) => {
    const v = await variant(t, 10);
    const k = key('reused');
    assert.equal((await adjust({ sku: v.sku, delta: 4, reason: 'restock', key: k })).status, 201);
    const before = await footprint(v);
    for (const other of [
      { sku: v.sku, delta: 5, reason: 'restock', key: k },
      { sku: v.sku, delta: 4, reason: 'correction', key: k },
      { sku: v.sku, set: 14, reason: 'restock', key: k },
    ]) {
      const res = await adjust(other);
      assert.equal(res.status, 409, JSON.stringify(other));
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(res.json.code, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal(res.json.key, k);
    }
    assert.deepEqual(await footprint(v), before);
  });

  it('answers a change that would leave less than zero 422 INSUFFICIENT_INVENTORY by variant, writes nothing, and leaves the key free', async (t) => {
    const v = await variant(t, 10);
    const before = await footprint(v);
    const k = key('short');
    const res = await adjust({ sku: v.sku, delta: -11, reason: 'correction', key: k });
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'INSUFFICIENT_INVENTORY');
    assert.deepEqual(res.json.items, [{ variantId: String(v.variantId), sku: v.sku, requested: 11, available: 10 }]);
    assert.deepEqual(await footprint(v), before);

    const fits = await adjust({ sku: v.sku, delta: -10, reason: 'correction', key: k });
    assert.equal(fits.status, 201, 'a refused request did not use up its key');
    assert.equal((fits.json.movement as Movement).availableAfter, 0);
  });

  it('answers an unknown SKU or variant id 404 VARIANT_NOT_FOUND', async () => {
    const sku = `NO-SUCH-SKU-${randomUUID()}`;
    const bySku = await adjust({ sku, delta: 1, reason: 'restock', key: key('unknown') });
    assert.equal(bySku.status, 404);
    assert.equal(bySku.json.code, 'VARIANT_NOT_FOUND');
    assert.equal(bySku.json.sku, sku);
    const byId = await adjust({ variantId: '9199999999999999', delta: 1, reason: 'restock', key: key('unknown') });
    assert.equal(byId.status, 404);
    assert.equal(byId.json.code, 'VARIANT_NOT_FOUND');
    assert.equal(byId.json.variantId, '9199999999999999');
  });

  it('answers 401 without the internal token, or with another, and changes nothing', async (t) => {
    const v = await variant(t, 10);
    const before = await footprint(v);
    const body = { sku: v.sku, delta: 5, reason: 'restock', key: key('anon') };
    for (const auth of [false, 'not-the-token'] as const) {
      const res = await adjust(body, auth);
      assert.equal(res.status, 401);
      assert.equal(res.json.code, 'UNAUTHORIZED');
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    }
    assert.deepEqual(await footprint(v), before);
  });

  it('refuses with 400 INVALID_PAYLOAD a body that does not name exactly one variant and one change, a zero or fractional delta, a negative set, another reason or a bad key', async (t) => {
    const v = await variant(t, 10);
    const before = await footprint(v);
    const base = { sku: v.sku, delta: 1, reason: 'restock', key: key('invalid') };
    const cases: Array<[string, unknown, string]> = [
      ['sku and variantId', { ...base, variantId: String(v.variantId) }, 'variantId'],
      ['neither sku nor variantId', { delta: 1, reason: 'restock', key: base.key }, 'variantId'],
      ['delta and set', { ...base, set: 3 }, 'delta'],
      ['neither delta nor set', { sku: v.sku, reason: 'restock', key: base.key }, 'delta'],
      ['a zero delta', { ...base, delta: 0 }, 'delta'],
      ['a fractional delta', { ...base, delta: 1.5 }, 'delta'],
      ['a delta as text', { ...base, delta: '5' }, 'delta'],
      ['a negative set', { sku: v.sku, set: -1, reason: 'restock', key: base.key }, 'set'],
      ['another reason', { ...base, reason: 'order' }, 'reason'],
      ['an empty key', { ...base, key: '' }, 'key'],
      ['a key of 256 characters', { ...base, key: 'k'.repeat(256) }, 'key'],
      ['a variant id as a number', { variantId: 123, delta: 1, reason: 'restock', key: base.key }, 'variantId'],
      ['an unknown field', { ...base, quantity: 3 }, '(body)'],
    ];
    for (const [what, body, path] of cases) {
      const res = await adjust(body);
      assert.equal(res.status, 400, what);
      assert.equal(res.json.code, 'INVALID_PAYLOAD', what);
      const paths = (res.json.errors as Array<{ path: string }>).map((e) => e.path);
      assert.ok(paths.includes(path), `${what}: errors at ${paths.join(', ')}`);
    }
    assert.equal((await adjust({ ...base, key: randomUUID().padEnd(255, 'k') })).status, 201, 'a key of 255 characters is fine');
    assert.deepEqual((await footprint(v)).movements, [...before.movements, ['restock', 1]]);
  });
});

describe('an adjustment reaches Shopify as a delta, exactly once', () => {
  it('moves Shopify by the delta with one inventoryAdjustQuantities naming the movement, and a redelivered event changes nothing more', async (t) => {
    const v = await variant(t, 10);
    const started = Date.now();
    const res = await adjust({ sku: v.sku, delta: 6, reason: 'restock', key: key('shopify') });
    assert.equal(res.status, 201);
    const movement = res.json.movement as Movement;

    await eventually(async () => assert.equal(await shopifyAvailable(v.inventoryItemId, v.locationId), 16));
    const adjusts = await shopifyRequests([v.inventoryItemId], { operation: 'inventoryAdjustQuantities' });
    assert.equal(adjusts.length, 1);
    assert.deepEqual(adjusts[0]!.body.variables.input!.changes, [
      { inventoryItemId: inventoryItemGid(v.inventoryItemId), locationId: locationGid(v.locationId), delta: 6, changeFromQuantity: null },
    ]);
    assert.equal(adjusts[0]!.body.variables.input!.referenceDocumentUri, `gid://order-intake/InventoryMovement/${movement.id}`);
    assert.deepEqual(await shopifyRequests([v.inventoryItemId], { operation: 'inventorySetQuantities' }), [], 'never a set for a restock');

    // Redelivered: the very same message again, then a copy under a new event id (as after a
    // restart that forgot which events it handled). Both follow the original on the variant's
    // partition, so once the copy's SUCCESS line is written both have been handled.
    const [event] = await readEvents<Record<string, unknown>>({
      topic: topic(),
      fromTimestamp: started - 5_000,
      predicate: (e) => e.value.movementId === movement.id,
    });
    const copyId = randomUUID();
    const producer = kafkaClient().producer();
    await producer.connect();
    try {
      await producer.send({
        topic: topic(),
        messages: [
          { key: event!.key, value: JSON.stringify(event!.value), headers: event!.headers },
          { key: event!.key, value: JSON.stringify({ ...event!.value, eventId: copyId }), headers: event!.headers },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    await waitFor('the stream to handle the redelivered copy', async () => streamSuccessOf(copyId).length > 0);

    assert.equal(await shopifyAvailable(v.inventoryItemId, v.locationId), 16, 'still moved by 6 only');
    const [level] = await shopifyLevels(v.inventoryItemId);
    assert.deepEqual(
      level!.history.map((h) => [h.cause, h.available]),
      [
        ['seed', 10],
        ['adjust', 16],
      ],
    );
    assert.equal(streamSuccessOf(String(event!.value.eventId)).length, 1, 'one SUCCESS line for the event, however often delivered');
  });
});

/**
 * `GET /api/inventory/movements` on the running data-api (docs/spec.md section 10): the ledger an
 * operator reads, newest first, filtered by variant, SKU, reason and time, paged by a cursor.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { closeDb, createTestProduct, readMovements, type TestProduct } from '../support/db.js';
import { adjust, dataApi, type Movement } from './stock-support.js';

after(closeDb);

const list = async (query: Record<string, string | number>) => {
  const res = await dataApi(
    `/api/inventory/movements?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`,
  );
  assert.equal(res.status, 200, JSON.stringify(res.json));
  return res.json as { movements: Movement[]; nextCursor: string | null };
};

describe('GET /api/inventory/movements: the ledger, newest first, paged (docs/spec.md section 10)', () => {
  let v: TestProduct;
  let other: TestProduct;
  const moved: Movement[] = [];

  before(async () => {
    v = await createTestProduct({ availableQuantity: 10, atShopify: false });
    other = await createTestProduct({ availableQuantity: 3, atShopify: false });
    for (const body of [
      { delta: 5, reason: 'restock' },
      { delta: -2, reason: 'correction' },
      { set: 20, reason: 'restock' },
      { delta: 1, reason: 'restock' },
    ]) {
      const res = await adjust({ sku: v.sku, ...body, key: `test-ledger-${randomUUID()}` });
      assert.equal(res.status, 201);
      moved.push(res.json.movement as Movement);
    }
    assert.equal((await adjust({ sku: other.sku, delta: 4, reason: 'restock', key: `test-ledger-${randomUUID()}` })).status, 201);
  });

  it("lists one variant's movements newest first with reason, reference, delta and the figures after each", async () => {
    const { movements, nextCursor } = await list({ variantId: v.variantId });
    const [importRow] = await readMovements(v.variantId);
    assert.deepEqual(
      movements.map((m) => [m.reason, m.delta, m.availableAfter, m.versionAfter]),
      [
        ['restock', 1, 21, 5],
        ['restock', 7, 20, 4],
        ['correction', -2, 13, 3],
        ['restock', 5, 15, 2],
        ['import', 10, 10, 1],
      ],
    );
    assert.deepEqual(movements.slice(0, 4), [...moved].reverse(), 'each as the adjustment answered it');
    assert.deepEqual(movements[4], {
      id: importRow!.id,
      variantId: String(v.variantId),
      sku: v.sku,
      delta: 10,
      reason: 'import',
      reference: 'test',
      availableAfter: 10,
      versionAfter: 1,
      createdAt: movements[4]!.createdAt,
    });
    assert.ok(!Number.isNaN(Date.parse(movements[4]!.createdAt)));
    assert.equal(nextCursor, null);
  });

  it('filters by SKU the same as by variant id, and by reason', async () => {
    assert.deepEqual(await list({ sku: v.sku }), await list({ variantId: v.variantId }));
    assert.deepEqual(
      (await list({ sku: v.sku, reason: 'restock' })).movements.map((m) => m.delta),
      [1, 7, 5],
    );
    assert.deepEqual(
      (await list({ sku: other.sku })).movements.map((m) => [m.sku, m.reason, m.delta]),
      [
        [other.sku, 'restock', 4],
        [other.sku, 'import', 3],
      ],
    );
    assert.deepEqual(await list({ sku: `NO-SUCH-SKU-${randomUUID()}` }), { movements: [], nextCursor: null });
  });

  it('lists only what was written at or after `since`', async () => {
    const { movements } = await list({ variantId: v.variantId, since: moved[2]!.createdAt });
    assert.deepEqual(
      movements.map((m) => m.id),
      [moved[3]!.id, moved[2]!.id],
    );
  });

  it('pages with nextCursor until it is null, each movement once, the order kept', async () => {
    const all = (await list({ variantId: v.variantId })).movements.map((m) => m.id);
    const first = await list({ variantId: v.variantId, limit: 2 });
    assert.deepEqual(
      first.movements.map((m) => m.id),
      all.slice(0, 2),
    );
    assert.equal(first.nextCursor, all[1]);
    const second = await list({ variantId: v.variantId, limit: 2, cursor: first.nextCursor! });
    assert.deepEqual(
      second.movements.map((m) => m.id),
      all.slice(2, 4),
    );
    const third = await list({ variantId: v.variantId, limit: 2, cursor: second.nextCursor! });
    assert.deepEqual(
      third.movements.map((m) => m.id),
      all.slice(4),
    );
    assert.equal(third.nextCursor, null);
  });

  it('lists the whole ledger newest first without a filter', async () => {
    const { movements, nextCursor } = await list({ limit: 3 });
    assert.equal(movements.length, 3);
    const ids = movements.map((m) => BigInt(m.id));
    assert.ok(ids[0]! > ids[1]! && ids[1]! > ids[2]!, `newest first: ${ids.join(', ')}`);
    assert.equal(nextCursor, movements[2]!.id);
  });

  it('answers 401 without the internal token and 400 for a filter it cannot read', async () => {
    const anonymous = await dataApi(`/api/inventory/movements?variantId=${v.variantId}`, { auth: false });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json.code, 'UNAUTHORIZED');
    assert.equal(anonymous.json.movements, undefined);
    for (const query of ['variantId=abc', 'cursor=-1', 'since=yesterday', 'limit=0', 'limit=501', 'reason=gift']) {
      const res = await dataApi(`/api/inventory/movements?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.json.code, 'INVALID_PAYLOAD', query);
    }
  });
});

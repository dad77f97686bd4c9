import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkAvailability, demandsOf, type OrderLine } from '../../services/order-manage-data-api/src/domain/commit.js';

let nextLineItem = 1;

/** A line as the api sends it; `variantId: null` is a line that reserves nothing. */
function line(variantId: string | null, quantity: number): OrderLine {
  return {
    lineItemId: String(nextLineItem++),
    productId: variantId === null ? null : '7523456789001',
    variantId,
    sku: variantId === null ? '' : `SKU-${variantId}`,
    title: 'A line',
    quantity,
    price: '1.00',
  };
}

describe('the demands of an order', () => {
  it('sums the lines of one variant into one demand, and leaves out lines that reserve nothing', () => {
    const demands = demandsOf([line('300', 2), line(null, 1), line('100', 1), line('300', 5), line(null, 4), line('200', 3)]);
    assert.deepEqual(demands, [
      { variantId: '100', quantity: 1 },
      { variantId: '200', quantity: 3 },
      { variantId: '300', quantity: 7 },
    ]);
  });

  it('makes no demand of an order whose lines all reserve nothing (a tip, a gift card)', () => {
    assert.deepEqual(demandsOf([line(null, 1), line(null, 2)]), []);
  });

  it('lists each variant once, in ascending variant id order (the lock order), with every reserving unit counted, ids above 2^53 included', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            variantId: fc.option(fc.constantFrom(1n, 9n, 10n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n), { nil: null }),
            quantity: fc.integer({ min: 1, max: 50 }),
          }),
          { maxLength: 30 },
        ),
        (specs) => {
          const demands = demandsOf(specs.map((s) => line(s.variantId === null ? null : String(s.variantId), s.quantity)));
          const ids = demands.map((d) => BigInt(d.variantId));
          const ascending = ids.every((id, i) => i === 0 || ids[i - 1]! < id);
          // An independent sum per variant, by bigint so that no two ids above 2^53 collide.
          const expected = new Map<bigint, number>();
          for (const s of specs) if (s.variantId !== null) expected.set(s.variantId, (expected.get(s.variantId) ?? 0) + s.quantity);
          return ascending && demands.length === expected.size && demands.every((d) => expected.get(BigInt(d.variantId)) === d.quantity);
        },
      ),
    );
  });
});

describe('availability of a refused commit', () => {
  it('reports unknown variants before shortages', () => {
    const verdict = checkAvailability(
      [
        { variantId: '1', quantity: 5 },
        { variantId: '2', quantity: 1 },
        { variantId: '3', quantity: 1 },
      ],
      [{ variantId: '1', sku: 'ONE', availableQuantity: 0 }],
    );
    assert.deepEqual(verdict, { ok: false, code: 'PRODUCT_NOT_FOUND', variantIds: ['2', '3'] });
  });

  it('names a shortage by variant and SKU, with what was asked and what there is', () => {
    const verdict = checkAvailability(
      [
        { variantId: '45123456790001', quantity: 2 },
        { variantId: '45123456790002', quantity: 121 },
      ],
      [
        { variantId: '45123456790001', sku: 'TSHIRT-BLK-S', availableQuantity: 80 },
        { variantId: '45123456790002', sku: 'TSHIRT-BLK-M', availableQuantity: 120 },
      ],
    );
    assert.deepEqual(verdict, {
      ok: false,
      code: 'INSUFFICIENT_INVENTORY',
      items: [{ variantId: '45123456790002', sku: 'TSHIRT-BLK-M', requested: 121, available: 120 }],
    });
  });

  it('accepts exactly when every variant has at least the requested quantity', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            variantId: fc.integer({ min: 1, max: 1e9 }).map(String),
            quantity: fc.integer({ min: 1, max: 50 }),
            available: fc.integer({ min: 0, max: 60 }),
          }),
          { minLength: 1, maxLength: 10, selector: (l) => l.variantId },
        ),
        (lines) => {
          const verdict = checkAvailability(
            lines.map((l) => ({ variantId: l.variantId, quantity: l.quantity })),
            lines.map((l) => ({ variantId: l.variantId, sku: `SKU-${l.variantId}`, availableQuantity: l.available })),
          );
          const short = lines.filter((l) => l.available < l.quantity);
          // fast-check counts only `false` as a failure: an undefined `ok` must not pass for an acceptance.
          if (short.length === 0) return verdict.ok === true;
          return (
            !verdict.ok &&
            verdict.code === 'INSUFFICIENT_INVENTORY' &&
            verdict.items.length === short.length &&
            verdict.items.every(
              (i, n) =>
                i.variantId === short[n]!.variantId &&
                i.sku === `SKU-${short[n]!.variantId}` &&
                i.requested === short[n]!.quantity &&
                i.available === short[n]!.available,
            )
          );
        },
      ),
    );
  });
});

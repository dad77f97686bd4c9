import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkAvailability, lockOrder } from '../../services/order-manage-data-api/src/domain/commit.js';

describe('availability of a refused commit', () => {
  it('reports unknown products before shortages', () => {
    const verdict = checkAvailability(
      [
        { productId: '1', quantity: 5 },
        { productId: '2', quantity: 1 },
      ],
      [{ productId: '1', availableQuantity: 0 }],
    );
    assert.deepEqual(verdict, { ok: false, code: 'PRODUCT_NOT_FOUND', productIds: ['2'] });
  });

  it('accepts exactly when every product has at least the requested quantity', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ productId: fc.integer({ min: 1, max: 1e9 }).map(String), quantity: fc.integer({ min: 1, max: 50 }), available: fc.integer({ min: 0, max: 60 }) }), {
          minLength: 1,
          maxLength: 10,
          selector: (l) => l.productId,
        }),
        (lines) => {
          const verdict = checkAvailability(
            lines,
            lines.map((l) => ({ productId: l.productId, availableQuantity: l.available })),
          );
          const short = lines.filter((l) => l.available < l.quantity);
          // fast-check counts only `false` as a failure: an undefined `ok` must not pass for an acceptance.
          if (short.length === 0) return verdict.ok === true;
          return (
            !verdict.ok &&
            verdict.code === 'INSUFFICIENT_INVENTORY' &&
            verdict.items.length === short.length &&
            verdict.items.every((i, n) => i.productId === short[n]!.productId && i.requested === short[n]!.quantity && i.available === short[n]!.available)
          );
        },
      ),
    );
  });

  it('orders lines by ascending product id for locking, whatever order they came in, ids above 2^53 included', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }), { maxLength: 20 }), (ids) => {
        const sorted = lockOrder(ids.map((id) => ({ productId: String(id) }))).map((l) => BigInt(l.productId));
        return sorted.every((id, i) => i === 0 || sorted[i - 1]! <= id) && sorted.length === ids.length;
      }),
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StockLine } from '../../services/order-manage-api/src/domain/order.js';
import { createVariantCache, type PlacedLine } from '../../services/order-manage-api/src/domain/variant-cache.js';

const placed = (variantId: string): PlacedLine => ({
  lineItemId: `9${variantId}`,
  variantId,
  productId: `7${variantId}`,
  sku: `SKU-${variantId}`,
});
const line = (variantId: string) => ({ lineItemId: `9${variantId}`, variantId, sku: `SKU-${variantId}` }) as unknown as StockLine;
const known = (cache: ReturnType<typeof createVariantCache>, variantId: string) => cache.placeAll([line(variantId)]) !== undefined;

describe('the variant cache past its size', () => {
  it('forgets the variant resolved longest ago, a variant resolved again counting as new', () => {
    const cache = createVariantCache({ maxEntries: 2, ttlMs: 60_000, now: () => 0 });
    cache.remember([placed('1'), placed('2')]);
    cache.remember([placed('1')]);
    cache.remember([placed('3')]);
    assert.deepEqual(
      ['1', '2', '3'].map((v) => known(cache, v)),
      [true, false, true],
    );
  });
});

import type { ShopifyId } from '@oms/common';
import type { StockLine } from './order.js';

/** A reserving line with the variant it draws on: its product and the SKU the inventory (and the WMS) hold it by. */
export interface PlacedLine {
  lineItemId: ShopifyId;
  variantId: ShopifyId;
  productId: ShopifyId;
  sku: string;
}

/** VARIANT_CACHE_TTL_MS: how long a resolve's word on a variant is trusted (docs/design.md). */
export const DEFAULT_VARIANT_CACHE_TTL_MS = 60_000;
/** VARIANT_CACHE_MAX_ENTRIES: about 200 bytes an entry. */
export const DEFAULT_VARIANT_CACHE_MAX_ENTRIES = 10_000;

export interface VariantCacheSettings {
  /** 0 turns the cache off: every order is resolved. */
  ttlMs?: number;
  maxEntries?: number;
  /** A monotonic clock in ms. */
  now?: () => number;
}

/**
 * What resolves said of variants (product and SKU, never stock or orders), so an order whose every
 * line names a known variant skips the resolve. Entries expire `ttlMs` after the resolve that
 * wrote them; past `maxEntries` the oldest goes (the map's insertion order is its age).
 */
export interface VariantCache {
  /** Every line's variant, when each line names a fresh entry by variant id and carries its SKU; else undefined. */
  placeAll(lines: readonly StockLine[]): PlacedLine[] | undefined;
  remember(resolved: readonly PlacedLine[]): void;
}

export function createVariantCache(settings: VariantCacheSettings = {}): VariantCache {
  const { ttlMs = DEFAULT_VARIANT_CACHE_TTL_MS, maxEntries = DEFAULT_VARIANT_CACHE_MAX_ENTRIES, now = () => performance.now() } = settings;
  const entries = new Map<ShopifyId, { productId: ShopifyId; sku: string; expiresAt: number }>();

  const fresh = (variantId: ShopifyId) => {
    const entry = entries.get(variantId);
    if (entry === undefined || entry.expiresAt > now()) return entry;
    // Stryker disable next-line CallExpression: an expired entry is the oldest (one TTL, remember re-inserts), so keeping it until evicted changes memory only, never what placeAll answers
    entries.delete(variantId);
    return undefined;
  };

  return {
    placeAll(lines) {
      const placed: PlacedLine[] = [];
      for (const { lineItemId, variantId, sku } of lines) {
        // A line without a variant id is found by product and SKU, which the commit does not check;
        // a line whose SKU is not the one cached may follow a catalogue import's rename.
        const entry = variantId === null ? undefined : fresh(variantId);
        if (entry === undefined || entry.sku !== sku) return undefined;
        placed.push({ lineItemId, variantId: variantId!, productId: entry.productId, sku });
      }
      return placed;
    },

    remember(resolved) {
      if (ttlMs === 0) return;
      const expiresAt = now() + ttlMs;
      for (const { variantId, productId, sku } of resolved) {
        entries.delete(variantId);
        entries.set(variantId, { productId, sku, expiresAt });
        if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      }
    },
  };
}

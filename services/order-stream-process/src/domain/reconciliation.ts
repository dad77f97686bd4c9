import type { ShopifyId } from '@oms/common';

/** What a reconciliation finds (docs/spec.md section 10): the report `npm run reconcile` prints and the metrics count. */

export type DriftAction =
  /** Shopify was set to the database's quantity. */
  | 'repaired'
  /** --dry-run: found, left alone. */
  | 'reported'
  /** The variant moved while we looked (its own event brings Shopify in line), or Shopify did (stale compare). */
  | 'skipped_changed'
  /** Shopify refused the repair after its retries. */
  | 'failed';

export interface Described {
  variantId: ShopifyId;
  productId: ShopifyId;
  sku: string;
  inventoryItemId: ShopifyId;
  locationId: ShopifyId;
  database: number;
}

export interface Drift extends Described {
  shopify: number;
  action: DriftAction;
  reason?: string;
}

/** Shopify does not know the item, or does not stock it at the location the database names. */
export interface Unmatched extends Described {
  shopify: 'unknown_item' | 'not_stocked_at_location';
}

export interface ReconcileReport {
  runId: string;
  dryRun: boolean;
  checked: number;
  inSync: number;
  drifts: Drift[];
  unmatched: Unmatched[];
  startedAt: string;
  durationMs: number;
}

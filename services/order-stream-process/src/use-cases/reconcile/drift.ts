import type { StockItem } from '../../clients/stock.js';
import type { Described, Drift, DriftAction } from '../../domain/reconciliation.js';

/** An item whose Shopify figure differs from the database's. */
export type Drifted = { item: StockItem; shopify: number };

export const describe = (item: StockItem): Described => ({
  variantId: item.variantId,
  productId: item.productId,
  sku: item.sku,
  inventoryItemId: item.inventoryItemId,
  locationId: item.locationId,
  database: item.availableQuantity,
});

export const drift = (d: Drifted, action: DriftAction, reason?: string): Drift => ({
  ...describe(d.item),
  shopify: d.shopify,
  action,
  ...(reason ? { reason } : {}),
});

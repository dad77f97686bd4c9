/** The commit's rules that need no database: demands per variant, the lock order, and which rule refused. */
import { compareShopifyIds, type ShopifyId } from '@oms/common';

/** A line of the order as the api resolved it: `variantId` set only for a line that reserves stock. */
export interface OrderLine {
  lineItemId: ShopifyId;
  productId: ShopifyId | null;
  variantId: ShopifyId | null;
  sku: string;
  title: string;
  quantity: number;
  price: string;
}

/** What one variant gives up for the order: its lines summed. */
export interface Demand {
  variantId: ShopifyId;
  quantity: number;
}

export interface StockRow {
  variantId: ShopifyId;
  sku: string;
  availableQuantity: number;
}

export interface Shortage {
  variantId: ShopifyId;
  sku: string;
  requested: number;
  available: number;
}

export type AvailabilityVerdict =
  | { ok: true }
  | { ok: false; code: 'PRODUCT_NOT_FOUND'; variantIds: ShopifyId[] }
  | { ok: false; code: 'INSUFFICIENT_INVENTORY'; items: Shortage[] };

/**
 * Lines of one variant are one demand for their summed quantity, in ascending variant id order:
 * the order locks are taken in, so two orders can never deadlock.
 */
export function demandsOf(lines: readonly OrderLine[]): Demand[] {
  const byVariant = new Map<ShopifyId, number>();
  for (const { variantId, quantity } of lines) {
    if (variantId !== null) byVariant.set(variantId, (byVariant.get(variantId) ?? 0) + quantity);
  }
  return [...byVariant.entries()]
    .map(([variantId, quantity]) => ({ variantId, quantity }))
    .sort((a, b) => compareShopifyIds(a.variantId, b.variantId));
}

/** Unknown variants are reported before shortages, as the webhook's checks are ordered. */
export function checkAvailability(demands: readonly Demand[], stock: readonly StockRow[]): AvailabilityVerdict {
  const byId = new Map(stock.map((row) => [row.variantId, row]));
  const missing = demands.filter((d) => !byId.has(d.variantId)).map((d) => d.variantId);
  if (missing.length) return { ok: false, code: 'PRODUCT_NOT_FOUND', variantIds: missing };
  const items = demands
    .map((d) => ({ d, row: byId.get(d.variantId)! }))
    .filter(({ d, row }) => row.availableQuantity < d.quantity)
    .map(({ d, row }) => ({ variantId: d.variantId, sku: row.sku, requested: d.quantity, available: row.availableQuantity }));
  return items.length ? { ok: false, code: 'INSUFFICIENT_INVENTORY', items } : { ok: true };
}

/** Which rule refused a commit (PostgreSQL refused it: see db/orders.ts), and the lock order; pure, so tested without a database. */
import { compareShopifyIds, type ShopifyId } from '@oms/common';

export interface RequestedLine {
  productId: ShopifyId;
  quantity: number;
}

export interface StockRow {
  productId: ShopifyId;
  availableQuantity: number;
}

export interface Shortage {
  productId: ShopifyId;
  requested: number;
  available: number;
}

export type AvailabilityVerdict =
  | { ok: true }
  | { ok: false; code: 'PRODUCT_NOT_FOUND'; productIds: ShopifyId[] }
  | { ok: false; code: 'INSUFFICIENT_INVENTORY'; items: Shortage[] };

/** Unknown products are reported before shortages, as the webhook's checks are ordered. */
export function checkAvailability(lines: RequestedLine[], stock: StockRow[]): AvailabilityVerdict {
  const byId = new Map(stock.map((row) => [row.productId, row]));
  const missing = lines.filter((line) => !byId.has(line.productId)).map((line) => line.productId);
  if (missing.length) return { ok: false, code: 'PRODUCT_NOT_FOUND', productIds: missing };
  const items = lines
    .map((line) => ({ line, row: byId.get(line.productId)! }))
    .filter(({ line, row }) => row.availableQuantity < line.quantity)
    .map(({ line, row }) => ({ productId: line.productId, requested: line.quantity, available: row.availableQuantity }));
  return items.length ? { ok: false, code: 'INSUFFICIENT_INVENTORY', items } : { ok: true };
}

/** Locks are always taken in ascending product id order: two orders can then never deadlock. */
export function lockOrder<T extends { productId: ShopifyId }>(lines: T[]): T[] {
  return [...lines].sort((a, b) => compareShopifyIds(a.productId, b.productId));
}

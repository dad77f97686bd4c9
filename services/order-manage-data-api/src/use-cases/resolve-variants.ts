import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import type { OrderView } from '../db/order-view.js';
import { findLineVariants, type LineToResolve } from '../db/variants.js';

/** The variant a line draws on, with its stock. */
export interface ResolvedLine {
  lineItemId: ShopifyId;
  variantId: ShopifyId;
  productId: ShopifyId;
  sku: string;
  availableQuantity: number;
}

export interface Resolution {
  /** The order if it was already accepted: a redelivery is replayed, another delivery refused. */
  existingOrder: OrderView | null;
  resolved: ResolvedLine[];
  unresolved: LineToResolve[];
}

/** Each line's variant (docs/spec.md section 2.1), and with an order id the order if it exists: one round trip. */
export async function resolveLines(pool: pg.Pool, orderId: ShopifyId | null, lines: LineToResolve[]): Promise<Resolution> {
  const { existingOrder, variants } = await findLineVariants(pool, orderId, lines);
  const resolved: ResolvedLine[] = [];
  const unresolved: LineToResolve[] = [];
  variants.forEach((variant, i) => {
    const line = lines[i]!;
    if (variant === null) unresolved.push(line);
    else resolved.push({ lineItemId: line.lineItemId, ...variant });
  });
  return { existingOrder, resolved, unresolved };
}

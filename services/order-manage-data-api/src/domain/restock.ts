/**
 * Which units of a cancellation or refund come back (docs/spec.md section 2.2), without the database:
 * the transaction in use-cases/restock-order.ts reads the order's lines under the order's row lock and writes
 * what this plans.
 */
import { compareShopifyIds, type ShopifyId } from '@oms/common';

/** Shopify's `restock_type` of a refund line item; any other value restocks nothing. */
export type RestockType = 'cancel' | 'return' | 'no_restock' | 'legacy_restock';

/** A refund line item as Shopify sent it, through `orders/cancelled` (in `refunds[]`) or `refunds/create`. */
export interface RefundLine {
  /** The refund line item's id: the movement's key, whichever topic brings it. */
  id: ShopifyId;
  lineItemId: ShopifyId;
  quantity: number;
  restockType: string;
  /** Where Shopify put the units back; null when it does not say. */
  locationId: ShopifyId | null;
}

/** A line of the order that took units from the warehouse, with what came back since. */
export interface ReservedLine {
  lineItemId: ShopifyId;
  variantId: ShopifyId;
  reserved: number;
  restocked: number;
  /** The variant's location at Shopify: the warehouse's. */
  locationId: ShopifyId;
}

/** One movement to write: its units back on the variant, keyed by the refund line item. */
export interface PlannedRestock {
  refundLineItemId: ShopifyId;
  lineItemId: ShopifyId;
  variantId: ShopifyId;
  quantity: number;
  reason: 'cancel' | 'return';
}

/** The movement reason of a restock type that puts units back; undefined for one that does not. */
export function reasonOf(restockType: string): PlannedRestock['reason'] | undefined {
  switch (restockType) {
    case 'cancel':
      return 'cancel';
    case 'return':
    case 'legacy_restock':
      return 'return';
    default:
      return undefined;
  }
}

/** The ledger key of a refund line item's movement: the same whichever topic delivers it. */
export const refundLineKey = (refundLineItemId: ShopifyId) => `refund-line:${refundLineItemId}`;

/**
 * The movements a delivery's refund lines cause. A refund line comes back once: one already in the
 * ledger (`applied`) and a repeat within the delivery are skipped. It comes back only for a line
 * this system reserved (`lines`: an accepted order's stock lines, never a tip, a gift card or
 * another shop's sale), only to the warehouse (a refund line restocked at another location is that
 * shop's), and never beyond what the line reserved: refund lines of one line add up, in the order
 * Shopify issued them (ascending id), until the line is whole again.
 */
export function planRestocks(
  refundLines: readonly RefundLine[],
  lines: ReadonlyMap<ShopifyId, ReservedLine>,
  applied: ReadonlySet<ShopifyId>,
): PlannedRestock[] {
  const seen = new Set<ShopifyId>();
  const backSoFar = new Map<ShopifyId, number>();
  const planned: PlannedRestock[] = [];
  for (const refund of [...refundLines].sort((a, b) => compareShopifyIds(a.id, b.id))) {
    if (seen.has(refund.id)) continue;
    seen.add(refund.id);
    const reason = reasonOf(refund.restockType);
    const line = lines.get(refund.lineItemId);
    if (!reason || !line || applied.has(refund.id)) continue;
    if (refund.locationId !== null && refund.locationId !== line.locationId) continue;
    const before = backSoFar.get(line.lineItemId) ?? line.restocked;
    const quantity = Math.min(refund.quantity, line.reserved - before);
    if (quantity <= 0) continue;
    backSoFar.set(line.lineItemId, before + quantity);
    planned.push({ refundLineItemId: refund.id, lineItemId: line.lineItemId, variantId: line.variantId, quantity, reason });
  }
  return planned;
}

/** The variants to lock, each once, in ascending id order (the order every writer of stock locks in). */
export const lockOrderOf = (planned: readonly PlannedRestock[]): ShopifyId[] =>
  [...new Set(planned.map((p) => p.variantId))].sort(compareShopifyIds);

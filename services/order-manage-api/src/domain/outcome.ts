import type { Problem, ShopifyId } from '@oms/common';
import type { FieldError, Shortage } from './order.js';

/** A line's variant as it was sent: the variant id (null for a deleted variant) and the SKU. */
export interface UnknownVariant {
  productId: ShopifyId;
  variantId: ShopifyId | null;
  sku: string;
}

export type ProductNotFound = { kind: 'product_not_found'; productIds: ShopifyId[]; variants: UnknownVariant[]; detail: string };
export type InsufficientInventory = { kind: 'insufficient_inventory'; items: Shortage[]; detail: string };
export type WmsUnavailable = { kind: 'wms_unavailable'; retryAfterSeconds: number; detail: string };

/** A permanent refusal of the order's content, whoever found it (our stock, the WMS, the data-api). */
export type Refusal = ProductNotFound | InsufficientInventory | { kind: 'invalid_payload'; errors: FieldError[]; detail: string };

/** What order-manage-data-api made of a commit request: the same vocabulary as the intake's. */
export type CommitOutcome =
  { kind: 'committed' } | { kind: 'already_exists'; existingWebhookId: string | null; existingEventId: string | null } | Refusal;

/**
 * What became of one delivery. The intake use case decides it; the route only turns it into HTTP,
 * so each outcome has one wording and one status in one place.
 */
export type IntakeResult =
  | { kind: 'accepted'; variants: number; lines: number }
  | { kind: 'replayed' }
  | { kind: 'already_exists' }
  | Refusal
  | WmsUnavailable
  | { kind: 'data_api_unavailable'; detail: string }
  /** A 4xx of order-manage-data-api's own: permanent, passed on as it is. */
  | { kind: 'refused_by_data_api'; problem: Problem };

export type IntakeOutcome = IntakeResult & { orderId: ShopifyId };

/** Refusal statuses of an order's content, which the order stays a paid order at Shopify after (docs/spec.md section 10). */
const ORDER_REFUSAL_STATUSES: ReadonlySet<number> = new Set([400, 409, 422]);

/**
 * Whether a problem refuses an identifiable order: a 400 with a readable order id, a 409 or a 422.
 * These are what the refused-orders ledger keeps and what WEBHOOK_REFUSAL_STATUS=200 answers with
 * 200; a 401, a 413, a 400 without an id and every 5xx are not.
 */
export function refusesAnOrder(problem: Problem): problem is Problem & { orderId: ShopifyId } {
  return typeof problem.orderId === 'string' && ORDER_REFUSAL_STATUSES.has(problem.status);
}

/** A demand's identity before the inventory resolved it: its variant id, else its product and SKU. */
const demandKey = (v: UnknownVariant) => v.variantId ?? `${v.productId}/${v.sku}`;

/** Names each unknown demand once (lines of one variant are one demand), in line order. */
export function productNotFound(lines: UnknownVariant[], where: string): ProductNotFound {
  const seen = new Set<string>();
  const variants = lines.filter((v) => {
    const key = demandKey(v);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const productIds = [...new Set(variants.map((v) => v.productId))];
  const named = variants.map((v) => `${v.variantId ?? 'no variant'} (${v.sku || 'no SKU'}) of product ${v.productId}`);
  return { kind: 'product_not_found', productIds, variants, detail: `Variant(s) ${named.join(', ')} are not ${where}.` };
}

export const insufficientInventory = (items: Shortage[], who: string): InsufficientInventory => ({
  kind: 'insufficient_inventory',
  items,
  detail: `${who} less stock than ordered.`,
});

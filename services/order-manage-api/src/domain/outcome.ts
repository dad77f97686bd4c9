import type { Problem, ShopifyId } from '@oms/common';
import type { FieldError, Shortage } from './order.js';

export type ProductNotFound = { kind: 'product_not_found'; productIds: ShopifyId[]; detail: string };
export type InsufficientInventory = { kind: 'insufficient_inventory'; items: Shortage[]; detail: string };
export type WmsUnavailable = { kind: 'wms_unavailable'; retryAfterSeconds: number; detail: string };

/** A permanent refusal of the order's content, whoever found it (our stock, the WMS, the data-api). */
export type Refusal = ProductNotFound | InsufficientInventory | { kind: 'invalid_payload'; errors: FieldError[]; detail: string };

/** What order-manage-data-api made of a commit request: the same vocabulary as the intake's. */
export type CommitOutcome = { kind: 'committed' } | { kind: 'already_exists'; existingWebhookId: string | null } | Refusal;

/**
 * What became of one delivery. The intake use case decides it; the route only turns it into HTTP,
 * so each outcome has one wording and one status in one place.
 */
export type IntakeResult =
  | { kind: 'accepted'; products: number; nonStockLines: number }
  | { kind: 'replayed' }
  | { kind: 'already_exists' }
  | Refusal
  | WmsUnavailable
  | { kind: 'data_api_unavailable'; detail: string }
  /** A 4xx of order-manage-data-api's own: permanent, passed on as it is. */
  | { kind: 'refused_by_data_api'; problem: Problem };

export type IntakeOutcome = IntakeResult & { orderId: ShopifyId };

export const productNotFound = (productIds: ShopifyId[], where: string): ProductNotFound => ({
  kind: 'product_not_found',
  productIds,
  detail: `Product(s) ${productIds.join(', ')} are not ${where}.`,
});

export const insufficientInventory = (items: Shortage[], who: string): InsufficientInventory => ({
  kind: 'insufficient_inventory',
  items,
  detail: `${who} less stock than ordered.`,
});

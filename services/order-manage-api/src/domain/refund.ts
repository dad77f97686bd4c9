import { ORDER_LIMITS, orderText, type Problem, type ShopifyId } from '@oms/common';
import { z } from 'zod';
import { type FieldError, pathOf, shopifyId } from './order.js';

/**
 * docs/spec.md section 2.2: `orders/cancelled` carries the Order resource with `cancelled_at` and its
 * `refunds[]`; `refunds/create` carries a Refund. Both come down to the same thing: an order id
 * and the refund line items Shopify restocked (or not). Every other field is accepted and ignored.
 */
export const TOPICS = { cancelled: 'orders/cancelled', refund: 'refunds/create' } as const;
export type RestockTopic = (typeof TOPICS)[keyof typeof TOPICS];

/** An order has at most 500 lines, and each may be refunded in several parts. */
const MAX_REFUND_LINES = 10 * ORDER_LIMITS.maxLines;

const REFUND_QUANTITY_RULE = 'quantity must be an integer of at least 0';

const refundLineItem = z.object({
  id: shopifyId('id'),
  line_item_id: shopifyId('line_item_id'),
  quantity: z
    .number({ error: REFUND_QUANTITY_RULE })
    .int(REFUND_QUANTITY_RULE)
    .min(0, REFUND_QUANTITY_RULE)
    .max(ORDER_LIMITS.maxQuantity, `quantity must be at most ${ORDER_LIMITS.maxQuantity}`),
  /** `cancel`, `return`, `legacy_restock` put units back; `no_restock` (and a refund without one) does not. */
  restock_type: orderText('restock_type', 64).nullish(),
  location_id: shopifyId('location_id').nullish(),
});

const refundLines = z
  .array(refundLineItem, { error: 'refund_line_items must be an array' })
  .max(MAX_REFUND_LINES, `refund_line_items must hold at most ${MAX_REFUND_LINES} lines`);

const refundSchema = z.object({
  id: shopifyId('id'),
  order_id: shopifyId('order_id'),
  refund_line_items: refundLines,
});

const cancelledOrderSchema = z.object({
  id: shopifyId('id'),
  cancelled_at: z.iso.datetime({ offset: true, error: 'cancelled_at must be an ISO-8601 date-time' }).nullish(),
  refunds: z.array(z.object({ id: shopifyId('id'), refund_line_items: refundLines }), { error: 'refunds must be an array' }).nullish(),
});

/** A refund line item as the data-api takes it. */
export interface RefundLine {
  id: ShopifyId;
  lineItemId: ShopifyId;
  quantity: number;
  restockType: string;
  locationId: ShopifyId | null;
}

/** What a cancellation or a refund asks of the stock: the order, and the refund line items Shopify sent. */
export interface RestockIntake {
  topic: RestockTopic;
  orderId: ShopifyId;
  /** orders/cancelled only. */
  cancelledAt: string | null;
  refundLines: RefundLine[];
}

export type RestockValidation = { ok: true; intake: RestockIntake } | { ok: false; orderId?: ShopifyId; errors: FieldError[] };

type ParsedRefundLine = z.infer<typeof refundLineItem>;

const toRefundLine = (l: ParsedRefundLine): RefundLine => ({
  id: l.id,
  lineItemId: l.line_item_id,
  quantity: l.quantity,
  restockType: l.restock_type ?? 'no_restock',
  locationId: l.location_id ?? null,
});

/** The order id of a body that failed validation, when it can still be read, so the refusal names it. */
function readableOrderId(body: unknown, field: 'id' | 'order_id'): ShopifyId | undefined {
  // Stryker disable next-line StringLiteral: the label only names the field in messages this lookup discards (it reads success and data)
  const parsed = shopifyId('id').safeParse((body as Record<string, unknown> | null)?.[field]);
  return parsed.success ? parsed.data : undefined;
}

function failed(error: z.ZodError, body: unknown, orderIdField: 'id' | 'order_id'): RestockValidation {
  const errors = error.issues.map((issue) => ({ path: pathOf(issue.path) || '(body)', reason: issue.message }));
  const orderId = readableOrderId(body, orderIdField);
  return { ok: false, errors, ...(orderId ? { orderId } : {}) };
}

/** Checks a body read by `parseJsonWithExactIds` for the topic it came as, reporting every field error at once. */
export function validateRestock(topic: RestockTopic, body: unknown): RestockValidation {
  if (topic === TOPICS.refund) {
    const parsed = refundSchema.safeParse(body);
    if (!parsed.success) return failed(parsed.error, body, 'order_id');
    const refund = parsed.data;
    return {
      ok: true,
      intake: { topic, orderId: refund.order_id, cancelledAt: null, refundLines: refund.refund_line_items.map(toRefundLine) },
    };
  }
  const parsed = cancelledOrderSchema.safeParse(body);
  if (!parsed.success) return failed(parsed.error, body, 'id');
  const order = parsed.data;
  const lines = (order.refunds ?? []).flatMap((r) => r.refund_line_items.map(toRefundLine));
  return { ok: true, intake: { topic, orderId: order.id, cancelledAt: order.cancelled_at ?? null, refundLines: lines } };
}

/** What the order was once the data-api handled the delivery: `unknown` and `refused` orders never took stock. */
export type OrderStatus = 'unknown' | 'refused' | 'accepted' | 'cancelled';

/** Units back on one variant: the webhook's answer lists one per variant. */
export interface RestockedVariant {
  variantId: ShopifyId;
  quantity: number;
}

/**
 * What became of one cancellation or refund delivery. The use case decides it; the route only
 * turns it into HTTP, in one place.
 */
export type RestockResult =
  | { kind: 'restocked'; restocked: RestockedVariant[]; units: number }
  /** Nothing came back: no restocked line of ours, or an order the system never accepted (`orderStatus`). */
  | { kind: 'nothing_restocked'; orderStatus: OrderStatus }
  /** The event was handled before: its first answer again. */
  | { kind: 'replayed'; restocked: RestockedVariant[] }
  | { kind: 'data_api_unavailable'; detail: string }
  /** A 4xx of order-manage-data-api's own: permanent, passed on as it is. */
  | { kind: 'refused_by_data_api'; problem: Problem };

export type RestockOutcome = RestockResult & { orderId: ShopifyId; topic: RestockTopic };

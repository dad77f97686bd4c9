import { randomInt } from 'node:crypto';
import { httpRequest } from '@oms/common';
import { shopifyHeaders } from './sign.js';
import { stackEnv } from './stack-env.js';

/**
 * Shopify's two deliveries that bring units back (docs/spec.md section 2.2), shaped as Shopify sends them
 * (snake_case, with fields the system ignores), and a signed sender for the running stack.
 */

export type RestockType = 'cancel' | 'return' | 'no_restock' | 'legacy_restock';

export const CANCELLED_PATH = '/api/shopify/webhooks/orders-cancelled';
export const REFUNDS_PATH = '/api/shopify/webhooks/refunds';

export const ORDERS_PATH = '/api/shopify/webhooks/orders';

export const TOPIC_PATHS = { 'orders/create': ORDERS_PATH, 'orders/cancelled': CANCELLED_PATH, 'refunds/create': REFUNDS_PATH } as const;
export type WebhookTopic = keyof typeof TOPIC_PATHS;
export type RestockTopic = Exclude<WebhookTopic, 'orders/create'>;

export interface RefundLineInput {
  /** The order's line item (`line_items[].id`). */
  lineItemId: number | string;
  quantity: number;
  restockType: RestockType;
  /** Where Shopify restocked it; default the test variant's location given, else null (Shopify does not say). */
  locationId?: number | string | null;
  /** The refund line item's id; default a fresh one. */
  id?: number;
}

export interface RefundInput {
  orderId: number;
  lines: RefundLineInput[];
  /** The refund's id; default a fresh one. */
  id?: number;
}

// Shopify-like ids far from every other test id range, below 2^53.
const refundId = () => 15_000_000_000_000 + randomInt(1, 2 ** 40);
export const refundLineItemId = () => 16_000_000_000_000 + randomInt(1, 2 ** 40);

/** A refund line item as Shopify writes it, with the money fields the system ignores. */
function refundLineItem(line: RefundLineInput & { id: number }): Record<string, unknown> {
  return {
    id: line.id,
    line_item_id: line.lineItemId,
    location_id: line.restockType === 'no_restock' ? null : (line.locationId ?? null),
    quantity: line.quantity,
    restock_type: line.restockType,
    subtotal: 19.9 * line.quantity,
    total_tax: 0,
    subtotal_set: { shop_money: { amount: (19.9 * line.quantity).toFixed(2), currency_code: 'USD' } },
    total_tax_set: { shop_money: { amount: '0.00', currency_code: 'USD' } },
  };
}

export interface BuiltRefund extends Record<string, unknown> {
  id: number;
  order_id: number;
  refund_line_items: Array<Record<string, unknown> & { id: number }>;
}

/** A `refunds/create` body: Shopify's Refund resource. Every line gets its refund line item id now, so redeliveries can repeat it. */
export function buildRefund(input: RefundInput): BuiltRefund {
  const id = input.id ?? refundId();
  return {
    id,
    order_id: input.orderId,
    admin_graphql_api_id: `gid://shopify/Refund/${id}`,
    created_at: new Date().toISOString(),
    note: 'Customer changed their mind',
    processed_at: new Date().toISOString(),
    restock: input.lines.some((l) => l.restockType !== 'no_restock'),
    user_id: null,
    duties: [],
    order_adjustments: [],
    transactions: [],
    refund_line_items: input.lines.map((line) =>
      refundLineItem({ ...line, id: line.id ?? refundLineItemId() }),
    ) as BuiltRefund['refund_line_items'],
  };
}

/**
 * An `orders/cancelled` body: the order as it was created (buildShopifyOrder's), now with
 * `cancelled_at`, `cancel_reason` and the refunds the cancellation made (Shopify sends the restocked
 * lines of a cancellation as refund line items).
 */
export function buildCancelledOrder(order: Record<string, unknown>, refunds: BuiltRefund[]): Record<string, unknown> {
  const now = new Date().toISOString();
  return { ...order, cancelled_at: now, cancel_reason: 'customer', financial_status: 'refunded', updated_at: now, refunds };
}

/** The order's line item ids, in line order (buildShopifyOrder numbers them). */
export const lineItemIds = (order: Record<string, unknown>): number[] => (order.line_items as Array<{ id: number }>).map((l) => l.id);

export interface WebhookAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}

/**
 * Signs `body` (or raw text) with the stack's secret and posts it to the topic's path of the running
 * stack, with the topic's X-Shopify-Topic and fresh webhook and event ids unless `headers` say otherwise.
 */
export async function deliver(
  topic: WebhookTopic,
  body: unknown,
  headers: Partial<Record<string, string>> = {},
  path: string = TOPIC_PATHS[topic],
): Promise<WebhookAnswer> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const answer = await httpRequest(`${stackEnv().ORDER_API_URL}${path}`, {
    method: 'POST',
    headers: shopifyHeaders(raw, stackEnv().SHOPIFY_WEBHOOK_SECRET, { 'x-shopify-topic': topic, ...headers }),
    body: raw,
    timeoutMs: 30_000,
  });
  return { status: answer.status, headers: answer.headers, json: answer.text ? (JSON.parse(answer.text) as Record<string, unknown>) : {} };
}

import { MAX_SHOPIFY_ID, money, ORDER_LIMITS, orderText, quantity, SHOPIFY_ID_RULE, type ShopifyId } from '@oms/common';
import { z } from 'zod';

/**
 * The webhook parses the body with `parseJsonWithExactIds`, so an id written as an integer arrives as
 * a bigint. A number is taken only while it is exact (a caller that built the body itself).
 */
const shopifyId = (what: string) =>
  z
    .union([z.bigint(), z.number().int().refine(Number.isSafeInteger).transform(BigInt)], { error: `${what} ${SHOPIFY_ID_RULE}` })
    .pipe(z.bigint().min(1n, `${what} ${SHOPIFY_ID_RULE}`).max(MAX_SHOPIFY_ID, `${what} ${SHOPIFY_ID_RULE}`))
    .transform(String);

const lineItem = z.object({
  id: shopifyId('id'),
  product_id: shopifyId('product_id').nullable(),
  variant_id: shopifyId('variant_id').nullish(),
  gift_card: z.boolean({ error: 'gift_card must be true or false' }).nullish(),
  quantity: quantity('quantity'),
  sku: orderText('sku', ORDER_LIMITS.maxShortTextLength).nullish(),
  title: orderText('title', ORDER_LIMITS.maxTitleLength),
  price: money('price'),
});

/** The fields of Shopify's Order resource that intake uses; every other field is accepted and dropped. */
const shopifyOrder = z.object({
  id: shopifyId('id'),
  // Stryker disable StringLiteral: zod falls back to the schema's own `error` for an empty check message, and it says the same (the check messages below repeat the tested `error`)
  order_number: z
    .number({ error: 'order_number must be a positive integer' })
    .int('order_number must be a positive integer')
    .positive('order_number must be a positive integer')
    .max(Number.MAX_SAFE_INTEGER, 'order_number must be below 2^53'),
  // Stryker restore StringLiteral
  name: orderText('name', ORDER_LIMITS.maxShortTextLength).min(1, 'name must not be empty'),
  created_at: z.iso.datetime({ offset: true, error: 'created_at must be an ISO-8601 date-time' }),
  // Stryker disable next-line StringLiteral: zod falls back to the schema's own `error` for an empty check message, and it says the same (this line's first literal, the schema's own, is tested)
  currency: z.string({ error: 'currency must be a 3-letter code' }).regex(/^[A-Z]{3}$/, 'currency must be a 3-letter code'),
  total_price: money('total_price'),
  financial_status: orderText('financial_status', ORDER_LIMITS.maxFinancialStatusLength).nullish(),
  customer: z.object({ id: shopifyId('customer.id') }).nullish(),
  line_items: z
    .array(lineItem, { error: 'line_items must be an array' })
    .min(1, 'line_items must not be empty')
    .max(ORDER_LIMITS.maxLines, `line_items must hold at most ${ORDER_LIMITS.maxLines} lines`),
});

export interface FieldError {
  path: string;
  reason: string;
}

/** One product's demand: Shopify may send several line items (variants) of one product. */
export interface Demand {
  productId: ShopifyId;
  sku: string;
  title: string;
  quantity: number;
  price: string;
}

/**
 * A line that holds no stock (a tip, a custom item, a bundle component without a product, a gift
 * card): part of the order and its total, but never checked, reserved or sent to Shopify.
 */
export interface NonStockLine {
  lineItemId: ShopifyId;
  sku: string;
  title: string;
  quantity: number;
  price: string;
}

export interface OrderHeader {
  orderId: ShopifyId;
  orderNumber: number;
  name: string;
  customerId: ShopifyId | null;
  currency: string;
  totalPrice: string;
  financialStatus: string | null;
  createdAt: string;
}

export interface OrderIntake {
  order: OrderHeader;
  demands: Demand[];
  nonStockLines: NonStockLine[];
}

export type ValidationResult = { ok: true; intake: OrderIntake } | { ok: false; orderId?: ShopifyId; errors: FieldError[] };

const pathOf = (path: PropertyKey[]): string =>
  path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '');

/** The order id of a body that failed validation, when it can still be read, so the refusal names it. */
function readableOrderId(body: unknown): ShopifyId | undefined {
  // Stryker disable next-line StringLiteral: the label only names the field in messages this lookup discards
  const parsed = shopifyId('id').safeParse((body as { id?: unknown } | null)?.id);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Sums line items of one product into a single demand, in the order products first appear.
 * The unit price, sku and title of a product's first line item stand for it (order_detail keeps one
 * row per product); the order's total_price stays Shopify's own figure.
 */
export function sumDemands(lines: ReadonlyArray<{ productId: ShopifyId; quantity: number; sku?: string | null; title: string; price: string }>): Demand[] {
  const byProduct = new Map<ShopifyId, Demand>();
  for (const line of lines) {
    const existing = byProduct.get(line.productId);
    if (existing) {
      existing.quantity += line.quantity;
      if (!existing.sku && line.sku) existing.sku = line.sku;
    } else {
      byProduct.set(line.productId, {
        productId: line.productId,
        sku: line.sku ?? '',
        title: line.title,
        quantity: line.quantity,
        price: line.price,
      });
    }
  }
  return [...byProduct.values()];
}

type ParsedLine = z.infer<typeof lineItem>;

/** A line without a product, or a gift card, draws on no inventory (SPEC.md section 2). */
export const holdsStock = (line: Pick<ParsedLine, 'product_id' | 'gift_card'>): boolean => line.product_id !== null && line.gift_card !== true;

/** Checks a body read by `parseJsonWithExactIds` and reports every field error at once, so a merchant fixes them in one go. */
export function validateOrder(body: unknown): ValidationResult {
  const parsed = shopifyOrder.safeParse(body);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => ({ path: pathOf(issue.path) || '(body)', reason: issue.message }));
    const orderId = readableOrderId(body);
    return { ok: false, errors, ...(orderId ? { orderId } : {}) };
  }
  const o = parsed.data;
  const demands = sumDemands(
    o.line_items
      .filter(holdsStock)
      .map((l) => ({ productId: l.product_id!, quantity: l.quantity, sku: l.sku, title: l.title, price: l.price })),
  );
  const tooMuch = demands.filter((d) => d.quantity > ORDER_LIMITS.maxQuantity);
  if (tooMuch.length > 0) {
    return {
      ok: false,
      orderId: o.id,
      errors: tooMuch.map((d) => ({ path: 'line_items', reason: `summed quantity of product ${d.productId} exceeds ${ORDER_LIMITS.maxQuantity}` })),
    };
  }
  return {
    ok: true,
    intake: {
      order: {
        orderId: o.id,
        orderNumber: o.order_number,
        name: o.name,
        customerId: o.customer?.id ?? null,
        currency: o.currency,
        totalPrice: o.total_price,
        financialStatus: o.financial_status ?? null,
        createdAt: o.created_at,
      },
      demands,
      nonStockLines: o.line_items
        .filter((l) => !holdsStock(l))
        .map((l) => ({ lineItemId: l.id, sku: l.sku ?? '', title: l.title, quantity: l.quantity, price: l.price })),
    },
  };
}

export interface Shortage {
  productId: ShopifyId;
  requested: number;
  available: number;
}

/** The demands a stock figure cannot cover, in demand order. */
export function findShortages(demands: readonly Demand[], available: ReadonlyMap<ShopifyId, number>): Shortage[] {
  return demands
    .filter((d) => (available.get(d.productId) ?? 0) < d.quantity)
    .map((d) => ({ productId: d.productId, requested: d.quantity, available: available.get(d.productId) ?? 0 }));
}

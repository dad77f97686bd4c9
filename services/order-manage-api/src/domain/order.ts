import { z } from 'zod';

/** Money travels as a decimal string and lands in numeric(12,2): never through a float. */
const money = z.string().regex(/^\d{1,10}(\.\d{1,2})?$/, 'must be a decimal string with at most 2 decimals');

/**
 * Shopify ids are 64-bit, but every id Shopify has issued fits a double exactly; zod's int() also
 * refuses integers beyond 2^53-1, which JSON.parse could not have read exactly.
 */
const shopifyId = (what: string) =>
  z
    .number({ error: `${what} must be a positive integer` })
    .int(`${what} must be a positive integer`)
    .positive(`${what} must be a positive integer`);

/** PostgreSQL text cannot hold U+0000: refused here, or the commit would fail on every redelivery. */
const NUL_FREE = [(s: string) => !s.includes('\u0000'), 'must not contain a NUL character'] as const;

/** The data-api's column limits, checked here too so an oversized order is refused before the WMS is asked. */
const MAX_TITLE = 1000;
const MAX_SHORT_TEXT = 255;

/** order_detail.quantity is a PostgreSQL integer. */
export const MAX_QUANTITY = 2_147_483_647;

const lineItem = z.object({
  product_id: shopifyId('product_id'),
  quantity: z
    .number({ error: 'quantity must be an integer of at least 1' })
    .int('quantity must be an integer of at least 1')
    .min(1, 'quantity must be an integer of at least 1')
    .max(MAX_QUANTITY, `quantity must be at most ${MAX_QUANTITY}`),
  sku: z.string().max(MAX_SHORT_TEXT, `sku must be at most ${MAX_SHORT_TEXT} characters`).refine(...NUL_FREE).nullish(),
  title: z
    .string({ error: 'title must be a string' })
    .max(MAX_TITLE, `title must be at most ${MAX_TITLE} characters`)
    .refine(...NUL_FREE),
  price: money,
});

/** The fields of Shopify's Order resource that intake uses; every other field is accepted and dropped. */
const shopifyOrder = z.object({
  id: shopifyId('id'),
  order_number: shopifyId('order_number'),
  name: z
    .string({ error: 'name must be a string' })
    .min(1, 'name must not be empty')
    .max(MAX_SHORT_TEXT, `name must be at most ${MAX_SHORT_TEXT} characters`)
    .refine(...NUL_FREE),
  created_at: z.iso.datetime({ offset: true, error: 'created_at must be an ISO-8601 date-time' }),
  currency: z.string({ error: 'currency must be a 3-letter code' }).regex(/^[A-Z]{3}$/, 'currency must be a 3-letter code'),
  total_price: money,
  financial_status: z.string().refine(...NUL_FREE).nullish(),
  customer: z.object({ id: shopifyId('customer.id') }).nullish(),
  line_items: z.array(lineItem, { error: 'line_items must be an array' }).min(1, 'line_items must not be empty'),
});

export type ShopifyOrder = z.infer<typeof shopifyOrder>;

export interface FieldError {
  path: string;
  reason: string;
}

/** One product's demand: Shopify may send several line items (variants) of one product. */
export interface Demand {
  productId: number;
  sku: string;
  title: string;
  quantity: number;
  price: string;
}

export interface OrderHeader {
  orderId: number;
  orderNumber: number;
  name: string;
  customerId: number | null;
  currency: string;
  totalPrice: string;
  financialStatus: string | null;
  createdAt: string;
}

export interface OrderIntake {
  order: OrderHeader;
  demands: Demand[];
}

export type ValidationResult = { ok: true; intake: OrderIntake } | { ok: false; orderId?: number; errors: FieldError[] };

const pathOf = (path: PropertyKey[]): string =>
  path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '');

/**
 * Sums line items of one product into a single demand, in the order products first appear.
 * The unit price, sku and title of a product's first line item stand for it (order_detail keeps one
 * row per product); the order's total_price stays Shopify's own figure.
 */
export function sumDemands(lines: ReadonlyArray<{ productId: number; quantity: number; sku?: string | null; title: string; price: string }>): Demand[] {
  const byProduct = new Map<number, Demand>();
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

/** Checks the parsed body and reports every field error at once, so a merchant fixes them in one go. */
export function validateOrder(body: unknown): ValidationResult {
  const parsed = shopifyOrder.safeParse(body);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => ({ path: pathOf(issue.path) || '(body)', reason: issue.message }));
    const id = (body as { id?: unknown } | null)?.id;
    return { ok: false, errors, ...(typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? { orderId: id } : {}) };
  }
  const o = parsed.data;
  const demands = sumDemands(
    o.line_items.map((l) => ({ productId: l.product_id, quantity: l.quantity, sku: l.sku, title: l.title, price: l.price })),
  );
  const tooMuch = demands.filter((d) => d.quantity > MAX_QUANTITY);
  if (tooMuch.length > 0) {
    return {
      ok: false,
      orderId: o.id,
      errors: tooMuch.map((d) => ({ path: 'line_items', reason: `summed quantity of product ${d.productId} exceeds ${MAX_QUANTITY}` })),
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
    },
  };
}

export interface Shortage {
  productId: number;
  requested: number;
  available: number;
}

/** The demands a stock figure cannot cover, in demand order. */
export function findShortages(demands: readonly Demand[], available: ReadonlyMap<number, number>): Shortage[] {
  return demands
    .filter((d) => (available.get(d.productId) ?? 0) < d.quantity)
    .map((d) => ({ productId: d.productId, requested: d.quantity, available: available.get(d.productId) ?? 0 }));
}

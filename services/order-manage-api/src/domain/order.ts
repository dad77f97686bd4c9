import { MAX_SHOPIFY_ID, money, ORDER_LIMITS, orderText, quantity, SHOPIFY_ID_RULE, type ShopifyId } from '@oms/common';
import { z } from 'zod';

/**
 * The webhook parses the body with `parseJsonWithExactIds`, so an id written as an integer arrives as
 * a bigint. A number is taken only while it is exact (a caller that built the body itself).
 */
export const shopifyId = (what: string) =>
  z
    .union([z.bigint(), z.number().int().refine(Number.isSafeInteger).transform(BigInt)], { error: `${what} ${SHOPIFY_ID_RULE}` })
    .pipe(z.bigint().min(1n, `${what} ${SHOPIFY_ID_RULE}`).max(MAX_SHOPIFY_ID, `${what} ${SHOPIFY_ID_RULE}`))
    .transform(String);

const lineItem = z.object({
  id: shopifyId('id'),
  product_id: shopifyId('product_id').nullable(),
  variant_id: shopifyId('variant_id').nullish(),
  gift_card: z.boolean({ error: 'gift_card must be true or false' }).nullish(),
  requires_shipping: z.boolean({ error: 'requires_shipping must be true or false' }).nullish(),
  quantity: quantity('quantity'),
  sku: orderText('sku', ORDER_LIMITS.maxShortTextLength).nullish(),
  title: orderText('title', ORDER_LIMITS.maxTitleLength),
  price: money('price'),
});

const ORDER_NUMBER_RULE = 'order_number must be a positive integer';
const CURRENCY_RULE = 'currency must be a 3-letter code';

/** The fields of Shopify's Order resource that intake uses; every other field is accepted and dropped. */
const shopifyOrder = z.object({
  id: shopifyId('id'),
  order_number: z
    .number({ error: ORDER_NUMBER_RULE })
    .int(ORDER_NUMBER_RULE)
    .positive(ORDER_NUMBER_RULE)
    .max(Number.MAX_SAFE_INTEGER, 'order_number must be below 2^53'),
  name: orderText('name', ORDER_LIMITS.maxShortTextLength).min(1, 'name must not be empty'),
  created_at: z.iso.datetime({ offset: true, error: 'created_at must be an ISO-8601 date-time' }),
  currency: z.string({ error: CURRENCY_RULE }).regex(/^[A-Z]{3}$/, CURRENCY_RULE),
  total_price: money('total_price'),
  financial_status: orderText('financial_status', ORDER_LIMITS.maxFinancialStatusLength).nullish(),
  customer: z.object({ id: shopifyId('customer.id') }).nullish(),
  location_id: shopifyId('location_id').nullish(),
  line_items: z
    .array(lineItem, { error: 'line_items must be an array' })
    .min(1, 'line_items must not be empty')
    .max(ORDER_LIMITS.maxLines, `line_items must hold at most ${ORDER_LIMITS.maxLines} lines`),
});

export interface FieldError {
  path: string;
  reason: string;
}

/**
 * A line item as Shopify sent it. `holdsStock` is false for a line that draws on no inventory (a
 * tip, a custom item, a bundle component without a product, a gift card, a line that ships
 * nothing): part of the order and its total, never checked, reserved or sent to Shopify.
 */
export interface OrderLine {
  lineItemId: ShopifyId;
  productId: ShopifyId | null;
  variantId: ShopifyId | null;
  sku: string;
  title: string;
  quantity: number;
  price: string;
  holdsStock: boolean;
}

/** A line that holds stock: it has a product. */
export type StockLine = OrderLine & { productId: ShopifyId };

export interface OrderHeader {
  orderId: ShopifyId;
  orderNumber: number;
  name: string;
  customerId: ShopifyId | null;
  currency: string;
  totalPrice: string;
  financialStatus: string | null;
  createdAt: string;
  /** The shop location of a point-of-sale order; null for an online order. */
  locationId: ShopifyId | null;
}

export interface OrderIntake {
  order: OrderHeader;
  lines: OrderLine[];
}

export type ValidationResult = { ok: true; intake: OrderIntake } | { ok: false; orderId?: ShopifyId; errors: FieldError[] };

export const pathOf = (path: PropertyKey[]): string =>
  path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '');

/** The order id of a body that failed validation, when it can still be read, so the refusal names it. */
function readableOrderId(body: unknown): ShopifyId | undefined {
  // Stryker disable next-line StringLiteral: the label only names the field in messages this lookup discards (it reads success and data)
  const parsed = shopifyId('id').safeParse((body as { id?: unknown } | null)?.id);
  return parsed.success ? parsed.data : undefined;
}

type ParsedLine = z.infer<typeof lineItem>;

/** docs/spec.md section 2.1: a line without a product, a gift card or a line that ships nothing draws on no inventory. */
export const holdsStock = (line: Pick<ParsedLine, 'product_id' | 'gift_card' | 'requires_shipping'>): boolean =>
  line.product_id !== null && line.gift_card !== true && line.requires_shipping !== false;

/** The lines the warehouse gives up units for: none for a point-of-sale order another location sold. */
export function reservingLines(intake: OrderIntake, warehouseLocationId: ShopifyId): StockLine[] {
  const { locationId } = intake.order;
  if (locationId !== null && locationId !== warehouseLocationId) return [];
  return intake.lines.filter((l): l is StockLine => l.holdsStock);
}

/** Before the inventory resolves them, a line's variant is its variant id, else its product and SKU. */
const variantKey = (l: OrderLine) => l.variantId ?? `${l.productId}/${l.sku}`;

/** How a merchant recognises the variant of a line: its id, or for a deleted variant its SKU and product. */
const variantLabel = (l: OrderLine) => (l.variantId !== null ? `variant ${l.variantId}` : `SKU "${l.sku}" of product ${l.productId}`);

/** Lines of one variant whose summed quantity exceeds the limit: each variant named once, in line order. */
function oversizedVariants(lines: readonly OrderLine[]): string[] {
  const sums = new Map<string, { label: string; sum: number }>();
  for (const line of lines.filter((l) => l.holdsStock)) {
    const entry = sums.get(variantKey(line)) ?? { label: variantLabel(line), sum: 0 };
    entry.sum += line.quantity;
    sums.set(variantKey(line), entry);
  }
  return [...sums.values()].filter(({ sum }) => sum > ORDER_LIMITS.maxQuantity).map(({ label }) => label);
}

const toLine = (l: ParsedLine): OrderLine => ({
  lineItemId: l.id,
  productId: l.product_id,
  variantId: l.variant_id ?? null,
  sku: l.sku ?? '',
  title: l.title,
  quantity: l.quantity,
  price: l.price,
  holdsStock: holdsStock(l),
});

/** Checks a body read by `parseJsonWithExactIds` and reports every field error at once, so a merchant fixes them in one go. */
export function validateOrder(body: unknown): ValidationResult {
  const parsed = shopifyOrder.safeParse(body);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((issue) => ({ path: pathOf(issue.path) || '(body)', reason: issue.message }));
    const orderId = readableOrderId(body);
    return { ok: false, errors, ...(orderId ? { orderId } : {}) };
  }
  const o = parsed.data;
  const lines = o.line_items.map(toLine);
  const tooMuch = oversizedVariants(lines);
  if (tooMuch.length > 0) {
    return {
      ok: false,
      orderId: o.id,
      errors: tooMuch.map((variant) => ({
        path: 'line_items',
        reason: `summed quantity of ${variant} exceeds ${ORDER_LIMITS.maxQuantity}`,
      })),
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
        locationId: o.location_id ?? null,
      },
      lines,
    },
  };
}

/** What one variant gives up for the order: its lines summed, checked against the SKU the inventory holds. */
export interface Demand {
  variantId: ShopifyId;
  productId: ShopifyId;
  sku: string;
  quantity: number;
}

export interface Shortage {
  variantId: ShopifyId;
  sku: string;
  requested: number;
  available: number;
}

/** Pure: the demands a stock figure cannot cover, in demand order. */
export function findShortages(demands: readonly Demand[], available: ReadonlyMap<ShopifyId, number>): Shortage[] {
  return demands
    .filter((d) => (available.get(d.variantId) ?? 0) < d.quantity)
    .map((d) => ({ variantId: d.variantId, sku: d.sku, requested: d.quantity, available: available.get(d.variantId) ?? 0 }));
}

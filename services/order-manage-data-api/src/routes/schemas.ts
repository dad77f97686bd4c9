import { isShopifyId, money, ORDER_LIMITS, orderText, quantity, SHOPIFY_ID_RULE, shopifyIdString } from '@oms/common';
import { z } from 'zod';

const { maxLines, maxShortTextLength, maxTitleLength, maxFinancialStatusLength } = ORDER_LIMITS;

// Shopify sends an empty or null sku for products without one.
const sku = orderText('sku', maxShortTextLength)
  .nullish()
  .transform((value) => value ?? '');

const orderSchema = z.object({
  orderId: shopifyIdString('orderId'),
  orderNumber: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  name: orderText('name', maxShortTextLength).min(1),
  customerId: shopifyIdString('customerId').nullable().default(null),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "USD"'),
  totalPrice: money('totalPrice'),
  financialStatus: orderText('financialStatus', maxFinancialStatusLength).nullable().default(null),
  createdAt: z.iso.datetime({ offset: true }),
  webhookId: z.string().min(1).max(maxShortTextLength),
  eventId: z.string().max(maxShortTextLength).nullable().default(null),
  locationId: shopifyIdString('locationId').nullable().default(null),
});

/** Every line as Shopify sent it; a line with a variantId reserves its quantity from that variant. */
const lineSchema = z.object({
  lineItemId: shopifyIdString('lineItemId'),
  productId: shopifyIdString('productId').nullable(),
  variantId: shopifyIdString('variantId').nullable(),
  sku,
  title: orderText('title', maxTitleLength),
  quantity: quantity('quantity'),
  price: money('price'),
});

export const commitSchema = z.object({
  order: orderSchema,
  lines: z
    .array(lineSchema)
    .min(1, 'an order needs at least one line')
    .max(maxLines, `an order holds at most ${maxLines} lines`)
    .refine((lines) => new Set(lines.map((l) => l.lineItemId)).size === lines.length, { message: 'each line item must appear once' })
    .refine((lines) => lines.every((l) => l.variantId === null || l.productId !== null), {
      message: 'a line that reserves stock names its product',
    }),
});

export const resolveSchema = z.object({
  /** With it, the order is looked up too. */
  orderId: shopifyIdString('orderId').optional(),
  lines: z
    .array(
      z.object({
        lineItemId: shopifyIdString('lineItemId'),
        productId: shopifyIdString('productId'),
        variantId: shopifyIdString('variantId').nullable(),
        sku,
      }),
    )
    .min(1)
    .max(maxLines),
});

export const orderIdParam = z.string().refine(isShopifyId, SHOPIFY_ID_RULE);

/** The same `errors[]` shape as the webhook's 400: each field path and the reason. */
export function validationErrors(error: z.ZodError): Array<{ path: string; reason: string }> {
  return error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', reason: issue.message }));
}

/** The problem members the ledger keeps beside code and detail; the body limit bounds their size. */
const problemExtensions = z.record(z.string(), z.unknown()).default({});

export const rejectionReportSchema = z.object({
  orderId: shopifyIdString('orderId'),
  webhookId: z.string().min(1).max(maxShortTextLength).nullable().default(null),
  code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a problem code such as PRODUCT_NOT_FOUND'),
  status: z.union([z.literal(400), z.literal(409), z.literal(422)]),
  detail: z.string().min(1).max(4000),
  extensions: problemExtensions,
});

export const MAX_PAGE_SIZE = 500;

const pageSize = (fallback: number) => z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(fallback);

export const rejectionQuerySchema = z.object({
  code: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a problem code such as PRODUCT_NOT_FOUND')
    .optional(),
  orderId: shopifyIdString('orderId').optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().refine(isShopifyId, 'must be the nextCursor of a previous page').optional(),
  limit: pageSize(50),
});

export const stockQuerySchema = z.object({
  after: shopifyIdString('after').optional(),
  variantIds: z
    .string()
    .transform((list) =>
      list
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().refine(isShopifyId, SHOPIFY_ID_RULE)).min(1).max(MAX_PAGE_SIZE))
    .optional(),
  limit: pageSize(100),
});

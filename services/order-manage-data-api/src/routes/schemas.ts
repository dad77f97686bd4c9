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
});

const lineSchema = z.object({
  productId: shopifyIdString('productId'),
  sku,
  title: orderText('title', maxTitleLength),
  quantity: quantity('quantity'),
  price: money('price'),
});

/** A tip, custom item or gift card: kept with the order, never reserved. */
const nonStockLineSchema = z.object({
  lineItemId: shopifyIdString('lineItemId'),
  sku,
  title: orderText('title', maxTitleLength),
  quantity: quantity('quantity'),
  price: money('price'),
});

export const commitSchema = z
  .object({
    order: orderSchema,
    lines: z
      .array(lineSchema)
      .max(maxLines)
      .refine((lines) => new Set(lines.map((l) => l.productId)).size === lines.length, {
        message: 'each product must appear once (sum the quantities of repeated products)',
      }),
    nonStockLines: z
      .array(nonStockLineSchema)
      .max(maxLines)
      .default([])
      .refine((lines) => new Set(lines.map((l) => l.lineItemId)).size === lines.length, { message: 'each line item must appear once' }),
  })
  .refine((body) => body.lines.length + body.nonStockLines.length >= 1, { message: 'an order needs at least one line', path: ['lines'] })
  .refine((body) => body.lines.length + body.nonStockLines.length <= maxLines, { message: `an order holds at most ${maxLines} lines`, path: ['lines'] });

export const lookupSchema = z
  .object({
    /** With it, the order is looked up too. */
    orderId: shopifyIdString('orderId').optional(),
    productIds: z.array(shopifyIdString('productId')).max(maxLines),
  })
  // Only a lookup that also asks for an order may name no product: an order of tips and gift cards.
  .refine((body) => body.orderId !== undefined || body.productIds.length > 0, {
    path: ['productIds'],
    message: 'Too small: expected array to have >=1 items',
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
  code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be a problem code such as PRODUCT_NOT_FOUND').optional(),
  orderId: shopifyIdString('orderId').optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().refine(isShopifyId, 'must be the nextCursor of a previous page').optional(),
  limit: pageSize(50),
});

export const stockQuerySchema = z.object({
  after: shopifyIdString('after').optional(),
  productIds: z
    .string()
    .transform((list) => list.split(',').map((id) => id.trim()).filter(Boolean))
    .pipe(z.array(z.string().refine(isShopifyId, SHOPIFY_ID_RULE)).min(1).max(MAX_PAGE_SIZE))
    .optional(),
  limit: pageSize(100),
});

import { z } from 'zod';

/** PostgreSQL text cannot hold U+0000: a 400 here, not a failed INSERT answered 500. */
const text = () => z.string().refine((s) => !s.includes('\u0000'), 'must not contain a NUL character');

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const money = z.string().regex(/^\d{1,10}(\.\d{1,2})?$/, 'must be a decimal string with at most 2 decimals, e.g. "24.90"');

const orderSchema = z.object({
  orderId: id,
  orderNumber: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  name: text().min(1).max(255),
  customerId: id.nullable().default(null),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "USD"'),
  totalPrice: money,
  financialStatus: text().max(64).nullable().default(null),
  createdAt: z.iso.datetime({ offset: true }),
  webhookId: z.string().min(1).max(255),
  eventId: z.string().max(255).nullable().default(null),
});

const lineSchema = z.object({
  productId: id,
  // Shopify sends an empty or null sku for products without one.
  sku: text()
    .max(255)
    .nullish()
    .transform((sku) => sku ?? ''),
  title: text().max(1000),
  quantity: z.number().int().min(1).max(1_000_000),
  price: money,
});

export const commitSchema = z.object({
  order: orderSchema,
  lines: z
    .array(lineSchema)
    .min(1)
    .max(500)
    .refine((lines) => new Set(lines.map((l) => l.productId)).size === lines.length, {
      message: 'each product must appear once (sum the quantities of repeated products)',
    }),
});

export const lookupSchema = z.object({
  productIds: z.array(id).min(1).max(500),
});

export const orderIdParam = z.string().regex(/^[1-9]\d{0,15}$/, 'must be a positive integer').transform(Number).pipe(id);

export type CommitBody = z.infer<typeof commitSchema>;

/** The same `errors[]` shape as the webhook's 400: each field path and the reason. */
export function validationErrors(error: z.ZodError): Array<{ path: string; reason: string }> {
  return error.issues.map((issue) => ({ path: issue.path.join('.') || '(body)', reason: issue.message }));
}

import { isShopifyId, SHOPIFY_ID_RULE } from '@oms/common';
import { z } from 'zod';

/**
 * Ids travel as decimal strings, so ids above 2^53 stay exact. Events written before that change
 * carry them as JSON numbers; those are taken only while they are exact.
 */
const shopifyId = z
  .union([z.string(), z.number().int().refine(Number.isSafeInteger).transform(String)])
  .refine(isShopifyId, SHOPIFY_ID_RULE);

export const inventoryEventSchema = z.object({
  eventId: z.uuid(),
  orderId: shopifyId,
  productId: shopifyId,
  sku: z.string(),
  inventoryItemId: shopifyId,
  locationId: shopifyId,
  quantityOrdered: z.number().int().positive(),
  availableAfter: z.number().int().nonnegative(),
  inventoryVersion: z.number().int().nonnegative(),
  occurredAt: z.iso.datetime({ offset: true }),
});

export type InventoryEvent = z.infer<typeof inventoryEventSchema>;

export type ParseResult = { ok: true; event: InventoryEvent } | { ok: false; reason: string };

/** Pure: a Kafka message value to an event, or the reason it cannot be one (the DLQ header). */
export function parseInventoryEvent(value: Buffer | string | null | undefined): ParseResult {
  if (value === null || value === undefined || value.length === 0) {
    return { ok: false, reason: 'invalid_event: empty message value' };
  }
  let json: unknown;
  try {
    json = JSON.parse(value.toString());
  } catch (err) {
    return { ok: false, reason: `invalid_json: ${err instanceof Error ? err.message : String(err)}` };
  }
  const result = inventoryEventSchema.safeParse(json);
  if (!result.success) {
    // Stryker disable next-line StringLiteral: the event schema is flat, so every issue path has at most one key and the separator never shows ('(root)' is tested)
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, reason: `invalid_event: ${problems.join('; ')}` };
  }
  return { ok: true, event: result.data };
}

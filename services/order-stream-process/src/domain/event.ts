import { z } from 'zod';

/**
 * Shopify ids are 64-bit integers kept below 2^53 by Shopify; a producer serialising a PostgreSQL
 * bigint may send them as decimal strings, so both spellings are accepted and normalised.
 */
const shopifyId = z
  .union([z.number(), z.string().regex(/^[1-9]\d*$/, 'must be a positive integer').transform(Number)])
  .pipe(z.number().int().positive().refine(Number.isSafeInteger, 'must be below 2^53'));

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
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return { ok: false, reason: `invalid_event: ${problems.join('; ')}` };
  }
  return { ok: true, event: result.data };
}

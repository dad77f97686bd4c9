import { isShopifyId, SHOPIFY_ID_RULE } from '@oms/common';
import { z } from 'zod';

/** Ids travel as decimal strings, so ids above 2^53 stay exact. */
const shopifyId = z.string().refine(isShopifyId, SHOPIFY_ID_RULE);

/** What moved a variant's stock (docs/spec.md section 4, `inventory_movement.reason`). */
export const MOVEMENT_REASONS = ['order', 'cancel', 'return', 'restock', 'correction', 'import', 'wms_sync'] as const;
export type MovementReason = (typeof MOVEMENT_REASONS)[number];

/**
 * One event per movement of a variant's stock (docs/spec.md section 5), published by
 * order-manage-data-api with Kafka key = variantId.
 */
export const inventoryEventSchema = z.object({
  eventId: z.uuid(),
  movementId: shopifyId,
  reason: z.enum(MOVEMENT_REASONS),
  /** What caused it: the order id, the refund line item id, the adjustment's key. */
  reference: z.string(),
  /** Set for order, cancel and return. */
  orderId: shopifyId.nullable(),
  variantId: shopifyId,
  productId: shopifyId,
  sku: z.string(),
  inventoryItemId: shopifyId,
  locationId: shopifyId,
  delta: z
    .number()
    .int()
    .refine((d) => d !== 0, 'must not be 0'),
  availableAfter: z.number().int().nonnegative(),
  inventoryVersion: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  /** Shopify made this change itself (an order it created, a restock chosen in Shopify). */
  shopifyKnows: z.boolean(),
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
    // The event schema is flat: an issue names one field, or none (the root).
    const problems = result.error.issues.map((i) => `${String(i.path[0] ?? '(root)')}: ${i.message}`);
    return { ok: false, reason: `invalid_event: ${problems.join('; ')}` };
  }
  return { ok: true, event: result.data };
}

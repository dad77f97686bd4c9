/** The movement reasons Shopify made itself (docs/spec.md section 5): the stream never repeats them at Shopify. */
export const SHOPIFY_KNOWS_REASONS = ['order', 'cancel', 'return'] as const;

/** The SQL expressions an outbox insert takes from its statement: the order (or NULL), the topic, the Kafka headers. */
export interface OutboxParams {
  orderId: string;
  topic: string;
  headers: string;
}

/**
 * The outbox rows announcing the movements a statement just wrote: `movements` names a CTE that
 * returned (id, variant_id, delta, reason, reference, available_after, version_after). One event
 * per movement, the JSON of docs/spec.md section 5 built from what the movement wrote, in variant id
 * order (the order the relay publishes in). Every writer of movements shares it, so an event has
 * one shape and `shopifyKnows` one rule.
 */
export function outboxEventsOf(movements: string, { orderId, topic, headers }: OutboxParams): string {
  const knows = SHOPIFY_KNOWS_REASONS.map((r) => `'${r}'`).join(', ');
  return `INSERT INTO outbox_event (event_id, topic, message_key, payload, headers, order_id)
   SELECT e.event_id, ${topic}, e.variant_id::text,
          jsonb_build_object(
            'eventId', e.event_id, 'movementId', e.id::text, 'reason', e.reason, 'reference', e.reference,
            'orderId', (${orderId})::text, 'variantId', e.variant_id::text, 'productId', i.product_id::text, 'sku', i.sku,
            'inventoryItemId', i.shopify_inventory_item_id::text, 'locationId', i.shopify_location_id::text,
            'delta', e.delta, 'availableAfter', e.available_after, 'inventoryVersion', e.version_after,
            'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'shopifyKnows', e.reason IN (${knows})),
          ${headers}, ${orderId}
     FROM (SELECT gen_random_uuid() AS event_id, m.* FROM ${movements} AS m) AS e
     JOIN inventory i ON i.variant_id = e.variant_id
    ORDER BY e.variant_id, e.id`;
}

/** Wakes the relay once the statement commits, when `movements` wrote any. */
export const notifyRelayIf = (movements: string) => `(SELECT pg_notify('outbox_event', '') WHERE EXISTS (SELECT 1 FROM ${movements}))`;

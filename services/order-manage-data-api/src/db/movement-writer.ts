import type { ShopifyId } from '@oms/common';
import type pg from 'pg';

/** A movement the system itself decided (a restock, a correction, a WMS sync): Shopify cannot know it. */
export interface PlannedMovement {
  variantId: ShopifyId;
  delta: number;
  reference: string;
  idempotencyKey: string;
}

export type MovementReason = 'order' | 'cancel' | 'return' | 'restock' | 'correction' | 'import' | 'wms_sync';

/** One ledger row as the operations endpoints show it. */
export interface MovementView {
  id: string;
  variantId: ShopifyId;
  sku: string;
  delta: number;
  reason: MovementReason;
  reference: string;
  availableAfter: number;
  versionAfter: number;
  createdAt: string;
}

export interface MovementRow {
  id: string;
  variant_id: string;
  sku: string;
  delta: number;
  reason: MovementReason;
  reference: string;
  available_after: number;
  version_after: number;
  created_at: Date;
}

export const movementView = (r: MovementRow): MovementView => ({
  id: r.id,
  variantId: r.variant_id,
  sku: r.sku,
  delta: r.delta,
  reason: r.reason,
  reference: r.reference,
  availableAfter: r.available_after,
  versionAfter: r.version_after,
  createdAt: r.created_at.toISOString(),
});

/**
 * The movements (the ledger's trigger applies each to its variant) and one outbox event per movement,
 * in the event shape of the order commit (services/order-manage-data-api/src/db/outbox-events.ts), in one
 * statement. A plain INSERT on purpose: the trigger runs BEFORE INSERT, so `ON CONFLICT DO NOTHING`
 * would apply a repeated key's delta to the stock and then drop only the movement. A repeated key
 * raises 23505 here and the transaction's rollback undoes everything; callers check their keys
 * under the variant's row lock first.
 */
const MOVEMENTS_AND_EVENTS = `WITH movement AS (
   INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key)
   SELECT m.variant_id, m.delta, $5::text, m.reference, m.idempotency_key
     FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[]) AS m(variant_id, delta, reference, idempotency_key)
    ORDER BY m.variant_id
   RETURNING id, variant_id, delta, reason, reference, available_after, version_after, created_at
 ),
 outbox AS (
   INSERT INTO outbox_event (event_id, topic, message_key, payload, headers, order_id)
   SELECT e.event_id, $6::text, e.variant_id::text,
          jsonb_build_object(
            'eventId', e.event_id, 'movementId', e.id::text, 'reason', e.reason, 'reference', e.reference,
            'orderId', $7::bigint::text, 'variantId', e.variant_id::text, 'productId', i.product_id::text, 'sku', i.sku,
            'inventoryItemId', i.shopify_inventory_item_id::text, 'locationId', i.shopify_location_id::text,
            'delta', e.delta, 'availableAfter', e.available_after, 'inventoryVersion', e.version_after,
            'occurredAt', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'shopifyKnows', $8::boolean),
          $9::jsonb, $7::bigint
     FROM (SELECT gen_random_uuid() AS event_id, movement.* FROM movement) AS e
     JOIN inventory i ON i.variant_id = e.variant_id
    ORDER BY e.variant_id
 )
 SELECT m.id::text AS id, m.variant_id::text AS variant_id, i.sku, m.delta, m.reason, m.reference,
        m.available_after, m.version_after, m.created_at,
        (SELECT pg_notify('outbox_event', '') WHERE EXISTS (SELECT 1 FROM movement)) AS notified
   FROM movement m JOIN inventory i ON i.variant_id = m.variant_id
  ORDER BY m.variant_id`;

export interface WriteMovementsOptions {
  reason: MovementReason;
  /** True only for what Shopify did itself (an order, a restock the merchant chose there). */
  shopifyKnows: boolean;
  orderId?: ShopifyId | null;
  topic: string;
  correlationId: string;
}

/**
 * Writes the movements and their events on `client`, inside the caller's transaction, after the
 * caller has locked the variants (`SELECT … FOR UPDATE` in ascending variant id order) and checked
 * that no delta takes a variant below zero and no key was used before. Returns the movements.
 */
export async function writeMovements(
  client: pg.PoolClient,
  movements: PlannedMovement[],
  options: WriteMovementsOptions,
): Promise<MovementView[]> {
  if (movements.length === 0) return [];
  const { rows } = await client.query<MovementRow>({
    text: MOVEMENTS_AND_EVENTS,
    values: [
      movements.map((m) => m.variantId),
      movements.map((m) => m.delta),
      movements.map((m) => m.reference),
      movements.map((m) => m.idempotencyKey),
      options.reason,
      options.topic,
      options.orderId ?? null,
      options.shopifyKnows,
      JSON.stringify({ 'x-correlation-id': options.correlationId }),
    ],
  });
  return rows.map(movementView);
}

/** The largest figure an `int` column holds: a change past it is refused rather than overflowing. */
export const MAX_STOCK = 2_147_483_647;

import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import type { PlannedRestock, ReservedLine } from '../domain/restock.js';
import { notifyRelayIf, outboxEventsOf } from './outbox-events.js';
import type { Transaction } from './pool.js';

export type RestockTopic = 'orders/cancelled' | 'refunds/create';

/** What the order was once the delivery was handled: `unknown` and `refused` orders never took stock. */
export type OrderStatus = 'unknown' | 'refused' | 'accepted' | 'cancelled';

export interface RestockedVariant {
  variantId: ShopifyId;
  quantity: number;
}

export interface RestockMovement {
  movementId: ShopifyId;
  refundLineItemId: ShopifyId;
  variantId: ShopifyId;
  reason: PlannedRestock['reason'];
  delta: number;
  availableAfter: number;
}

/** Claims the event for this transaction; another transaction holding it makes this one wait for its outcome. */
const CLAIM_EVENT = `INSERT INTO webhook_event (event_id, topic, order_id, webhook_id, order_status)
 VALUES ($1, $2, $3, $4, 'unknown') ON CONFLICT (event_id) DO NOTHING RETURNING event_id`;

const HANDLED_EVENT = `SELECT order_status, restocked FROM webhook_event WHERE event_id = $1`;

/** Every restock of one order waits for the one before: `restocked` is read and raised under this lock. */
const LOCK_ORDER = `SELECT status FROM orders WHERE order_id = $1 FOR UPDATE`;

const WAS_REFUSED = `SELECT EXISTS (SELECT 1 FROM order_rejection WHERE order_id = $1) AS refused`;

const CANCEL_ORDER = `UPDATE orders SET status = 'cancelled', cancelled_at = coalesce(cancelled_at, $2::timestamptz, now()) WHERE order_id = $1`;

/** The order's lines that took units from the warehouse, among those the refund names, with their variant's location. */
const RESERVED_LINES = `SELECT d.line_item_id::text, d.variant_id::text, d.reserved, d.restocked, i.shopify_location_id::text AS location_id
   FROM order_detail d JOIN inventory i ON i.variant_id = d.variant_id
  WHERE d.order_id = $1 AND d.reserved > 0 AND d.line_item_id = ANY($2::bigint[])`;

const APPLIED_KEYS = `SELECT idempotency_key FROM inventory_movement WHERE idempotency_key = ANY($1::text[])`;

const LOCK_VARIANTS = `SELECT 1 FROM inventory WHERE variant_id = ANY($1::bigint[]) ORDER BY variant_id FOR UPDATE`;

/**
 * The movements (a repeated key writes nothing: the ledger skips it), each line's `restocked`
 * raised by what its movements brought back, one outbox event per movement, and the event's answer.
 */
const WRITE_RESTOCKS = `WITH plan AS (
   SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::int[], $6::text[])
            AS p(refund_line_item_id, line_item_id, variant_id, quantity, reason)
 ),
 movement AS (
   INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key)
   SELECT p.variant_id, p.quantity, p.reason, p.refund_line_item_id::text, 'refund-line:' || p.refund_line_item_id::text
     FROM plan p ORDER BY p.variant_id, p.refund_line_item_id
   ON CONFLICT (idempotency_key) DO NOTHING
   RETURNING id, variant_id, delta, reason, reference, available_after, version_after
 ),
 detail AS (
   UPDATE order_detail d SET restocked = d.restocked + back.units
     FROM (SELECT p.line_item_id, sum(m.delta)::int AS units
             FROM movement m JOIN plan p ON p.refund_line_item_id::text = m.reference
            GROUP BY p.line_item_id) AS back
    WHERE d.line_item_id = back.line_item_id
 ),
 outbox AS (
   ${outboxEventsOf('movement', { orderId: '$1::bigint', topic: '$7', headers: '$8::jsonb' })}
 ),
 answered AS (
   UPDATE webhook_event
      SET order_status = $9,
          restocked = (SELECT coalesce(jsonb_agg(jsonb_build_object('variantId', v.variant_id::text, 'quantity', v.quantity) ORDER BY v.variant_id), '[]'::jsonb)
                         FROM (SELECT variant_id, sum(delta)::int AS quantity FROM movement GROUP BY variant_id) AS v)
    WHERE event_id = $10
 )
 SELECT m.id::text AS movement_id, m.reference AS refund_line_item_id, m.variant_id::text AS variant_id, m.reason, m.delta,
        m.available_after, ${notifyRelayIf('movement')} AS notified
   FROM movement m ORDER BY m.variant_id, m.id`;

interface MovementRow {
  movement_id: string;
  refund_line_item_id: string;
  variant_id: string;
  reason: PlannedRestock['reason'];
  delta: number;
  available_after: number;
}

/** The first answer to an event handled before; null when this transaction claimed it (and holds it until it ends). */
export async function claimEvent(
  client: pg.PoolClient,
  event: { eventId: string; topic: RestockTopic; orderId: ShopifyId; webhookId: string },
): Promise<{ orderStatus: OrderStatus; restocked: RestockedVariant[] } | null> {
  const claimed = await client.query(CLAIM_EVENT, [event.eventId, event.topic, event.orderId, event.webhookId]);
  if (claimed.rowCount !== 0) return null;
  const { rows } = await client.query<{ order_status: OrderStatus; restocked: RestockedVariant[] }>(HANDLED_EVENT, [event.eventId]);
  return { orderStatus: rows[0]!.order_status, restocked: rows[0]!.restocked };
}

/** Locks the order's row when the system accepted it; otherwise whether it was refused. */
export async function lockOrderStatus(client: pg.PoolClient, orderId: ShopifyId): Promise<OrderStatus> {
  const { rows } = await client.query<{ status: 'accepted' | 'cancelled' }>(LOCK_ORDER, [orderId]);
  if (rows[0]) return rows[0].status;
  const { rows: refused } = await client.query<{ refused: boolean }>(WAS_REFUSED, [orderId]);
  return refused[0]!.refused ? 'refused' : 'unknown';
}

export async function markCancelled(client: pg.PoolClient, orderId: ShopifyId, cancelledAt: string | null): Promise<void> {
  await client.query(CANCEL_ORDER, [orderId, cancelledAt]);
}

/** The order's reserved lines among `lineItemIds`, by line item id, and which of `keys` the ledger already holds: one round trip. */
export async function readRestockState(
  client: pg.PoolClient,
  orderId: ShopifyId,
  lineItemIds: ShopifyId[],
  keys: string[],
): Promise<{ reserved: Map<ShopifyId, ReservedLine>; appliedKeys: Set<string> }> {
  const [lines, applied] = await Promise.all([
    client.query<{ line_item_id: string; variant_id: string; reserved: number; restocked: number; location_id: string }>(RESERVED_LINES, [
      orderId,
      lineItemIds,
    ]),
    client.query<{ idempotency_key: string }>(APPLIED_KEYS, [keys]),
  ]);
  const reserved = new Map<ShopifyId, ReservedLine>(
    lines.rows.map((r) => [
      r.line_item_id,
      { lineItemId: r.line_item_id, variantId: r.variant_id, reserved: r.reserved, restocked: r.restocked, locationId: r.location_id },
    ]),
  );
  return { reserved, appliedKeys: new Set(applied.rows.map((r) => r.idempotency_key)) };
}

/** Locks the variants' rows in the order given (ascending variant id). */
export async function lockVariants(client: pg.PoolClient, variantIds: ShopifyId[]): Promise<void> {
  await client.query(LOCK_VARIANTS, [variantIds]);
}

export interface RestockWrite {
  orderId: ShopifyId;
  plan: PlannedRestock[];
  inventoryTopic: string;
  correlationId: string;
  /** What the event's row answers from now on. */
  orderStatus: OrderStatus;
  eventId: string | null;
}

/** The transaction's last statement, sent with its COMMIT: the movements, the lines' `restocked`, the events and the event's answer. */
export async function writeRestocks(tx: Transaction, write: RestockWrite): Promise<RestockMovement[]> {
  const { plan } = write;
  const written = await tx.commitWith<MovementRow>({
    name: 'restock-write',
    text: WRITE_RESTOCKS,
    values: [
      write.orderId,
      plan.map((p) => p.refundLineItemId),
      plan.map((p) => p.lineItemId),
      plan.map((p) => p.variantId),
      plan.map((p) => p.quantity),
      plan.map((p) => p.reason),
      write.inventoryTopic,
      JSON.stringify({ 'x-correlation-id': write.correlationId }),
      write.orderStatus,
      write.eventId,
    ],
  });
  return written.rows.map((r) => ({
    movementId: r.movement_id,
    refundLineItemId: r.refund_line_item_id,
    variantId: r.variant_id,
    reason: r.reason,
    delta: r.delta,
    availableAfter: r.available_after,
  }));
}

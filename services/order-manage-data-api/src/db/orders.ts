import { setTimeout as sleep } from 'node:timers/promises';
import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { checkAvailability, demandsOf, type OrderLine, type Shortage } from '../domain/commit.js';
import { findOrder } from './order-view.js';
import { constraintOf, inTransaction, isRetryableTransactionError, sqlState } from './pool.js';
import { readStock } from './variants.js';

export interface NewOrder {
  orderId: ShopifyId;
  orderNumber: number;
  name: string;
  customerId: ShopifyId | null;
  currency: string;
  totalPrice: string;
  financialStatus: string | null;
  createdAt: string;
  webhookId: string;
  eventId: string | null;
  /** The shop location of a point-of-sale order; null online. */
  locationId: ShopifyId | null;
}

export interface CommitRequest {
  order: NewOrder;
  /** Every line as Shopify sent it; those with a variantId reserve their quantity from it. */
  lines: OrderLine[];
  correlationId: string;
  topic: string;
}

export interface CommittedItem {
  variantId: ShopifyId;
  availableAfter: number;
  inventoryVersion: number;
}

export type CommitOutcome =
  | { kind: 'committed'; items: CommittedItem[] }
  | { kind: 'duplicate'; existingWebhookId: string | null; existingEventId: string | null }
  | { kind: 'not_found'; variantIds: ShopifyId[] }
  | { kind: 'insufficient'; items: Shortage[] }
  | { kind: 'line_item_taken'; lineItemIds: ShopifyId[] };

interface MovedRow {
  variant_id: string;
  available_after: number;
  version_after: number;
}

class DuplicateOrder extends Error {}

/** The stock rule refused the commit: stock would go below zero, or a line's variant is gone. */
class Refused extends Error {}

/** A line item id already belongs to another order: Shopify's ids are unique, so the body is not Shopify's. */
class LineItemTaken extends Error {}

const STOCK_REFUSALS = new Set(['inventory_available_quantity_check', 'inventory_movement_variant_fk', 'order_detail_variant_fk']);

const isStockRefusal = (err: unknown) => ['23514', '23503'].includes(sqlState(err) ?? '') && STOCK_REFUSALS.has(constraintOf(err) ?? '');

const ORDER_AND_LOCKS = `WITH new_order AS (
   INSERT INTO orders (order_id, order_number, name, customer_id, currency, total_price, financial_status,
                       status, webhook_id, event_id, created_at, location_id)
   VALUES ($1, $2, $3, $4, $5, $6, $7, 'accepted', $8, $9, $10, $11)
 )
 SELECT 1 FROM inventory WHERE variant_id = ANY($12::bigint[]) ORDER BY variant_id FOR UPDATE`;

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

/**
 * One movement per variant (the ledger's trigger applies it to the stock, and refuses it below zero),
 * every line of the order, and one outbox event per movement.
 */
const MOVEMENTS_LINES_EVENTS = `WITH movement AS (
   INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key)
   SELECT d.variant_id, -d.quantity, 'order', $1::bigint::text, 'order:' || $1::bigint::text || ':' || d.variant_id
     FROM unnest($2::bigint[], $3::int[]) AS d(variant_id, quantity)
    ORDER BY d.variant_id
   RETURNING id, variant_id, delta, reason, reference, available_after, version_after
 ),
 detail AS (
   INSERT INTO order_detail (line_item_id, order_id, product_id, variant_id, sku, title, quantity, price, reserved)
   SELECT d.line_item_id, $1::bigint, d.product_id, d.variant_id, d.sku, d.title, d.quantity, d.price,
          CASE WHEN d.variant_id IS NULL THEN 0 ELSE d.quantity END
     FROM unnest($4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::int[], $10::numeric[])
          AS d(line_item_id, product_id, variant_id, sku, title, quantity, price)
 ),
 outbox AS (
   ${outboxEventsOf('movement', { orderId: '$1::bigint', topic: '$11', headers: '$12::jsonb' })}
 )
 SELECT variant_id::text AS variant_id, available_after, version_after, ${notifyRelayIf('movement')} AS notified
   FROM movement ORDER BY variant_id`;

/**
 * One transaction in one round trip: BEGIN, the order row with the stock locks, the writes and
 * COMMIT go to PostgreSQL in one write, and no stock lock waits on this process between them.
 * The movements themselves refuse an oversell or a variant that is gone: either rolls everything
 * back, and the caller works out which rule refused from the stock as it is after the rollback.
 */
async function commitOnce(pool: pg.Pool, request: CommitRequest): Promise<CommitOutcome> {
  const { order, lines, correlationId, topic } = request;
  const demands = demandsOf(lines);
  return inTransaction<CommitOutcome>(pool, async (client, tx) => {
    const [ordered, written] = await Promise.allSettled([
      // The order row first, so a racing delivery of the same order fails here on the primary key
      // before it waits for any stock lock; then the stock rows, locked in ascending variant id order.
      client.query({
        name: 'commit-lock',
        text: ORDER_AND_LOCKS,
        values: [
          order.orderId, order.orderNumber, order.name, order.customerId, order.currency, order.totalPrice,
          order.financialStatus, order.webhookId, order.eventId, order.createdAt, order.locationId,
          demands.map((d) => d.variantId),
        ],
      }),
      tx.commitWith<MovedRow>({
        name: 'commit-write',
        text: MOVEMENTS_LINES_EVENTS,
        values: [
          order.orderId,
          demands.map((d) => d.variantId),
          demands.map((d) => d.quantity),
          lines.map((l) => l.lineItemId),
          lines.map((l) => l.productId),
          lines.map((l) => l.variantId),
          lines.map((l) => l.sku),
          lines.map((l) => l.title),
          lines.map((l) => l.quantity),
          lines.map((l) => l.price),
          topic,
          JSON.stringify({ 'x-correlation-id': correlationId }),
        ],
      }),
    ]);
    if (ordered.status === 'rejected') {
      // A racing delivery of the same order committed first; its row is read after the rollback.
      if (sqlState(ordered.reason) === '23505' && constraintOf(ordered.reason) === 'orders_pkey') throw new DuplicateOrder();
      throw ordered.reason;
    }
    if (written.status === 'rejected') {
      const err = written.reason;
      if (sqlState(err) === '23505' && constraintOf(err) === 'order_detail_pkey') throw new LineItemTaken();
      throw isStockRefusal(err) ? new Refused() : err;
    }
    return {
      kind: 'committed',
      items: written.value.rows.map((r) => ({ variantId: r.variant_id, availableAfter: r.available_after, inventoryVersion: r.version_after })),
    };
  });
}

async function lineItemsTaken(pool: pg.Pool, lines: OrderLine[]): Promise<ShopifyId[]> {
  const { rows } = await pool.query<{ line_item_id: string }>(
    'SELECT line_item_id::text FROM order_detail WHERE line_item_id = ANY($1::bigint[]) ORDER BY line_item_id',
    [lines.map((l) => l.lineItemId)],
  );
  return rows.map((r) => r.line_item_id);
}

export interface CommitOptions {
  /** Attempts for serialization failures and deadlocks; neither should happen given the lock order. */
  maxAttempts?: number;
}

/**
 * Commits an order: one transaction that locks the variants in ascending id order, writes their
 * movements, the order, its lines and the outbox events; or the refusal, unknown variants first.
 */
export async function commitOrder(pool: pg.Pool, request: CommitRequest, options: CommitOptions = {}): Promise<CommitOutcome> {
  const maxAttempts = options.maxAttempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await commitOnce(pool, request);
    } catch (err) {
      if (err instanceof DuplicateOrder) {
        const existing = await findOrder(pool, request.order.orderId);
        return { kind: 'duplicate', existingWebhookId: existing?.webhookId ?? null, existingEventId: existing?.eventId ?? null };
      }
      if (err instanceof LineItemTaken) return { kind: 'line_item_taken', lineItemIds: await lineItemsTaken(pool, request.lines) };
      if (err instanceof Refused) {
        const demands = demandsOf(request.lines);
        const verdict = checkAvailability(demands, await readStock(pool, demands.map((d) => d.variantId)));
        if (!verdict.ok) {
          return verdict.code === 'PRODUCT_NOT_FOUND' ? { kind: 'not_found', variantIds: verdict.variantIds } : { kind: 'insufficient', items: verdict.items };
        }
        // Restocked between the refusal and the look: the order may fit now.
        if (attempt >= maxAttempts) throw new Error(`stock of order ${request.order.orderId} kept changing during ${attempt} commits`, { cause: err });
        continue;
      }
      if (!isRetryableTransactionError(err) || attempt >= maxAttempts) throw err;
      await sleep(10 * 2 ** attempt + Math.random() * 20);
    }
  }
}

import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { demandsOf, type OrderLine } from '../domain/commit.js';
import { notifyRelayIf, outboxEventsOf } from './outbox-events.js';
import { constraintOf, inTransaction, sqlState } from './pool.js';

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

/**
 * What the one commit transaction did. Every kind but `committed` rolled everything back; which stock
 * rule refused is the caller's to learn (the failed statement cannot say).
 */
export type OrderWrite =
  { kind: 'committed'; items: CommittedItem[] } | { kind: 'duplicate' } | { kind: 'line_item_taken' } | { kind: 'refused'; error: unknown };

interface MovedRow {
  variant_id: string;
  available_after: number;
  version_after: number;
}

/** Ends the transaction by a throw (so it rolls back) carrying what refused it. */
class RolledBack extends Error {
  constructor(readonly write: Exclude<OrderWrite, { kind: 'committed' }>) {
    super(write.kind);
  }
}

const STOCK_REFUSALS = new Set(['inventory_available_quantity_check', 'inventory_movement_variant_fk', 'order_detail_variant_fk']);

const isStockRefusal = (err: unknown) => ['23514', '23503'].includes(sqlState(err) ?? '') && STOCK_REFUSALS.has(constraintOf(err) ?? '');

const ORDER_AND_LOCKS = `WITH new_order AS (
   INSERT INTO orders (order_id, order_number, name, customer_id, currency, total_price, financial_status,
                       status, webhook_id, event_id, created_at, location_id)
   VALUES ($1, $2, $3, $4, $5, $6, $7, 'accepted', $8, $9, $10, $11)
 )
 SELECT 1 FROM inventory WHERE variant_id = ANY($12::bigint[]) ORDER BY variant_id FOR UPDATE`;

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
 * COMMIT are pipelined to PostgreSQL together, so no stock lock waits on this process between them.
 * The movements themselves refuse an oversell or a variant that is gone (`refused`); a racing
 * delivery of the same order (`duplicate`) and a line item id of another order (`line_item_taken`:
 * Shopify's ids are unique, so the body is not Shopify's) roll back too.
 */
export async function writeOrder(pool: pg.Pool, request: CommitRequest): Promise<OrderWrite> {
  try {
    return await writeOnce(pool, request);
  } catch (err) {
    if (err instanceof RolledBack) return err.write;
    throw err;
  }
}

async function writeOnce(pool: pg.Pool, request: CommitRequest): Promise<OrderWrite> {
  const { order, lines, correlationId, topic } = request;
  const demands = demandsOf(lines);
  return inTransaction<OrderWrite>(pool, async (client, tx) => {
    const [ordered, written] = await Promise.allSettled([
      // The order row first, so a racing delivery of the same order fails here on the primary key
      // before it waits for any stock lock; then the stock rows, locked in ascending variant id order.
      client.query({
        name: 'commit-lock',
        text: ORDER_AND_LOCKS,
        values: [
          order.orderId,
          order.orderNumber,
          order.name,
          order.customerId,
          order.currency,
          order.totalPrice,
          order.financialStatus,
          order.webhookId,
          order.eventId,
          order.createdAt,
          order.locationId,
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
      if (sqlState(ordered.reason) === '23505' && constraintOf(ordered.reason) === 'orders_pkey')
        throw new RolledBack({ kind: 'duplicate' });
      throw ordered.reason;
    }
    if (written.status === 'rejected') {
      const err = written.reason;
      if (sqlState(err) === '23505' && constraintOf(err) === 'order_detail_pkey') throw new RolledBack({ kind: 'line_item_taken' });
      throw isStockRefusal(err) ? new RolledBack({ kind: 'refused', error: err }) : err;
    }
    return {
      kind: 'committed',
      items: written.value.rows.map((r) => ({
        variantId: r.variant_id,
        availableAfter: r.available_after,
        inventoryVersion: r.version_after,
      })),
    };
  });
}

/** The line item ids of these lines that another order holds. */
export async function lineItemsTaken(pool: pg.Pool, lines: OrderLine[]): Promise<ShopifyId[]> {
  const { rows } = await pool.query<{ line_item_id: string }>(
    'SELECT line_item_id::text FROM order_detail WHERE line_item_id = ANY($1::bigint[]) ORDER BY line_item_id',
    [lines.map((l) => l.lineItemId)],
  );
  return rows.map((r) => r.line_item_id);
}

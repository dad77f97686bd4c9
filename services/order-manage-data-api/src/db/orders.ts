import { setTimeout as sleep } from 'node:timers/promises';
import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { checkAvailability, lockOrder, type Shortage } from '../domain/commit.js';
import { constraintOf, inTransaction, isRetryableTransactionError, sqlState } from './pool.js';

/** pg reads a bigint as its decimal string: ids stay exact from the column to the JSON. */
export interface ProductView {
  productId: ShopifyId;
  sku: string;
  title: string;
  price: string;
  currency: string;
  availableQuantity: number;
}

export async function lookupProducts(pool: pg.Pool, productIds: ShopifyId[]): Promise<ProductView[]> {
  return (await lookupIntake(pool, null, productIds)).products;
}

export interface OrderView {
  orderId: ShopifyId;
  webhookId: string;
  status: string;
  receivedAt: string;
}

interface OrderRow {
  order_id: string;
  webhook_id: string;
  status: string;
  received_at: Date;
}

interface ProductRow {
  product_id: string;
  sku: string;
  title: string;
  price: string;
  currency: string;
  available_quantity: number;
}

type Nullable<T> = { [K in keyof T]: T[K] | null };

const orderView = (r: OrderRow): OrderView => ({
  orderId: r.order_id,
  webhookId: r.webhook_id,
  status: r.status,
  receivedAt: r.received_at.toISOString(),
});

const productView = (r: ProductRow): ProductView => ({
  productId: r.product_id,
  sku: r.sku,
  title: r.title,
  price: r.price,
  currency: r.currency,
  availableQuantity: r.available_quantity,
});

export async function findOrder(pool: pg.Pool | pg.PoolClient, orderId: ShopifyId): Promise<OrderView | null> {
  const { rows } = await pool.query<OrderRow>('SELECT order_id, webhook_id, status, received_at FROM orders WHERE order_id = $1', [orderId]);
  return rows[0] ? orderView(rows[0]) : null;
}

export interface IntakeLookup {
  /** The order if it was already accepted: a redelivery the WMS refused or its hold stopped is still replayed. */
  existingOrder: OrderView | null;
  products: ProductView[];
}

/**
 * What the intake needs once the WMS refused an order, in one round trip: the order if it is known,
 * and the stock of every product (a row per product, each carrying the order's columns or nulls).
 */
export async function lookupIntake(pool: pg.Pool, orderId: ShopifyId | null, productIds: ShopifyId[]): Promise<IntakeLookup> {
  // LEFT JOINs on one row: the order's columns are null when it is unknown, a product's when none matched.
  const { rows } = await pool.query<Nullable<OrderRow> & Nullable<ProductRow>>({
    name: 'lookup-intake',
    text: `SELECT o.order_id, o.webhook_id, o.status, o.received_at,
            i.product_id, i.sku, i.title, i.price::text AS price, i.currency, i.available_quantity
       FROM (VALUES (1)) AS one (x)
       LEFT JOIN orders o ON o.order_id = $1::bigint
       LEFT JOIN inventory i ON i.product_id = ANY($2::bigint[])
      ORDER BY i.product_id`,
    values: [orderId, productIds],
  });
  const first = rows[0]!;
  return {
    existingOrder: first.order_id === null ? null : orderView(first as OrderRow),
    products: rows.filter((r) => r.product_id !== null).map((r) => productView(r as ProductRow)),
  };
}

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
}

export interface NewOrderLine {
  productId: ShopifyId;
  sku: string;
  title: string;
  quantity: number;
  price: string;
}

/** A line that holds no stock (tip, custom item, gift card): an order_detail row without a product. */
export interface NewNonStockLine {
  lineItemId: ShopifyId;
  sku: string;
  title: string;
  quantity: number;
  price: string;
}

export interface CommitRequest {
  order: NewOrder;
  lines: NewOrderLine[];
  nonStockLines?: NewNonStockLine[];
  correlationId: string;
  topic: string;
}

export interface CommittedItem {
  productId: ShopifyId;
  availableAfter: number;
  inventoryVersion: number;
}

export type CommitOutcome =
  | { kind: 'committed'; items: CommittedItem[] }
  | { kind: 'duplicate'; existingWebhookId: string | null }
  | { kind: 'not_found'; productIds: ShopifyId[] }
  | { kind: 'insufficient'; items: Shortage[] };

/** A product the commit decremented: what it now holds. */
interface DecrementedRow {
  product_id: string;
  available_quantity: number;
  version: number;
}

class DuplicateOrder extends Error {}

/** The stock rule refused the commit: the check constraint on stock, or a line's product is unknown. */
class Refused extends Error {}

const isStockRefusal = (err: unknown) =>
  (sqlState(err) === '23514' && constraintOf(err) === 'inventory_available_quantity_check') ||
  (sqlState(err) === '23503' && constraintOf(err) === 'order_detail_product_fk');

/**
 * One transaction in one round trip: BEGIN, the order row with the stock locks, the writes and
 * COMMIT go to PostgreSQL in one write, and no stock lock waits on this process between them. The
 * decrement itself refuses an oversell (inventory's check constraint) or an unknown product (the
 * order details' foreign key): either rolls everything back, and the caller works out which rule
 * refused from the stock as it is after the rollback.
 */
async function commitOnce(pool: pg.Pool, request: CommitRequest): Promise<CommitOutcome> {
  const { order, correlationId, topic, nonStockLines = [] } = request;
  const lines = lockOrder(request.lines);
  // A stock line is one row per product; a line that holds no stock keeps its Shopify line item id
  // instead of a product, so the order's details still add up to what the customer paid for.
  const details = [...lines.map((l) => ({ ...l, lineItemId: null })), ...nonStockLines.map((l) => ({ ...l, productId: null }))];
  return inTransaction<CommitOutcome>(pool, async (client, tx) => {
    const [ordered, written] = await Promise.allSettled([
      // The order row first, so a racing delivery of the same order fails here on the primary key
      // before it waits for any stock lock; then the stock rows, locked in ascending product id order.
      client.query({
        name: 'commit-lock',
        text: `WITH new_order AS (
           INSERT INTO orders (order_id, order_number, name, customer_id, currency, total_price, financial_status,
                               status, webhook_id, event_id, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'committed', $8, $9, $10)
         )
         SELECT 1 FROM inventory WHERE product_id = ANY($11::bigint[]) ORDER BY product_id FOR UPDATE`,
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
          lines.map((l) => l.productId),
        ],
      }),
      // The inventory events of SPEC.md section 5 are built here from what the decrement wrote, one
      // per product, with ids as decimal strings; the outbox ids follow product id order, the order
      // the relay publishes in. One NOTIFY, and only when there is an event to publish.
      tx.commitWith<DecrementedRow>({
        name: 'commit-write',
        text: `WITH decrement AS (
           UPDATE inventory AS i
              SET available_quantity = i.available_quantity - d.quantity, version = i.version + 1, updated_at = now()
             FROM unnest($2::bigint[], $3::int[]) AS d(product_id, quantity)
            WHERE i.product_id = d.product_id
           RETURNING i.product_id, i.sku, i.available_quantity, i.version, i.shopify_inventory_item_id,
                     i.shopify_location_id, d.quantity
         ),
         detail AS (
           INSERT INTO order_detail (order_id, product_id, line_item_id, sku, title, quantity, price)
           SELECT $1, d.product_id, d.line_item_id, d.sku, d.title, d.quantity, d.price
             FROM unnest($4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::int[], $9::numeric[])
                  AS d(product_id, line_item_id, sku, title, quantity, price)
         ),
         outbox AS (
           INSERT INTO outbox_event (event_id, topic, message_key, payload, headers, order_id)
           SELECT e.event_id, $10, e.product_id::text,
                  jsonb_build_object(
                    'eventId', e.event_id, 'orderId', $1::text, 'productId', e.product_id::text, 'sku', e.sku,
                    'inventoryItemId', e.shopify_inventory_item_id::text, 'locationId', e.shopify_location_id::text,
                    'quantityOrdered', e.quantity, 'availableAfter', e.available_quantity, 'inventoryVersion', e.version,
                    'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                  $11::jsonb, $1
             FROM (SELECT gen_random_uuid() AS event_id, decrement.* FROM decrement) AS e
            ORDER BY e.product_id
         )
         SELECT product_id::text AS product_id, available_quantity, version, (SELECT pg_notify('outbox_event', '')) AS notified
           FROM decrement ORDER BY product_id`,
        values: [
          order.orderId,
          lines.map((l) => l.productId),
          lines.map((l) => l.quantity),
          details.map((d) => d.productId),
          details.map((d) => d.lineItemId),
          details.map((d) => d.sku),
          details.map((d) => d.title),
          details.map((d) => d.quantity),
          details.map((d) => d.price),
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
      throw isStockRefusal(err) ? new Refused() : err;
    }
    return {
      kind: 'committed',
      items: written.value.rows.map((r) => ({ productId: r.product_id, availableAfter: r.available_quantity, inventoryVersion: r.version })),
    };
  });
}

export interface CommitOptions {
  /** Attempts for serialization failures and deadlocks; neither should happen given the lock order. */
  maxAttempts?: number;
}

/**
 * Commits an order: one transaction that locks the inventory rows in ascending product id order,
 * decrements them, and writes order, details and outbox events; or the refusal, with unknown
 * products reported before shortages.
 */
export async function commitOrder(pool: pg.Pool, request: CommitRequest, options: CommitOptions = {}): Promise<CommitOutcome> {
  const maxAttempts = options.maxAttempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await commitOnce(pool, request);
    } catch (err) {
      if (err instanceof DuplicateOrder) {
        const existing = await findOrder(pool, request.order.orderId);
        return { kind: 'duplicate', existingWebhookId: existing?.webhookId ?? null };
      }
      if (err instanceof Refused) {
        const stock = await lookupProducts(pool, request.lines.map((l) => l.productId));
        const verdict = checkAvailability(request.lines, stock);
        if (!verdict.ok) {
          return verdict.code === 'PRODUCT_NOT_FOUND'
            ? { kind: 'not_found', productIds: verdict.productIds }
            : { kind: 'insufficient', items: verdict.items };
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

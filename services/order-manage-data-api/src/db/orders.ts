import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { checkAvailability, lockOrder, type Shortage } from '../domain/commit.js';
import { buildInventoryEvent, inventoryEventKey, type InventoryEvent } from '../events.js';
import { Rollback, constraintOf, inTransaction, isRetryableTransactionError, sqlState } from './pool.js';

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
  const { rows } = await pool.query<{
    product_id: string;
    sku: string;
    title: string;
    price: string;
    currency: string;
    available_quantity: number;
  }>(
    `SELECT product_id, sku, title, price::text AS price, currency, available_quantity
       FROM inventory WHERE product_id = ANY($1::bigint[]) ORDER BY product_id`,
    [productIds],
  );
  return rows.map((r) => ({
    productId: r.product_id,
    sku: r.sku,
    title: r.title,
    price: r.price,
    currency: r.currency,
    availableQuantity: r.available_quantity,
  }));
}

export interface OrderView {
  orderId: ShopifyId;
  webhookId: string;
  status: string;
  receivedAt: string;
}

export async function findOrder(pool: pg.Pool | pg.PoolClient, orderId: ShopifyId): Promise<OrderView | null> {
  const { rows } = await pool.query<{ order_id: string; webhook_id: string; status: string; received_at: Date }>(
    'SELECT order_id, webhook_id, status, received_at FROM orders WHERE order_id = $1',
    [orderId],
  );
  const r = rows[0];
  return r
    ? { orderId: r.order_id, webhookId: r.webhook_id, status: r.status, receivedAt: r.received_at.toISOString() }
    : null;
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
  | { kind: 'committed'; items: CommittedItem[]; events: InventoryEvent[] }
  | { kind: 'duplicate'; existingWebhookId: string | null }
  | { kind: 'not_found'; productIds: ShopifyId[] }
  | { kind: 'insufficient'; items: Shortage[] };

interface LockedRow {
  product_id: string;
  available_quantity: number;
}

interface UpdatedRow {
  product_id: string;
  sku: string;
  available_quantity: number;
  version: number;
  shopify_inventory_item_id: string;
  shopify_location_id: string;
  updated_at: Date;
}

class DuplicateOrder extends Error {}

async function commitOnce(pool: pg.Pool, request: CommitRequest): Promise<CommitOutcome> {
  const { order, correlationId, topic, nonStockLines = [] } = request;
  const lines = lockOrder(request.lines);
  const productIds = lines.map((l) => l.productId);
  return inTransaction<CommitOutcome>(pool, async (client) => {
    try {
      await client.query(
        `INSERT INTO orders (order_id, order_number, name, customer_id, currency, total_price, financial_status,
                             status, webhook_id, event_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'committed', $8, $9, $10)`,
        [
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
        ],
      );
    } catch (err) {
      // A racing delivery of the same order committed first; its row is read after the rollback.
      if (sqlState(err) === '23505' && constraintOf(err) === 'orders_pkey') throw new DuplicateOrder();
      throw err;
    }

    const locked = await client.query<LockedRow>(
      `SELECT product_id, available_quantity FROM inventory
        WHERE product_id = ANY($1::bigint[]) ORDER BY product_id FOR UPDATE`,
      [productIds],
    );
    const verdict = checkAvailability(
      lines,
      locked.rows.map((r) => ({ productId: r.product_id, availableQuantity: r.available_quantity })),
    );
    if (!verdict.ok) {
      return new Rollback<CommitOutcome>(
        verdict.code === 'PRODUCT_NOT_FOUND'
          ? { kind: 'not_found', productIds: verdict.productIds }
          : { kind: 'insufficient', items: verdict.items },
      );
    }

    const updated = await client.query<UpdatedRow>(
      `UPDATE inventory AS i
          SET available_quantity = i.available_quantity - d.quantity, version = i.version + 1, updated_at = now()
         FROM unnest($1::bigint[], $2::int[]) AS d(product_id, quantity)
        WHERE i.product_id = d.product_id
        RETURNING i.product_id, i.sku, i.available_quantity, i.version, i.shopify_inventory_item_id,
                  i.shopify_location_id, i.updated_at`,
      [productIds, lines.map((l) => l.quantity)],
    );
    const after = new Map(updated.rows.map((r) => [r.product_id, r]));

    // A stock line is one row per product; a line that holds no stock keeps its Shopify line item id
    // instead of a product, so the order's details still add up to what the customer paid for.
    const details = [
      ...lines.map((l) => ({ ...l, lineItemId: null })),
      ...nonStockLines.map((l) => ({ ...l, productId: null })),
    ];
    await client.query(
      `INSERT INTO order_detail (order_id, product_id, line_item_id, sku, title, quantity, price)
       SELECT $1, d.product_id, d.line_item_id, d.sku, d.title, d.quantity, d.price
         FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::int[], $7::numeric[])
              AS d(product_id, line_item_id, sku, title, quantity, price)`,
      [
        order.orderId,
        details.map((d) => d.productId),
        details.map((d) => d.lineItemId),
        details.map((d) => d.sku),
        details.map((d) => d.title),
        details.map((d) => d.quantity),
        details.map((d) => d.price),
      ],
    );

    const events = lines.map((line) => {
      const row = after.get(line.productId)!;
      return buildInventoryEvent({
        eventId: randomUUID(),
        orderId: order.orderId,
        productId: line.productId,
        sku: row.sku,
        inventoryItemId: row.shopify_inventory_item_id,
        locationId: row.shopify_location_id,
        quantityOrdered: line.quantity,
        availableAfter: row.available_quantity,
        inventoryVersion: row.version,
        occurredAt: row.updated_at,
      });
    });
    // WITH ORDINALITY keeps outbox ids in product id order, the order the relay publishes in.
    await client.query(
      `INSERT INTO outbox_event (event_id, topic, message_key, payload, headers, order_id)
       SELECT e.event_id, $2, e.message_key, e.payload, $5::jsonb, $6
         FROM unnest($1::uuid[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS e(event_id, message_key, payload, n)
        ORDER BY e.n`,
      [
        events.map((e) => e.eventId),
        topic,
        events.map(inventoryEventKey),
        events.map((e) => JSON.stringify(e)),
        JSON.stringify({ 'x-correlation-id': correlationId }),
        order.orderId,
      ],
    );
    if (events.length > 0) await client.query(`SELECT pg_notify('outbox_event', '')`);

    return {
      kind: 'committed',
      items: events.map((e) => ({ productId: e.productId, availableAfter: e.availableAfter, inventoryVersion: e.inventoryVersion })),
      events,
    };
  });
}

export interface CommitOptions {
  /** Attempts for serialization failures and deadlocks; neither should happen given the lock order. */
  maxAttempts?: number;
}

/**
 * Commits an order: one transaction that locks the inventory rows in ascending product id order,
 * re-checks availability under the locks, decrements, and writes order, details and outbox events.
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
      if (sqlState(err) === '23514' && constraintOf(err) === 'inventory_available_quantity_check') {
        return { kind: 'insufficient', items: await currentShortages(pool, request.lines) };
      }
      if (sqlState(err) === '23503' && constraintOf(err) === 'order_detail_product_fk') {
        const found = new Set((await lookupProducts(pool, request.lines.map((l) => l.productId))).map((p) => p.productId));
        return { kind: 'not_found', productIds: request.lines.map((l) => l.productId).filter((id) => !found.has(id)) };
      }
      if (!isRetryableTransactionError(err) || attempt >= maxAttempts) throw err;
      await sleep(10 * 2 ** attempt + Math.random() * 20);
    }
  }
}

/**
 * The stock check constraint can only fire if the rule above were bypassed; the answer is still
 * the business one (422 with today's figures), never a 500.
 */
async function currentShortages(pool: pg.Pool, lines: NewOrderLine[]): Promise<Shortage[]> {
  const stock = new Map((await lookupProducts(pool, lines.map((l) => l.productId))).map((p) => [p.productId, p.availableQuantity]));
  return lines
    .map((l) => ({ productId: l.productId, requested: l.quantity, available: stock.get(l.productId) ?? 0 }))
    .filter((s) => s.available < s.requested);
}

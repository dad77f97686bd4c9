import { randomInt } from 'node:crypto';
import pg from 'pg';
import { stackEnv } from './stack-env.js';
import type { CatalogueVariant } from '../../db/catalogue.js';
import { setShopifyLevels } from './shopify-stand-in.js';

/**
 * Database helpers for every engineer's tests. Tests share one database while running in
 * parallel, so each test creates its own products with random ids (never the demo catalogue's)
 * and only reads or deletes what it created. Call `closeDb()` in an `after()` hook.
 */

let pool: pg.Pool | undefined;

export function dbPool(): pg.Pool {
  if (!pool) {
    pool = new pg.Pool({ connectionString: stackEnv().DATABASE_URL, max: 4, connectionTimeoutMillis: 5_000 });
    pool.on('error', () => undefined);
  }
  return pool;
}

export async function closeDb(): Promise<void> {
  const current = pool;
  pool = undefined;
  await current?.end();
}

// Shopify-shaped 13–14 digit ids far from the catalogue's 7_523_456_789_0xx and well below 2^53.
const PRODUCT_ID_BASE = 8_000_000_000_000;
const INVENTORY_ITEM_ID_BASE = 46_000_000_000_000;
const LOCATION_ID_BASE = 70_000_000_000;
const ORDER_ID_BASE = 6_000_000_000_000;

const randomSuffix = () => randomInt(1, 2 ** 40);

/** A random Shopify-like order id no other test will pick. */
export function randomOrderId(): number {
  return ORDER_ID_BASE + randomSuffix();
}

/** A variant a test creates: the same shape as a demo catalogue variant. */
export type TestProduct = CatalogueVariant;

export interface TestProductOptions {
  availableQuantity: number;
  /** Another variant of this product; default a product of its own. */
  productId?: number;
  /** Decimal string, default "10.00". */
  price?: string;
  title?: string;
  currency?: string;
  locationId?: number;
  /** Whether the Shopify stand-in holds the item at the same figure (default true), as an in-sync store. */
  atShopify?: boolean;
}

const VARIANT_ID_BASE = 41_000_000_000_000;

/**
 * Inserts a variant with unique ids and SKU (`TEST-<variant id>`): the row at zero, then its stock as
 * one `import` movement, the ledger being the only writer of stock; and its level at the Shopify stand-in.
 */
export async function createTestProduct(options: TestProductOptions): Promise<TestProduct> {
  for (let attempt = 0; ; attempt++) {
    const variantId = VARIANT_ID_BASE + randomSuffix();
    const productId = options.productId ?? PRODUCT_ID_BASE + randomSuffix();
    const product: TestProduct = {
      variantId,
      productId,
      sku: `TEST-${variantId}`,
      title: options.title ?? `Test product ${productId}`,
      price: options.price ?? '10.00',
      currency: options.currency ?? 'USD',
      availableQuantity: options.availableQuantity,
      inventoryItemId: INVENTORY_ITEM_ID_BASE + randomSuffix(),
      locationId: options.locationId ?? LOCATION_ID_BASE + randomInt(1, 2 ** 30),
    };
    try {
      await insertVariant(product);
      if (options.atShopify ?? true) {
        await setShopifyLevels([
          { inventoryItemId: product.inventoryItemId, locationId: product.locationId, available: product.availableQuantity },
        ]);
      }
      return product;
    } catch (err) {
      if ((err as { code?: string }).code !== '23505' || attempt >= 3) throw err;
    }
  }
}

async function insertVariant(v: TestProduct): Promise<void> {
  await dbPool().query(
    `INSERT INTO inventory (variant_id, product_id, sku, title, price, currency, shopify_inventory_item_id, shopify_location_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [String(v.variantId), String(v.productId), v.sku, v.title, v.price, v.currency, String(v.inventoryItemId), String(v.locationId)],
  );
  if (v.availableQuantity > 0) {
    await dbPool().query(
      `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key) VALUES ($1, $2, 'import', 'test', $3)`,
      [String(v.variantId), v.availableQuantity, `test-import:${v.variantId}`],
    );
  }
}

export interface MovementRow {
  id: string;
  variantId: string;
  delta: number;
  reason: string;
  reference: string;
  idempotencyKey: string;
  availableAfter: number;
  versionAfter: number;
}

/** A variant's ledger, oldest first. */
export async function readMovements(variantId: number | string): Promise<MovementRow[]> {
  const { rows } = await dbPool().query(
    `SELECT id::text, variant_id::text, delta, reason, reference, idempotency_key, available_after, version_after
       FROM inventory_movement WHERE variant_id = $1 ORDER BY inventory_movement.id`,
    [String(variantId)],
  );
  return rows.map((r) => ({
    id: r.id,
    variantId: r.variant_id,
    delta: r.delta,
    reason: r.reason,
    reference: r.reference,
    idempotencyKey: r.idempotency_key,
    availableAfter: r.available_after,
    versionAfter: r.version_after,
  }));
}

const toNumber = (value: string | null): number | null => (value === null ? null : Number(value));

export interface OrderRow {
  orderId: number;
  orderNumber: number;
  name: string;
  customerId: number | null;
  currency: string;
  totalPrice: string;
  financialStatus: string | null;
  status: string;
  webhookId: string;
  eventId: string | null;
  createdAt: Date;
  receivedAt: Date;
}

export async function readOrder(orderId: number | string): Promise<OrderRow | null> {
  const { rows } = await dbPool().query(
    `SELECT order_id::text, order_number::text, name, customer_id::text, currency, total_price::text, financial_status,
            status, webhook_id, event_id, created_at, received_at
       FROM orders WHERE order_id = $1`,
    [String(orderId)],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    orderId: Number(r.order_id),
    orderNumber: Number(r.order_number),
    name: r.name,
    customerId: toNumber(r.customer_id),
    currency: r.currency,
    totalPrice: r.total_price,
    financialStatus: r.financial_status,
    status: r.status,
    webhookId: r.webhook_id,
    eventId: r.event_id,
    createdAt: r.created_at,
    receivedAt: r.received_at,
  };
}

export interface OrderDetailRow {
  orderId: number;
  lineItemId: string;
  /** null for a line that holds no stock (a tip, a custom item, a gift card). */
  productId: number | null;
  variantId: number | null;
  sku: string;
  title: string;
  quantity: number;
  price: string;
  reserved: number;
  restocked: number;
}

/** The order's lines, by line item id. */
export async function readOrderDetails(orderId: number | string): Promise<OrderDetailRow[]> {
  const { rows } = await dbPool().query(
    `SELECT order_id::text, line_item_id::text, product_id::text, variant_id::text, sku, title, quantity, price::text, reserved, restocked
       FROM order_detail WHERE order_id = $1 ORDER BY line_item_id`,
    [String(orderId)],
  );
  return rows.map((r) => ({
    orderId: Number(r.order_id),
    lineItemId: r.line_item_id,
    productId: toNumber(r.product_id),
    variantId: toNumber(r.variant_id),
    sku: r.sku,
    title: r.title,
    quantity: r.quantity,
    price: r.price,
    reserved: r.reserved,
    restocked: r.restocked,
  }));
}

export interface InventoryRow {
  variantId: number;
  productId: number;
  sku: string;
  title: string;
  price: string;
  currency: string;
  availableQuantity: number;
  inventoryItemId: number;
  locationId: number;
  version: number;
  updatedAt: Date;
}

export async function readInventory(variantId: number | string): Promise<InventoryRow | null> {
  const { rows } = await dbPool().query(
    `SELECT variant_id::text, product_id::text, sku, title, price::text, currency, available_quantity,
            shopify_inventory_item_id::text, shopify_location_id::text, version, updated_at
       FROM inventory WHERE variant_id = $1`,
    [String(variantId)],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    variantId: Number(r.variant_id),
    productId: Number(r.product_id),
    sku: r.sku,
    title: r.title,
    price: r.price,
    currency: r.currency,
    availableQuantity: r.available_quantity,
    inventoryItemId: Number(r.shopify_inventory_item_id),
    locationId: Number(r.shopify_location_id),
    version: r.version,
    updatedAt: r.updated_at,
  };
}

export async function countOutboxRows(orderId: number | string, options: { unpublishedOnly?: boolean } = {}): Promise<number> {
  const { rows } = await dbPool().query<{ n: number }>(
    `SELECT count(*)::int AS n FROM outbox_event WHERE order_id = $1 AND ($2::boolean = false OR published_at IS NULL)`,
    [String(orderId), options.unpublishedOnly ?? false],
  );
  return rows[0]!.n;
}

export interface OutboxRow {
  id: number;
  eventId: string;
  topic: string;
  messageKey: string;
  payload: Record<string, unknown>;
  headers: Record<string, string>;
  orderId: number | null;
  createdAt: Date;
  publishedAt: Date | null;
}

export async function readOutboxRows(orderId: number | string): Promise<OutboxRow[]> {
  const { rows } = await dbPool().query(
    `SELECT id::text, event_id, topic, message_key, payload, headers, order_id::text, created_at, published_at
       FROM outbox_event WHERE order_id = $1 ORDER BY id`,
    [String(orderId)],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    eventId: r.event_id,
    topic: r.topic,
    messageKey: r.message_key,
    payload: r.payload,
    headers: r.headers,
    orderId: toNumber(r.order_id),
    createdAt: r.created_at,
    publishedAt: r.published_at,
  }));
}

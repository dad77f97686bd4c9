import pg from 'pg';
import { DEMO_CATALOGUE, type CatalogueProduct } from './catalogue.js';
import { databaseUrl, migrate } from './data-source.js';

export interface SeedResult {
  inserted: number;
  updated: number;
}

function catalogueParams(products: CatalogueProduct[]) {
  return [
    products.map((p) => String(p.productId)),
    products.map((p) => p.sku),
    products.map((p) => p.title),
    products.map((p) => p.price),
    products.map((p) => p.currency),
    products.map((p) => p.availableQuantity),
    products.map((p) => String(p.inventoryItemId)),
    products.map((p) => String(p.locationId)),
  ];
}

const CATALOGUE_ROWS = `
  SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::numeric[], $5::text[], $6::int[], $7::bigint[], $8::bigint[])
    AS c(product_id, sku, title, price, currency, available_quantity, shopify_inventory_item_id, shopify_location_id)`;

/**
 * Loads the demo catalogue. Stock of an existing product is left alone (orders have moved it;
 * `reset` is the command that restores it), and a row whose fields already match is not touched,
 * so running seed twice changes nothing — not even `version` or `updated_at`.
 */
export async function seedCatalogue(client: pg.ClientBase, products: CatalogueProduct[] = DEMO_CATALOGUE): Promise<SeedResult> {
  const result = await client.query<{ inserted: boolean }>(
    `INSERT INTO inventory AS i (product_id, sku, title, price, currency, available_quantity, shopify_inventory_item_id, shopify_location_id)
     ${CATALOGUE_ROWS}
     ON CONFLICT (product_id) DO UPDATE SET
       sku = EXCLUDED.sku, title = EXCLUDED.title, price = EXCLUDED.price, currency = EXCLUDED.currency,
       shopify_inventory_item_id = EXCLUDED.shopify_inventory_item_id,
       shopify_location_id = EXCLUDED.shopify_location_id,
       version = i.version + 1, updated_at = now()
     WHERE (i.sku, i.title, i.price, i.currency, i.shopify_inventory_item_id, i.shopify_location_id)
       IS DISTINCT FROM (EXCLUDED.sku, EXCLUDED.title, EXCLUDED.price, EXCLUDED.currency,
                         EXCLUDED.shopify_inventory_item_id, EXCLUDED.shopify_location_id)
     RETURNING (xmax = 0) AS inserted`,
    catalogueParams(products),
  );
  const inserted = result.rows.filter((r) => r.inserted).length;
  return { inserted, updated: result.rows.length - inserted };
}

export interface ResetResult extends SeedResult {
  ordersDeleted: number;
  eventsDeleted: number;
}

/**
 * Puts the demo catalogue back to its seed state and removes the orders (and their outbox rows)
 * that touched it. Products and orders that are not the catalogue's (tests' own) are left alone.
 * `version` moves forward rather than back to 1: consumers keep the newest version they saw, and
 * a version that went backwards would make them ignore the next real events.
 */
export async function resetCatalogue(client: pg.ClientBase, products: CatalogueProduct[] = DEMO_CATALOGUE): Promise<ResetResult> {
  const ids = products.map((p) => String(p.productId));
  await client.query('BEGIN');
  try {
    const orders = await client.query<{ order_id: string }>(
      `SELECT DISTINCT order_id FROM order_detail WHERE product_id = ANY($1::bigint[])`,
      [ids],
    );
    const orderIds = orders.rows.map((r) => r.order_id);
    const events = await client.query('DELETE FROM outbox_event WHERE order_id = ANY($1::bigint[])', [orderIds]);
    const deleted = await client.query('DELETE FROM orders WHERE order_id = ANY($1::bigint[])', [orderIds]);
    const seeded = await seedCatalogue(client, products);
    const restocked = await client.query(
      `UPDATE inventory AS i SET available_quantity = c.available_quantity, version = i.version + 1, updated_at = now()
       FROM (${CATALOGUE_ROWS}) AS c
       WHERE i.product_id = c.product_id AND i.available_quantity <> c.available_quantity`,
      catalogueParams(products),
    );
    await client.query('COMMIT');
    return {
      inserted: seeded.inserted,
      updated: seeded.updated + (restocked.rowCount ?? 0),
      ordersDeleted: deleted.rowCount ?? 0,
      eventsDeleted: events.rowCount ?? 0,
    };
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function seed(url: string = databaseUrl()): Promise<SeedResult> {
  await migrate(url);
  return withClient(url, (client) => seedCatalogue(client));
}

export async function reset(url: string = databaseUrl()): Promise<ResetResult> {
  await migrate(url);
  return withClient(url, (client) => resetCatalogue(client));
}

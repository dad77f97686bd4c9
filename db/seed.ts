import pg from 'pg';
import { DEMO_CATALOGUE, type CatalogueVariant } from './catalogue.js';
import { databaseUrl, migrate } from './data-source.js';

export interface SeedResult {
  inserted: number;
  updated: number;
}

function catalogueParams(variants: CatalogueVariant[]) {
  return [
    variants.map((v) => String(v.variantId)),
    variants.map((v) => String(v.productId)),
    variants.map((v) => v.sku),
    variants.map((v) => v.title),
    variants.map((v) => v.price),
    variants.map((v) => v.currency),
    variants.map((v) => v.availableQuantity),
    variants.map((v) => String(v.inventoryItemId)),
    variants.map((v) => String(v.locationId)),
  ];
}

const CATALOGUE_ROWS = `
  SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::numeric[], $6::text[], $7::int[], $8::bigint[], $9::bigint[])
    AS c(variant_id, product_id, sku, title, price, currency, available_quantity, shopify_inventory_item_id, shopify_location_id)`;

/**
 * Loads the demo catalogue. A new variant starts at zero and gets its stock as one `import`
 * movement (the ledger is the only writer of stock); a known one keeps its stock (orders have moved
 * it; `reset` restores it) and is touched only where a field differs, so running seed twice changes
 * nothing, not even `updated_at`.
 */
export async function seedCatalogue(client: pg.ClientBase, variants: CatalogueVariant[] = DEMO_CATALOGUE): Promise<SeedResult> {
  // A row known by its SKU under another id (a database migrated from the product-keyed schema, where
  // the product id stood in for the variant's) takes the catalogue's ids; its ledger and lines follow.
  await client.query(
    `UPDATE inventory AS i SET variant_id = c.variant_id, product_id = c.product_id,
            shopify_inventory_item_id = c.shopify_inventory_item_id, updated_at = now()
       FROM (${CATALOGUE_ROWS}) AS c
      WHERE i.sku = c.sku AND i.variant_id <> c.variant_id`,
    catalogueParams(variants),
  );
  const result = await client.query<{ inserted: number; updated: number }>(
    `WITH catalogue AS (${CATALOGUE_ROWS}),
     upserted AS (
       INSERT INTO inventory AS i (variant_id, product_id, sku, title, price, currency, shopify_inventory_item_id, shopify_location_id)
       SELECT variant_id, product_id, sku, title, price, currency, shopify_inventory_item_id, shopify_location_id FROM catalogue
       ON CONFLICT (variant_id) DO UPDATE SET
         product_id = EXCLUDED.product_id, sku = EXCLUDED.sku, title = EXCLUDED.title, price = EXCLUDED.price,
         currency = EXCLUDED.currency, shopify_inventory_item_id = EXCLUDED.shopify_inventory_item_id,
         shopify_location_id = EXCLUDED.shopify_location_id, updated_at = now()
       WHERE (i.product_id, i.sku, i.title, i.price, i.currency, i.shopify_inventory_item_id, i.shopify_location_id)
         IS DISTINCT FROM (EXCLUDED.product_id, EXCLUDED.sku, EXCLUDED.title, EXCLUDED.price, EXCLUDED.currency,
                           EXCLUDED.shopify_inventory_item_id, EXCLUDED.shopify_location_id)
       RETURNING i.variant_id, (xmax = 0) AS inserted
     )
     SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated FROM upserted`,
    catalogueParams(variants),
  );
  // A second statement: the movement trigger must see the rows the first one inserted. Only a
  // variant that never moved gets its stock: a known one keeps what its ledger says.
  await client.query(
    `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key)
     SELECT c.variant_id, c.available_quantity, 'import', 'demo-catalogue', 'demo-catalogue:' || c.variant_id
       FROM (${CATALOGUE_ROWS}) AS c JOIN inventory i ON i.variant_id = c.variant_id
      WHERE c.available_quantity > 0 AND i.version = 0
      ORDER BY c.variant_id
     ON CONFLICT (idempotency_key) DO NOTHING`,
    catalogueParams(variants),
  );
  return result.rows[0]!;
}

export interface ResetResult extends SeedResult {
  ordersDeleted: number;
  eventsDeleted: number;
}

/**
 * Puts the demo catalogue back to its seed stock and removes the orders (and their outbox rows)
 * that touched it; variants and orders that are not the catalogue's (tests' own) are left alone.
 * The stock comes back as `correction` movements: the ledger keeps its history, and `version`
 * moves forward (consumers keep the newest version they saw).
 */
export async function resetCatalogue(client: pg.ClientBase, variants: CatalogueVariant[] = DEMO_CATALOGUE): Promise<ResetResult> {
  const ids = variants.map((v) => String(v.variantId));
  await client.query('BEGIN');
  try {
    const orders = await client.query<{ order_id: string }>(
      `SELECT DISTINCT order_id FROM order_detail WHERE variant_id = ANY($1::bigint[])`,
      [ids],
    );
    const orderIds = orders.rows.map((r) => r.order_id);
    const events = await client.query('DELETE FROM outbox_event WHERE order_id = ANY($1::bigint[])', [orderIds]);
    const deleted = await client.query('DELETE FROM orders WHERE order_id = ANY($1::bigint[])', [orderIds]);
    const seeded = await seedCatalogue(client, variants);
    const restocked = await client.query(
      `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key)
       SELECT i.variant_id, c.available_quantity - i.available_quantity, 'correction', 'db:reset',
              'db-reset:' || i.variant_id || ':' || i.version
         FROM (${CATALOGUE_ROWS}) AS c JOIN inventory i ON i.variant_id = c.variant_id
        WHERE i.available_quantity <> c.available_quantity
        ORDER BY i.variant_id`,
      catalogueParams(variants),
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

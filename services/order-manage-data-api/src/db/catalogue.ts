import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import type { CatalogueVariantInput, InventoryRowView } from '../domain/catalogue.js';
import { notifyRelayIf, outboxEventsOf } from './outbox-events.js';

/** Any constant of its own: pages of two imports running at once take turns. */
const CATALOGUE_LOCK_KEY = '7523456000026';

const ROWS = `SELECT variant_id::text, product_id::text, sku, title, price::text, shopify_inventory_item_id::text
                FROM inventory
               WHERE variant_id = ANY($1::bigint[]) OR sku = ANY($2::text[]) OR shopify_inventory_item_id = ANY($3::bigint[])
               ORDER BY variant_id`;

interface Row {
  variant_id: string;
  product_id: string;
  sku: string;
  title: string;
  price: string;
  shopify_inventory_item_id: string;
}

const view = (r: Row): InventoryRowView => ({
  variantId: r.variant_id,
  productId: r.product_id,
  sku: r.sku,
  title: r.title,
  price: r.price,
  inventoryItemId: r.shopify_inventory_item_id,
});

/**
 * A SKU no import or order can hold (PostgreSQL text refuses U+0000, and the tool refuses control
 * characters in a SKU): where a refreshed row parks its SKU while the page swaps SKUs between rows.
 */
const PARKED_SKU = `chr(1) || 'catalogue-import:' || variant_id::text`;

const REFRESH = `UPDATE inventory AS i
    SET variant_id = u.variant_id, product_id = u.product_id, sku = u.sku, title = u.title, price = u.price,
        shopify_inventory_item_id = u.inventory_item_id, updated_at = now()
   FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::numeric[], $7::bigint[])
        AS u(old_variant_id, variant_id, product_id, sku, title, price, inventory_item_id)
  WHERE i.variant_id = u.old_variant_id`;

const ADD = `INSERT INTO inventory (variant_id, product_id, sku, title, price, currency, shopify_inventory_item_id, shopify_location_id)
  SELECT u.variant_id, u.product_id, u.sku, u.title, u.price, $6, u.inventory_item_id, $7
    FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::numeric[], $8::bigint[])
         AS u(variant_id, product_id, sku, title, price, inventory_item_id)
   ORDER BY u.variant_id`;

/**
 * A new variant's stock: one `import` movement each (the ledger's trigger applies it) and its outbox
 * event, shopifyKnows false: the stream brings Shopify to the database's figure by compare-and-set.
 * A plain INSERT: the rows were created in this transaction, so no key can exist (a repeat would
 * raise and roll the page back rather than apply a delta twice).
 */
const STOCK = `WITH movement AS (
   INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key)
   SELECT m.variant_id, m.delta, 'import', $3, 'import:' || m.variant_id::text
     FROM unnest($1::bigint[], $2::int[]) AS m(variant_id, delta)
    ORDER BY m.variant_id
   RETURNING id, variant_id, delta, reason, reference, available_after, version_after
 ),
 outbox AS (
   ${outboxEventsOf('movement', { orderId: 'NULL::bigint', topic: '$4::text', headers: '$5::jsonb' })}
 )
 SELECT id::text, variant_id::text, ${notifyRelayIf('movement')} AS notified FROM movement ORDER BY variant_id`;

/** The rows the page names (by variant id, replaced variant id, SKU or inventory item), ascending variant id; `lock` takes their row locks. */
export async function readRows(
  client: pg.Pool | pg.PoolClient,
  variants: CatalogueVariantInput[],
  lock: boolean,
): Promise<InventoryRowView[]> {
  const ids = [...variants.map((v) => v.variantId), ...variants.flatMap((v) => (v.replacesVariantId ? [v.replacesVariantId] : []))];
  const { rows } = await client.query<Row>(`${ROWS}${lock ? ' FOR UPDATE' : ''}`, [
    ids,
    variants.map((v) => v.sku),
    variants.map((v) => v.inventoryItemId),
  ]);
  return rows.map(view);
}

/** Pages of two imports running at once take turns: held until the transaction ends. */
export async function lockCatalogue(client: pg.PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [CATALOGUE_LOCK_KEY]);
}

/** A row the page refreshes, named by its variant id before the refresh (which may change it). */
export interface RowRefresh {
  rowVariantId: ShopifyId;
  variant: CatalogueVariantInput;
}

/**
 * Rewrites the rows' ids, title, price and SKU (their stock and ledger untouched). The SKU is unique
 * and not deferrable: rows whose SKU changes park theirs first, so rows may trade SKUs within a page.
 */
export async function refreshRows(client: pg.PoolClient, refreshes: RowRefresh[], newSku: ShopifyId[]): Promise<void> {
  if (newSku.length > 0) await client.query(`UPDATE inventory SET sku = ${PARKED_SKU} WHERE variant_id = ANY($1::bigint[])`, [newSku]);
  if (refreshes.length === 0) return;
  const v = refreshes.map((r) => r.variant);
  await client.query(REFRESH, [
    refreshes.map((r) => r.rowVariantId),
    v.map((x) => x.variantId),
    v.map((x) => x.productId),
    v.map((x) => x.sku),
    v.map((x) => x.title),
    v.map((x) => x.price),
    v.map((x) => x.inventoryItemId),
  ]);
}

/** New rows at zero stock, in the shop's currency at the warehouse's location. */
export async function addRows(
  client: pg.PoolClient,
  added: CatalogueVariantInput[],
  currency: string,
  locationId: ShopifyId,
): Promise<void> {
  await client.query(ADD, [
    added.map((v) => v.variantId),
    added.map((v) => v.productId),
    added.map((v) => v.sku),
    added.map((v) => v.title),
    added.map((v) => v.price),
    currency,
    locationId,
    added.map((v) => v.inventoryItemId),
  ]);
}

/** The new variants' stock as `import` movements with their events: the movement id by variant id. */
export async function stockAdded(
  client: pg.PoolClient,
  stocked: CatalogueVariantInput[],
  write: { reference: string; topic: string; correlationId: string },
): Promise<Map<string, string>> {
  const { rows } = await client.query<{ id: string; variant_id: string }>(STOCK, [
    stocked.map((v) => v.variantId),
    stocked.map((v) => v.available),
    write.reference,
    write.topic,
    JSON.stringify({ 'x-correlation-id': write.correlationId }),
  ]);
  return new Map(rows.map((r) => [r.variant_id, r.id]));
}

import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { type CatalogueVariantInput, type FieldChange, type InventoryRowView, type PlannedVariant, planPage, type SkipReason } from '../domain/catalogue.js';
import { notifyRelayIf, outboxEventsOf } from './orders.js';
import { inTransaction } from './pool.js';

export interface CataloguePage {
  /** The warehouse's Shopify location (SHOPIFY_LOCATION_ID): a new variant's location. */
  locationId: ShopifyId;
  /** A new variant's currency (the shop's). */
  currency: string;
  /** The import movements' reference: the run that wrote them. */
  reference: string;
  dryRun: boolean;
  variants: CatalogueVariantInput[];
  correlationId: string;
  topic: string;
}

export type VariantResult =
  | { variantId: ShopifyId; sku: string; outcome: 'added'; available: number; movementId: string | null }
  | { variantId: ShopifyId; sku: string; outcome: 'refreshed'; changes: FieldChange[] }
  | { variantId: ShopifyId; sku: string; outcome: 'unchanged' }
  | { variantId: ShopifyId; sku: string; outcome: 'skipped'; reason: SkipReason; detail: string; heldBy: ShopifyId };

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

function resultOf(planned: PlannedVariant, movements: Map<string, string>): VariantResult {
  const { variantId, sku } = planned.variant;
  switch (planned.outcome) {
    case 'added':
      return { variantId, sku, outcome: 'added', available: planned.variant.available, movementId: movements.get(variantId) ?? null };
    case 'refreshed':
      return { variantId, sku, outcome: 'refreshed', changes: planned.changes };
    case 'unchanged':
      return { variantId, sku, outcome: 'unchanged' };
    case 'skipped':
      return { variantId, sku, outcome: 'skipped', reason: planned.reason, detail: planned.detail, heldBy: planned.heldBy };
  }
}

async function readRows(client: pg.Pool | pg.PoolClient, variants: CatalogueVariantInput[], lock: boolean): Promise<InventoryRowView[]> {
  const ids = [...variants.map((v) => v.variantId), ...variants.flatMap((v) => (v.replacesVariantId ? [v.replacesVariantId] : []))];
  const { rows } = await client.query<Row>(`${ROWS}${lock ? ' FOR UPDATE' : ''}`, [
    ids,
    variants.map((v) => v.sku),
    variants.map((v) => v.inventoryItemId),
  ]);
  return rows.map(view);
}

/**
 * One page of the catalogue import, in one transaction (docs/spec.md section 10): the rows the page
 * touches are locked in ascending variant id order (as an order's commit locks them), then each
 * variant is added (its row at zero, its WMS stock as one `import` movement with its event),
 * refreshed (ids, title, price, SKU; its stock and ledger untouched, the ledger following a new
 * variant id), left unchanged (not even updated_at moves) or skipped. A dry run reads without
 * locking and writes nothing.
 */
export async function importCataloguePage(pool: pg.Pool, page: CataloguePage): Promise<VariantResult[]> {
  if (page.dryRun) {
    const plan = planPage(page.variants, await readRows(pool, page.variants, false));
    return plan.map((p) => resultOf(p, new Map()));
  }
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [CATALOGUE_LOCK_KEY]);
    const plan = planPage(page.variants, await readRows(client, page.variants, true));

    const refreshed = plan.filter((p): p is Extract<PlannedVariant, { outcome: 'refreshed' }> => p.outcome === 'refreshed');
    const newSku = refreshed.filter((p) => p.changes.some((c) => c.field === 'sku'));
    if (newSku.length > 0) {
      // The SKU is unique and not deferrable: rows trading SKUs within the page park theirs first.
      await client.query(`UPDATE inventory SET sku = ${PARKED_SKU} WHERE variant_id = ANY($1::bigint[])`, [newSku.map((p) => p.row.variantId)]);
    }
    if (refreshed.length > 0) {
      const v = refreshed.map((p) => p.variant);
      await client.query(REFRESH, [
        refreshed.map((p) => p.row.variantId),
        v.map((x) => x.variantId),
        v.map((x) => x.productId),
        v.map((x) => x.sku),
        v.map((x) => x.title),
        v.map((x) => x.price),
        v.map((x) => x.inventoryItemId),
      ]);
    }

    const added = plan.filter((p) => p.outcome === 'added').map((p) => p.variant);
    const movements = new Map<string, string>();
    if (added.length > 0) {
      await client.query(ADD, [
        added.map((v) => v.variantId),
        added.map((v) => v.productId),
        added.map((v) => v.sku),
        added.map((v) => v.title),
        added.map((v) => v.price),
        page.currency,
        page.locationId,
        added.map((v) => v.inventoryItemId),
      ]);
      const stocked = added.filter((v) => v.available > 0);
      if (stocked.length > 0) {
        const { rows } = await client.query<{ id: string; variant_id: string }>(STOCK, [
          stocked.map((v) => v.variantId),
          stocked.map((v) => v.available),
          page.reference,
          page.topic,
          JSON.stringify({ 'x-correlation-id': page.correlationId }),
        ]);
        for (const r of rows) movements.set(r.variant_id, r.id);
      }
    }
    return plan.map((p) => resultOf(p, movements));
  });
}

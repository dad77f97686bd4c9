import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { type CatalogueVariantInput, type FieldChange, type PlannedVariant, planPage, type SkipReason } from '../domain/catalogue.js';
import { addRows, lockCatalogue, readRows, refreshRows, stockAdded } from '../db/catalogue.js';
import { inTransaction } from '../db/pool.js';

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

type Refreshed = Extract<PlannedVariant, { outcome: 'refreshed' }>;

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
    await lockCatalogue(client);
    const plan = planPage(page.variants, await readRows(client, page.variants, true));
    const refreshed = plan.filter((p): p is Refreshed => p.outcome === 'refreshed');
    await refreshRows(
      client,
      refreshed.map((p) => ({ rowVariantId: p.row.variantId, variant: p.variant })),
      refreshed.filter((p) => p.changes.some((c) => c.field === 'sku')).map((p) => p.row.variantId),
    );
    const movements = await addVariants(
      client,
      page,
      plan.filter((p) => p.outcome === 'added').map((p) => p.variant),
    );
    return plan.map((p) => resultOf(p, movements));
  });
}

/** The new rows, then the stock of those the WMS holds any of: the movement id by variant id. */
async function addVariants(client: pg.PoolClient, page: CataloguePage, added: CatalogueVariantInput[]): Promise<Map<string, string>> {
  if (added.length === 0) return new Map();
  await addRows(client, added, page.currency, page.locationId);
  const stocked = added.filter((v) => v.available > 0);
  return stocked.length > 0 ? stockAdded(client, stocked, page) : new Map();
}

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

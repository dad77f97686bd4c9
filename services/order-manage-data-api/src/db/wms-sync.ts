import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { writeMovements } from './movement-writer.js';
import { inTransaction } from './pool.js';

/** One SKU as the WMS list gives it. */
export interface WmsFigure {
  sku: string;
  availableQuantity: number;
}

export interface WmsDifference {
  variantId: ShopifyId;
  sku: string;
  /** Our stock before the sync (under the row lock when not a dry run). */
  before: number;
  /** The WMS's figure, which the variant has after the sync. */
  wms: number;
  delta: number;
  /** The `wms_sync` movement written; null in a dry run. */
  movementId: string | null;
}

export interface WmsSyncPageResult {
  runId: string;
  dryRun: boolean;
  /** Variants whose stock differed from the WMS's figure (and, unless a dry run, now equals it). */
  changed: WmsDifference[];
  /** Known SKUs whose stock already equalled the WMS's figure. */
  unchanged: number;
  /** Variants this run had already synced (a page sent again after a lost answer): left alone. */
  alreadySynced: Array<{ variantId: ShopifyId; sku: string }>;
  /** SKUs of the WMS list the inventory does not hold: reported, never inserted. */
  unknownSkus: string[];
}

interface VariantRow {
  variant_id: string;
  sku: string;
  available_quantity: number;
  synced: boolean;
}

export interface WmsSyncOptions {
  runId: string;
  dryRun: boolean;
  topic: string;
  correlationId: string;
}

const movementKey = (runId: string, variantId: string) => `wms_sync:${runId}:${variantId}`;

/**
 * One page of the WMS list (docs/spec.md section 10): each known SKU whose stock differs from the WMS's
 * `availableQuantity` gets one `wms_sync` movement of the difference (reference the run id,
 * idempotency key per run and variant, shopifyKnows false so the stream sends it to Shopify as a
 * delta) and its event, under the variants' row locks taken in ascending variant id order. A dry run
 * reads without locking and writes nothing.
 */
export async function syncWmsPage(pool: pg.Pool, items: WmsFigure[], options: WmsSyncOptions): Promise<WmsSyncPageResult> {
  const { runId, dryRun } = options;
  const wmsBySku = new Map(items.map((i) => [i.sku, i.availableQuantity]));
  const skus = [...wmsBySku.keys()];
  const select = `SELECT variant_id::text, sku, available_quantity,
                         EXISTS (SELECT 1 FROM inventory_movement m
                                  WHERE m.idempotency_key = 'wms_sync:' || $2::text || ':' || inventory.variant_id) AS synced
                    FROM inventory WHERE sku = ANY($1::text[]) ORDER BY variant_id`;

  const decide = (rows: VariantRow[]) => {
    const known = new Set(rows.map((r) => r.sku));
    const result: WmsSyncPageResult = {
      runId,
      dryRun,
      changed: [],
      unchanged: 0,
      alreadySynced: [],
      unknownSkus: skus.filter((s) => !known.has(s)),
    };
    for (const row of rows) {
      const wms = wmsBySku.get(row.sku)!;
      if (row.synced) result.alreadySynced.push({ variantId: row.variant_id, sku: row.sku });
      else if (wms === row.available_quantity) result.unchanged++;
      else result.changed.push({ variantId: row.variant_id, sku: row.sku, before: row.available_quantity, wms, delta: wms - row.available_quantity, movementId: null });
    }
    return result;
  };

  if (dryRun) {
    const { rows } = await pool.query<VariantRow>(select, [skus, runId]);
    return decide(rows);
  }
  return inTransaction(pool, async (client) => {
    // The key check runs under the locks: every writer of this run's key for a variant holds its row first.
    const { rows } = await client.query<VariantRow>(`${select} FOR UPDATE OF inventory`, [skus, runId]);
    const result = decide(rows);
    const movements = await writeMovements(
      client,
      result.changed.map((c) => ({ variantId: c.variantId, delta: c.delta, reference: runId, idempotencyKey: movementKey(runId, c.variantId) })),
      { reason: 'wms_sync', shopifyKnows: false, topic: options.topic, correlationId: options.correlationId },
    );
    const byVariant = new Map(movements.map((m) => [m.variantId, m.id]));
    for (const change of result.changed) change.movementId = byVariant.get(change.variantId) ?? null;
    return result;
  });
}

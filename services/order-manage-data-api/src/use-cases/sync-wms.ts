import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { writeMovements } from '../db/movement-writer.js';
import { inTransaction } from '../db/pool.js';
import { readWmsVariants, type SyncedVariant } from '../db/wms-sync.js';

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
  if (dryRun) return compare(await readWmsVariants(pool, skus, runId, false), wmsBySku, options);
  return inTransaction(pool, async (client) => {
    const result = compare(await readWmsVariants(client, skus, runId, true), wmsBySku, options);
    const movements = await writeMovements(
      client,
      result.changed.map((c) => ({
        variantId: c.variantId,
        delta: c.delta,
        reference: runId,
        idempotencyKey: movementKey(runId, c.variantId),
      })),
      { reason: 'wms_sync', shopifyKnows: false, topic: options.topic, correlationId: options.correlationId },
    );
    const byVariant = new Map(movements.map((m) => [m.variantId, m.id]));
    for (const change of result.changed) change.movementId = byVariant.get(change.variantId) ?? null;
    return result;
  });
}

/** Each variant against the WMS's figure for its SKU; the SKUs no variant holds are reported. */
function compare(variants: SyncedVariant[], wmsBySku: Map<string, number>, { runId, dryRun }: WmsSyncOptions): WmsSyncPageResult {
  const known = new Set(variants.map((v) => v.sku));
  const result: WmsSyncPageResult = {
    runId,
    dryRun,
    changed: [],
    unchanged: 0,
    alreadySynced: [],
    unknownSkus: [...wmsBySku.keys()].filter((s) => !known.has(s)),
  };
  for (const v of variants) {
    const wms = wmsBySku.get(v.sku)!;
    if (v.synced) result.alreadySynced.push({ variantId: v.variantId, sku: v.sku });
    else if (wms === v.availableQuantity) result.unchanged++;
    else
      result.changed.push({
        variantId: v.variantId,
        sku: v.sku,
        before: v.availableQuantity,
        wms,
        delta: wms - v.availableQuantity,
        movementId: null,
      });
  }
  return result;
}

import { randomUUID } from 'node:crypto';
import type { Logger, ShopifyId } from '@oms/common';
import { isStale, ShopifyGaveUpError, type ShopifyClient } from './clients/shopify.js';
import { readLevels } from './clients/shopify-levels.js';
import type { StockItem, StockSource } from './clients/stock.js';
import { chunk, itemKey, MAX_QUANTITIES_PER_CALL } from './domain/coalesce.js';
import { blamedIndexes, buildCompareAndSetRequest } from './domain/mutation.js';

/**
 * Reconciliation (docs/spec.md sections 6 and 10): Shopify's available quantity of every stocked variant
 * is read and, where it differs from the database (a missed event, a manual edit in the Shopify
 * admin, a Shopify-side restock a confirm lowered before its webhook arrived), set to the database's
 * figure with a compare-and-set from the figure just read, never blind. Shared by
 * `npm run reconcile` and the processor's RECONCILE_INTERVAL_MS.
 */

/** Items read per Shopify query: each costs about a point, so a page stays far below the bucket. */
export const DEFAULT_RECONCILE_PAGE_SIZE = 100;

export type DriftAction =
  /** Shopify was set to the database's quantity. */
  | 'repaired'
  /** --dry-run: found, left alone. */
  | 'reported'
  /** The variant moved while we looked (its own event brings Shopify in line), or Shopify did (stale compare). */
  | 'skipped_changed'
  /** Shopify refused the repair after its retries. */
  | 'failed';

interface Described {
  variantId: ShopifyId;
  productId: ShopifyId;
  sku: string;
  inventoryItemId: ShopifyId;
  locationId: ShopifyId;
  database: number;
}

export interface Drift extends Described {
  shopify: number;
  action: DriftAction;
  reason?: string;
}

/** Shopify does not know the item, or does not stock it at the location the database names. */
export interface Unmatched extends Described {
  shopify: 'unknown_item' | 'not_stocked_at_location';
}

export interface ReconcileReport {
  runId: string;
  dryRun: boolean;
  checked: number;
  inSync: number;
  drifts: Drift[];
  unmatched: Unmatched[];
  startedAt: string;
  durationMs: number;
}

export interface ReconcileOptions {
  dryRun?: boolean;
  /** Only these variants (default every variant in the database). */
  variantIds?: ShopifyId[];
  /** Only the variants of these products. */
  productIds?: ShopifyId[];
  pageSize?: number;
  signal?: AbortSignal;
  /** Called as each drift is settled, so a long run shows its progress. */
  onDrift?: (drift: Drift) => void;
  onUnmatched?: (item: Unmatched) => void;
}

export interface ReconcilerDeps {
  stock: StockSource;
  shopify: ShopifyClient;
  logger: Logger;
}

export interface Reconciler {
  run(options?: ReconcileOptions): Promise<ReconcileReport>;
}

type Drifted = { item: StockItem; shopify: number };

const describe = (item: StockItem): Described => ({
  variantId: item.variantId,
  productId: item.productId,
  sku: item.sku,
  inventoryItemId: item.inventoryItemId,
  locationId: item.locationId,
  database: item.availableQuantity,
});

const drift = (d: Drifted, action: DriftAction, reason?: string): Drift => ({
  ...describe(d.item),
  shopify: d.shopify,
  action,
  ...(reason ? { reason } : {}),
});

/** Sets drifted items from what Shopify held to the database's figure, compare-and-set. */
async function setGroup(shopify: ShopifyClient, runId: string, group: Drifted[], signal?: AbortSignal): Promise<Drift[]> {
  const request = buildCompareAndSetRequest(
    group.map(({ item, shopify: from }) => ({
      inventoryItemId: item.inventoryItemId,
      locationId: item.locationId,
      from,
      to: item.availableQuantity,
      version: item.version,
    })),
    `reconcile-${runId}`,
    () => `gid://order-intake/Reconciliation/${runId}`,
  );
  const { idempotencyKey } = request.variables;
  try {
    await shopify.setInventoryQuantities(request, { signal, logMeta: { operation: 'reconcile.repair', runId, idempotencyKey } });
    return group.map((d) => drift(d, 'repaired'));
  } catch (err) {
    if (!(err instanceof ShopifyGaveUpError)) throw err;
    const stale = isStale(err.last);
    const action: DriftAction = stale ? 'skipped_changed' : 'failed';
    const reason = stale ? 'Shopify moved since the read (CHANGE_FROM_QUANTITY_STALE); the next run looks again' : err.message;
    const blamed = blamedIndexes(err.last.userErrors, group.length);
    if (blamed.size === 0 || blamed.size === group.length) return group.map((d) => drift(d, action, reason));
    // Shopify applied nothing of the call: the items it did not blame go again on their own.
    const others = await setGroup(shopify, runId, group.filter((_, i) => !blamed.has(i)), signal);
    return [...group.filter((_, i) => blamed.has(i)).map((d) => drift(d, action, reason)), ...others];
  }
}

/** Repairs drifted items, unless the variant moved meanwhile (its own event brings Shopify in line). */
async function repair(deps: ReconcilerDeps, runId: string, drifted: Drifted[], signal?: AbortSignal): Promise<Drift[]> {
  const now = await deps.stock.current(
    drifted.map((d) => d.item.variantId),
    { signal },
  );
  const settled: Drift[] = [];
  const toSet: Drifted[] = [];
  for (const d of drifted) {
    const today = now.get(d.item.variantId);
    if (!today || today.version !== d.item.version) settled.push({ ...drift(d, 'skipped_changed'), database: today?.availableQuantity ?? d.item.availableQuantity });
    else toSet.push(d);
  }
  for (const group of chunk(toSet, MAX_QUANTITIES_PER_CALL)) settled.push(...(await setGroup(deps.shopify, runId, group, signal)));
  return settled;
}

/** Compares one page of the database with Shopify; returns the drifted items. */
async function compare(deps: ReconcilerDeps, runId: string, page: StockItem[], report: ReconcileReport, options: ReconcileOptions): Promise<Drifted[]> {
  const { shopify, logger } = deps;
  const levels = await readLevels(shopify, page, { signal: options.signal, logMeta: { operation: 'reconcile.read', runId } });
  const drifted: Drifted[] = [];
  for (const item of page) {
    report.checked += 1;
    const held = levels.get(itemKey(item));
    if (typeof held === 'number') {
      if (held === item.availableQuantity) report.inSync += 1;
      else drifted.push({ item, shopify: held });
      continue;
    }
    const unmatched: Unmatched = { ...describe(item), shopify: held === null ? 'unknown_item' : 'not_stocked_at_location' };
    report.unmatched.push(unmatched);
    options.onUnmatched?.(unmatched);
    logger.warn(`variant ${item.variantId} (${item.sku}) cannot be compared: ${unmatched.shopify.replace(/_/g, ' ')} in Shopify`, {
      event: 'inventory.reconcile.unmatched',
      runId,
      variantId: item.variantId,
      inventoryItemId: item.inventoryItemId,
      locationId: item.locationId,
      reason: unmatched.shopify,
    });
  }
  return drifted;
}

function finish(logger: Logger, report: ReconcileReport, started: number): ReconcileReport {
  report.durationMs = Date.now() - started;
  const count = (action: DriftAction) => report.drifts.filter((d) => d.action === action).length;
  logger.info(
    `reconciliation ${report.runId} finished: ${report.checked} checked, ${report.inSync} in sync, ${report.drifts.length} drifted ` +
      `(${count('repaired')} repaired, ${count('reported')} reported, ${count('skipped_changed')} changed meanwhile, ${count('failed')} failed), ` +
      `${report.unmatched.length} not comparable`,
    {
      event: 'inventory.reconcile.finished',
      runId: report.runId,
      dryRun: report.dryRun,
      checked: report.checked,
      inSync: report.inSync,
      repaired: count('repaired'),
      reported: count('reported'),
      skippedChanged: count('skipped_changed'),
      failed: count('failed'),
      unmatched: report.unmatched.length,
      durationMs: report.durationMs,
    },
  );
  return report;
}

export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const { stock, logger } = deps;
  return {
    async run(options = {}) {
      const { dryRun = false, signal } = options;
      const pageSize = Math.min(options.pageSize ?? DEFAULT_RECONCILE_PAGE_SIZE, MAX_QUANTITIES_PER_CALL);
      const runId = randomUUID();
      const started = Date.now();
      const startedAt = new Date(started).toISOString();
      const report: ReconcileReport = { runId, dryRun, checked: 0, inSync: 0, drifts: [], unmatched: [], startedAt, durationMs: 0 };
      logger.info(`reconciliation ${runId} started${dryRun ? ' (dry run)' : ''}`, { event: 'inventory.reconcile.started', runId, dryRun });
      const products = options.productIds ? new Set(options.productIds) : undefined;

      for await (const all of stock.pages({ variantIds: options.variantIds, pageSize })) {
        signal?.throwIfAborted();
        const page = products ? all.filter((item) => products.has(item.productId)) : all;
        if (page.length === 0) continue;
        const drifted = await compare(deps, runId, page, report, options);
        const settled = dryRun ? drifted.map((d) => drift(d, 'reported')) : drifted.length > 0 ? await repair(deps, runId, drifted, signal) : [];
        for (const d of settled) {
          report.drifts.push(d);
          options.onDrift?.(d);
          logger.warn(`variant ${d.variantId} (${d.sku}): Shopify holds ${d.shopify}, the database ${d.database}: ${d.action}`, {
            event: 'inventory.reconcile.drift',
            runId,
            ...d,
          });
        }
      }
      return finish(logger, report, started);
    },
  };
}

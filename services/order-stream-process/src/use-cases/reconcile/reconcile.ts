import { randomUUID } from 'node:crypto';
import type { Logger, ShopifyId } from '@oms/common';
import type { ShopifyClient } from '../../clients/shopify.js';
import type { StockSource } from '../../clients/stock.js';
import { MAX_QUANTITIES_PER_CALL } from '../../domain/coalesce.js';
import type { Drift, DriftAction, ReconcileReport, Unmatched } from '../../domain/reconciliation.js';
import { compare } from './compare.js';
import { drift } from './drift.js';
import { repair } from './repair.js';

/**
 * Reconciliation (docs/spec.md sections 6 and 10): Shopify's available quantity of every stocked variant
 * is read and, where it differs from the database (a missed event, a manual edit in the Shopify
 * admin, a Shopify-side restock a confirm lowered before its webhook arrived), set to the database's
 * figure with a compare-and-set from the figure just read, never blind. Shared by
 * `npm run reconcile` and the processor's RECONCILE_INTERVAL_MS.
 */

/** Items read per Shopify query: each costs about a point, so a page stays far below the bucket. */
export const DEFAULT_RECONCILE_PAGE_SIZE = 100;

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
        const settled = dryRun
          ? drifted.map((d) => drift(d, 'reported'))
          : drifted.length > 0
            ? await repair(deps, runId, drifted, signal)
            : [];
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

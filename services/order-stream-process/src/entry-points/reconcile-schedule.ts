import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@oms/common';
import type { ReconcileReport } from '../domain/reconciliation.js';
import type { Reconciler } from '../use-cases/reconcile/reconcile.js';

export interface ReconcileIntervalDeps {
  reconciler: Reconciler;
  intervalMs: number;
  logger: Logger;
  /**
   * Whether this replica should run now. Every replica has the schedule; only the one consuming
   * partition 0 of the inventory topic acts, so N replicas spend Shopify's budget once, not N times.
   */
  isDesignated: () => boolean;
  onRun?: (result: 'completed' | 'failed' | 'skipped', report?: ReconcileReport) => void;
}

export interface ReconcileInterval {
  stop(): Promise<void>;
}

/** Runs reconciliation every `intervalMs` after the previous run ends, so runs never overlap. */
export function startReconcileInterval(deps: ReconcileIntervalDeps): ReconcileInterval {
  const { reconciler, intervalMs, logger, isDesignated, onRun = () => undefined } = deps;
  const stopping = new AbortController();

  const loop = (async () => {
    for (;;) {
      try {
        await sleep(intervalMs, undefined, { signal: stopping.signal });
      } catch {
        return;
      }
      if (!isDesignated()) {
        onRun('skipped');
        continue;
      }
      try {
        onRun('completed', await reconciler.run({ signal: stopping.signal }));
      } catch (err) {
        if (stopping.signal.aborted) return;
        onRun('failed');
        logger.error(`reconciliation failed: ${err instanceof Error ? err.message : String(err)}`, { event: 'inventory.reconcile.failed' });
      }
    }
  })();

  logger.info(`reconciling Shopify with the database every ${intervalMs} ms`, { event: 'inventory.reconcile.scheduled', intervalMs });
  return {
    async stop() {
      stopping.abort(new Error('reconciliation stopping'));
      await loop;
    },
  };
}

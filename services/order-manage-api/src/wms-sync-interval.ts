import { randomUUID } from 'node:crypto';
import { type Logger, prom } from '@oms/common';
import type { Redis } from 'ioredis';
import type { WmsSync } from './wms-sync.js';

export const WMS_SYNC_LOCK_KEY = 'wms:sync';

/** Extends the lock only while this replica still holds it. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export type WmsSyncRunOutcome = 'completed' | 'failed' | 'locked_elsewhere' | 'lock_unavailable';

export interface WmsSyncIntervalOptions {
  sync: WmsSync;
  redis: Redis;
  logger: Logger;
  intervalMs: number;
  registry: prom.Registry;
  pageSize?: number;
  /** The Redis lock's key; tests pass their own. */
  lockKey?: string;
  /** Names this replica in the lock's value and the logs. */
  replicaId?: string;
}

export interface WmsSyncInterval {
  /** Resolves after the run in progress, if any, has ended. */
  stop(): Promise<void>;
  /** One tick now (for tests): takes the lock or not, runs or not. */
  tick(): Promise<WmsSyncRunOutcome>;
}

function metric<T extends prom.Metric>(registry: prom.Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

interface SyncMetrics {
  runs: prom.Counter<'outcome'>;
  changed: prom.Counter;
  lastSuccess: prom.Gauge;
}

/** The sync's metrics, made once per registry (a second interval on the same registry shares them). */
function syncMetrics(registry: prom.Registry): SyncMetrics {
  const runs = metric(
    registry,
    'wms_sync_runs_total',
    () =>
      new prom.Counter({
        name: 'wms_sync_runs_total',
        help: 'WMS stock sync ticks by outcome: completed, failed, locked_elsewhere (another replica runs it), lock_unavailable (Redis down)',
        labelNames: ['outcome'],
        registers: [registry],
      }),
  );
  const changed = metric(
    registry,
    'wms_sync_variants_changed_total',
    () =>
      new prom.Counter({
        name: 'wms_sync_variants_changed_total',
        help: 'Variants the interval sync brought to the WMS figure (one wms_sync movement each)',
        registers: [registry],
      }),
  );
  const lastSuccess = metric(
    registry,
    'wms_sync_last_success_timestamp_seconds',
    () =>
      new prom.Gauge({
        name: 'wms_sync_last_success_timestamp_seconds',
        help: 'When this replica last completed a WMS stock sync (Unix seconds)',
        registers: [registry],
      }),
  );
  return { runs, changed, lastSuccess };
}

interface Ticking {
  sync: WmsSync;
  redis: Redis;
  logger: Logger;
  intervalMs: number;
  pageSize: number | undefined;
  lockKey: string;
  replicaId: string;
  metrics: SyncMetrics;
}

/** One tick: the lock, then the sync while the lock is renewed; the lock is left to expire. */
async function tickOnce(ticking: Ticking): Promise<WmsSyncRunOutcome> {
  const lockValue = `${ticking.replicaId}:${randomUUID()}`;
  const skipped = await lockOrSkip(ticking, lockValue);
  if (skipped !== null) return skipped;
  const renewal = setInterval(
    () => {
      ticking.redis.eval(RENEW, 1, ticking.lockKey, lockValue, String(ticking.intervalMs)).catch(() => undefined);
    },
    Math.max(50, Math.floor(ticking.intervalMs / 3)),
  );
  renewal.unref();
  try {
    return await runSync(ticking);
  } finally {
    clearInterval(renewal);
  }
}

/** Null when this replica took the lock; otherwise why the tick is skipped (logged and counted). */
async function lockOrSkip({ redis, logger, lockKey, intervalMs, metrics }: Ticking, lockValue: string): Promise<WmsSyncRunOutcome | null> {
  let acquired: string | null;
  try {
    acquired = await redis.set(lockKey, lockValue, 'PX', intervalMs, 'NX');
  } catch (err) {
    logger.warn(`wms sync skipped: cannot take the Redis lock ${lockKey}: ${err instanceof Error ? err.message : String(err)}`, {
      event: 'wms.sync.skipped',
      reason: 'lock_unavailable',
    });
    metrics.runs.inc({ outcome: 'lock_unavailable' });
    return 'lock_unavailable';
  }
  if (acquired !== 'OK') {
    logger.debug(`wms sync skipped: another replica holds ${lockKey}`, { event: 'wms.sync.skipped', reason: 'locked_elsewhere' });
    metrics.runs.inc({ outcome: 'locked_elsewhere' });
    return 'locked_elsewhere';
  }
  return null;
}

async function runSync({ sync, logger, pageSize, replicaId, metrics }: Ticking): Promise<WmsSyncRunOutcome> {
  try {
    logger.info(`wms sync started (replica ${replicaId})`, { event: 'wms.sync.started', replicaId });
    const report = await sync.run({ pageSize });
    metrics.changed.inc(report.changed.length);
    metrics.lastSuccess.set(Date.now() / 1000);
    metrics.runs.inc({ outcome: 'completed' });
    return 'completed';
  } catch (err) {
    logger.error(`wms sync failed: ${err instanceof Error ? err.message : String(err)}`, { event: 'wms.sync.failed', replicaId });
    metrics.runs.inc({ outcome: 'failed' });
    return 'failed';
  }
}

/**
 * WMS_SYNC_INTERVAL_MS: every interval each replica tries `SET wms:sync <id> NX PX <interval>`; the
 * one that gets it runs the sync (renewing the lock while it runs) and leaves the lock to expire,
 * so across all replicas the sync runs at most once per interval and never twice at once. A replica
 * never overlaps itself: the next tick is scheduled when the last one ends. Without Redis no replica
 * can tell it is alone, so none runs (logged and counted); the next tick tries again.
 */
export function startWmsSyncInterval(options: WmsSyncIntervalOptions): WmsSyncInterval {
  const { sync, redis, logger, intervalMs, registry } = options;
  const ticking: Ticking = {
    sync,
    redis,
    logger,
    intervalMs,
    pageSize: options.pageSize,
    lockKey: options.lockKey ?? WMS_SYNC_LOCK_KEY,
    replicaId: options.replicaId ?? randomUUID(),
    metrics: syncMetrics(registry),
  };

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<WmsSyncRunOutcome> | undefined;

  const tick = () => {
    running = tickOnce(ticking);
    return running.finally(() => {
      running = undefined;
    });
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void tick().finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  schedule();
  logger.info(`wms sync every ${intervalMs} ms`, { event: 'wms.sync.scheduled', intervalMs, replicaId: ticking.replicaId });

  return {
    tick,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

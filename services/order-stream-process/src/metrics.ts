import { createMetrics, prom } from '@oms/common';
import type { ShopifyCallOutcome, ShopifyClientMetrics } from './clients/shopify-call.js';
import { SERVICE } from './config.js';
import type { ReconcileReport } from './domain/reconciliation.js';

/**
 * What became of a consumed event: `adjusted` (its delta was applied), `lowered` (Shopify was set down
 * to the database's figure), `set` (an import brought Shopify to the database's figure),
 * `confirmed` (Shopify already at or below it), `superseded` (a newer movement's event confirms),
 * `duplicate` (already handled), `dlq`.
 */
export type EventResult = 'adjusted' | 'lowered' | 'set' | 'confirmed' | 'superseded' | 'duplicate' | 'dlq';
export type DlqReason = 'invalid_event' | 'shopify_failed';

type Registers = prom.Registry[];

/** The Shopify client's attempts, their durations, retries and rate-limit waits. */
function shopifyMetrics(registers: Registers): ShopifyClientMetrics {
  const calls = new prom.Counter({
    name: 'shopify_requests_total',
    help: 'Admin GraphQL attempts (inventoryAdjustQuantities, inventorySetQuantities and level reads) by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });
  const duration = new prom.Histogram({
    name: 'shopify_request_duration_seconds',
    help: 'Duration of one Admin GraphQL attempt',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers,
  });
  const retries = new prom.Counter({
    name: 'shopify_retries_total',
    help: 'Retries of an Admin GraphQL call, by the outcome that caused them',
    labelNames: ['outcome'] as const,
    registers,
  });
  const throttleWait = new prom.Counter({
    name: 'shopify_throttle_wait_seconds_total',
    help: "Time spent waiting for Shopify's cost bucket or a Retry-After",
    registers,
  });
  return {
    observeShopifyCall: (outcome: ShopifyCallOutcome, seconds: number) => {
      calls.inc({ outcome });
      duration.observe({ outcome }, seconds);
    },
    countShopifyRetry: (outcome: ShopifyCallOutcome) => retries.inc({ outcome }),
    addThrottleWait: (seconds: number) => throttleWait.inc(seconds),
  };
}

/** Scheduled reconciliations, the drifts they found and the items they could not compare. */
function reconcileMetrics(registers: Registers) {
  const runs = new prom.Counter({
    name: 'inventory_reconcile_runs_total',
    help: 'Scheduled reconciliations by result: completed, failed, skipped (another replica consumes partition 0)',
    labelNames: ['result'] as const,
    registers,
  });
  const drift = new prom.Counter({
    name: 'inventory_reconcile_drift_total',
    help: "Items whose Shopify quantity differed from the database's, by action: repaired, skipped_changed, failed",
    labelNames: ['action'] as const,
    registers,
  });
  const unmatched = new prom.Counter({
    name: 'inventory_reconcile_unmatched_total',
    help: 'Database items Shopify does not know or does not stock at their location',
    registers,
  });
  return (result: 'completed' | 'failed' | 'skipped', report?: ReconcileReport) => {
    runs.inc({ result });
    for (const d of report?.drifts ?? []) drift.inc({ action: d.action });
    if (report?.unmatched.length) unmatched.inc(report.unmatched.length);
  };
}

export function createStreamMetrics() {
  const base = createMetrics(SERVICE);
  const registers = [base.registry];
  const lag = new prom.Gauge({
    name: 'inventory_consumer_lag',
    help: 'Messages behind the partition high watermark, as of the last batch read',
    labelNames: ['topic', 'partition'] as const,
    registers,
  });
  const events = new prom.Counter({
    name: 'inventory_events_processed_total',
    help: 'Inventory events consumed, by result: adjusted, lowered, set, confirmed, superseded, duplicate, dlq',
    labelNames: ['result'] as const,
    registers,
  });
  const dlq = new prom.Counter({
    name: 'inventory_dlq_messages_total',
    help: 'Messages sent to the dead-letter topic, by reason',
    labelNames: ['reason'] as const,
    registers,
  });
  const staleSets = new prom.Counter({
    name: 'shopify_stale_compare_total',
    help: 'Compare-and-sets Shopify found stale (it moved between the read and the write): read and decided again',
    registers,
  });
  return {
    ...base,
    shopify: shopifyMetrics(registers),
    setLag: (topic: string, partition: number, messages: number) => lag.set({ topic, partition: String(partition) }, messages),
    countEvents: (result: EventResult, n = 1) => events.inc({ result }, n),
    countDlq: (reason: DlqReason, n = 1) => dlq.inc({ reason }, n),
    countStale: (n = 1) => staleSets.inc(n),
    countReconcileRun: reconcileMetrics(registers),
  };
}

export type StreamMetrics = ReturnType<typeof createStreamMetrics>;

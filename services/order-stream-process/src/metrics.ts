import { createMetrics, prom } from '@oms/common';
import type { ShopifyCallOutcome, ShopifyClientMetrics } from './clients/shopify.js';
import { SERVICE } from './config.js';
import type { ReconcileReport } from './reconcile.js';

export type EventResult = 'updated' | 'superseded' | 'already_held' | 'duplicate' | 'dlq';
export type DlqReason = 'invalid_event' | 'shopify_failed';

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
    help: 'Inventory events consumed, by result: updated, superseded (a newer event of the batch was set), already_held, duplicate, dlq',
    labelNames: ['result'] as const,
    registers,
  });
  const shopifyCalls = new prom.Counter({
    name: 'shopify_requests_total',
    help: 'Admin GraphQL attempts (inventorySetQuantities, and reconciliation reads) by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });
  const shopifyDuration = new prom.Histogram({
    name: 'shopify_request_duration_seconds',
    help: 'Duration of one Admin GraphQL attempt',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers,
  });
  const shopifyRetries = new prom.Counter({
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
  const dlq = new prom.Counter({
    name: 'inventory_dlq_messages_total',
    help: 'Messages sent to the dead-letter topic, by reason',
    labelNames: ['reason'] as const,
    registers,
  });

  const reconcileRuns = new prom.Counter({
    name: 'inventory_reconcile_runs_total',
    help: 'Scheduled reconciliations by result: completed, failed, skipped (another replica consumes partition 0)',
    labelNames: ['result'] as const,
    registers,
  });
  const reconcileDrift = new prom.Counter({
    name: 'inventory_reconcile_drift_total',
    help: "Items whose Shopify quantity differed from the database's, by action: repaired, skipped_changed, failed",
    labelNames: ['action'] as const,
    registers,
  });
  const reconcileUnmatched = new prom.Counter({
    name: 'inventory_reconcile_unmatched_total',
    help: 'Database items Shopify does not know or does not stock at their location',
    registers,
  });

  const shopify: ShopifyClientMetrics = {
    observeShopifyCall: (outcome: ShopifyCallOutcome, seconds: number) => {
      shopifyCalls.inc({ outcome });
      shopifyDuration.observe({ outcome }, seconds);
    },
    countShopifyRetry: (outcome: ShopifyCallOutcome) => shopifyRetries.inc({ outcome }),
    addThrottleWait: (seconds: number) => throttleWait.inc(seconds),
  };

  return {
    ...base,
    shopify,
    setLag: (topic: string, partition: number, messages: number) => lag.set({ topic, partition: String(partition) }, messages),
    countEvents: (result: EventResult, n = 1) => events.inc({ result }, n),
    countDlq: (reason: DlqReason, n = 1) => dlq.inc({ reason }, n),
    countReconcileRun: (result: 'completed' | 'failed' | 'skipped', report?: ReconcileReport) => {
      reconcileRuns.inc({ result });
      for (const drift of report?.drifts ?? []) reconcileDrift.inc({ action: drift.action });
      if (report?.unmatched.length) reconcileUnmatched.inc(report.unmatched.length);
    },
  };
}

export type StreamMetrics = ReturnType<typeof createStreamMetrics>;

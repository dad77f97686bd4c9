import { createMetrics, prom } from '@oms/common';

export const SERVICE = 'order-manage-data-api';

type Registers = prom.Registry[];

/** What the commit path and the refused-orders ledger count. */
function orderCounters(registers: Registers) {
  return {
    ordersCommitted: new prom.Counter({
      name: 'orders_committed_total',
      help: 'Orders committed (inventory decremented, events written to the outbox)',
      registers,
    }),
    ordersRejected: new prom.Counter({
      name: 'orders_rejected_total',
      help: 'Order commits refused, by problem code',
      labelNames: ['code'] as const,
      registers,
    }),
    rejectionsRecorded: new prom.Counter({
      name: 'order_rejections_recorded_total',
      help: 'Refusals of identifiable orders written to the order_rejection ledger (a redelivery counts again), by problem code',
      labelNames: ['code'] as const,
      registers,
    }),
  };
}

/** What the outbox relay reports: acknowledged events, failed batches, and how long an event waited. */
function relayMetrics(registers: Registers) {
  return {
    outboxPublished: new prom.Counter({
      name: 'outbox_events_published_total',
      help: 'Outbox events acknowledged by Kafka',
      registers,
    }),
    outboxPublishFailures: new prom.Counter({
      name: 'outbox_publish_failures_total',
      help: 'Outbox relay batches that Kafka did not acknowledge',
      registers,
    }),
    outboxPublishLatency: new prom.Histogram({
      name: 'outbox_publish_latency_seconds',
      help: 'Time from an outbox event being committed to Kafka acknowledging it',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
  };
}

/** The outbox backlog, read from `source` at each scrape once the relay has set one. */
function backlogGauge(registers: Registers, source: () => (() => Promise<number>) | undefined): void {
  new prom.Gauge({
    name: 'outbox_backlog',
    help: 'Outbox events not yet published to Kafka',
    registers,
    async collect() {
      const read = source();
      if (!read) return;
      try {
        this.set(await read());
      } catch {
        // The database is down: the last value stays, and readiness already reports the outage.
      }
    },
  });
}

/** The shared HTTP metrics plus what an operator of the commit path and the outbox watches. */
export function createDataApiMetrics() {
  const base = createMetrics(SERVICE);
  const registers = [base.registry];
  let backlogSource: (() => Promise<number>) | undefined;
  const metrics = {
    ...base,
    ...orderCounters(registers),
    ...relayMetrics(registers),
    setBacklogSource(source: () => Promise<number>) {
      backlogSource = source;
    },
  };
  // Registered last, so /metrics lists the families in the order it always has.
  backlogGauge(registers, () => backlogSource);
  return metrics;
}

export type DataApiMetrics = ReturnType<typeof createDataApiMetrics>;

import { createMetrics, prom } from '@oms/common';
import type { RecordOutcome } from './clients/rejection-recorder.js';
import type { WmsCallOutcome } from './clients/wms.js';
import { SERVICE } from './config.js';

export function createApiMetrics() {
  const base = createMetrics(SERVICE);
  const orders = new prom.Counter({
    name: 'orders_total',
    help: 'Webhook deliveries by outcome: accepted, replayed, or the problem code',
    labelNames: ['outcome'] as const,
    registers: [base.registry],
  });
  const wmsCalls = new prom.Counter({
    name: 'wms_requests_total',
    help: 'HTTP attempts against the WMS inventory endpoint by outcome',
    labelNames: ['outcome'] as const,
    registers: [base.registry],
  });
  const wmsDuration = new prom.Histogram({
    name: 'wms_request_duration_seconds',
    help: 'Duration of one WMS inventory attempt',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [base.registry],
  });
  const rejectionReports = new prom.Counter({
    name: 'order_rejection_reports_total',
    help: "Refusals of identifiable orders reported to the data-api's ledger, by outcome: recorded, failed, dropped",
    labelNames: ['outcome'] as const,
    registers: [base.registry],
  });
  return {
    ...base,
    countRejectionReport: (outcome: RecordOutcome) => rejectionReports.inc({ outcome }),
    countOrder: (outcome: string) => orders.inc({ outcome }),
    observeWmsCall: (outcome: WmsCallOutcome, seconds: number) => {
      wmsCalls.inc({ outcome });
      wmsDuration.observe({ outcome }, seconds);
    },
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

import type { Logger } from '@oms/common';
import type { EachBatchPayload } from 'kafkajs';
import type { ShopifyClient } from '../../clients/shopify.js';
import type { StockSource } from '../../clients/stock.js';
import type { Source } from '../../clients/dlq-writer.js';
import type { StreamMetrics } from '../../metrics.js';
import type { Outcomes } from './outcomes.js';

/** What every step of one batch works with. */
export interface BatchContext {
  payload: Pick<EachBatchPayload, 'heartbeat' | 'isRunning' | 'isStale'>;
  source: Source;
  shopify: ShopifyClient;
  stock: StockSource;
  outcomes: Outcomes;
  logger: Logger;
  metrics: StreamMetrics;
  maxPerCall: number;
  /** Aborted when the processor stops: a call in flight gives up its waits. */
  signal: AbortSignal;
}

/** Whether the batch is still this consumer's to finish (no stop, no rebalance took the partition). */
export function stillOurs(ctx: Pick<BatchContext, 'payload'>): boolean {
  return ctx.payload.isRunning() && !ctx.payload.isStale();
}

/** Runs `work` while heartbeating the group every `intervalMs`, so long Shopify waits keep the partition. */
export async function withHeartbeat<T>(
  ctx: Pick<BatchContext, 'payload' | 'logger'>,
  intervalMs: number,
  work: () => Promise<T>,
): Promise<T> {
  const timer = setInterval(() => {
    ctx.payload
      .heartbeat()
      .catch((err: unknown) =>
        ctx.logger.debug(`heartbeat failed: ${err instanceof Error ? err.message : String(err)}`, { event: 'kafka.heartbeat' }),
      );
  }, intervalMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

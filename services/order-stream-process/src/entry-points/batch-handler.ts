import type { Logger } from '@oms/common';
import type { EachBatchPayload } from 'kafkajs';
import type { DlqWriter } from '../clients/dlq-writer.js';
import type { ShopifyClient } from '../clients/shopify.js';
import type { StockSource } from '../clients/stock.js';
import { MAX_QUANTITIES_PER_CALL } from '../domain/coalesce.js';
import type { StreamMetrics } from '../metrics.js';
import type { BatchContext } from '../use-cases/sync-batch/context.js';
import { createLinger } from '../use-cases/sync-batch/linger.js';
import { createOutcomes } from '../use-cases/sync-batch/outcomes.js';
import { createConfirmMemory, syncBatch } from '../use-cases/sync-batch/sync-batch.js';

export interface BatchHandlerDeps {
  shopify: ShopifyClient;
  /** The database's current figures (order-manage-data-api), for the confirm step. */
  stock: StockSource;
  logger: Logger;
  metrics: StreamMetrics;
  dlq: DlqWriter;
  dlqTopic: string;
  maxQuantitiesPerCall?: number;
  /** How often a long Shopify call (retries, rate-limit waits) heartbeats the group. */
  heartbeatIntervalMs: number;
  /** Aborted when the processor stops: a Shopify call in flight gives up its waits. */
  stopping: AbortSignal;
  /** SHOPIFY_BATCH_LINGER_MS (`use-cases/sync-batch/linger.ts`); 0 (default) is off. */
  lingerMs?: number;
}

/**
 * KafkaJS's eachBatch: a batch that follows its partition's previous one closely lingers first, then
 * is synced to Shopify (`use-cases/sync-batch/sync-batch.ts`), and only then is its last offset
 * resolved, for KafkaJS to commit (at least once): a crash before that replays the batch,
 * harmlessly, since each delta's key is its movement's and the confirm reads again.
 */
export function createBatchHandler(deps: BatchHandlerDeps): (payload: EachBatchPayload) => Promise<void> {
  const { logger, metrics, dlqTopic } = deps;
  const outcomes = createOutcomes({ logger, metrics, dlq: deps.dlq, dlqTopic });
  const memory = createConfirmMemory();
  const linger = createLinger(deps.lingerMs ?? 0, deps.heartbeatIntervalMs);

  return async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const last = batch.messages.at(-1);
    if (!last) return;
    metrics.setLag(batch.topic, batch.partition, Number(batch.offsetLagLow()));
    const ctx: BatchContext = {
      payload,
      source: { topic: batch.topic, partition: batch.partition },
      shopify: deps.shopify,
      stock: deps.stock,
      outcomes,
      logger,
      metrics,
      maxPerCall: deps.maxQuantitiesPerCall ?? MAX_QUANTITIES_PER_CALL,
      signal: deps.stopping,
    };

    if (!(await linger.wait(ctx, batch.partition))) return;
    try {
      if (!(await syncBatch(batch, ctx, memory, deps.heartbeatIntervalMs))) return;
      // KafkaJS (autoCommit) commits the resolved offset once this handler returns.
      payload.resolveOffset(last.offset);
      metrics.setLag(batch.topic, batch.partition, Number(batch.offsetLag()));
    } finally {
      linger.ended(batch.partition);
    }
  };
}

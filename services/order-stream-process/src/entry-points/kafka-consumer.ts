import { createKafkaHealthCheck, type Logger } from '@oms/common';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { createDlqWriter } from '../clients/dlq-writer.js';
import type { ShopifyClient } from '../clients/shopify.js';
import type { StockSource } from '../clients/stock.js';
import type { StreamMetrics } from '../metrics.js';
import { createBatchHandler } from './batch-handler.js';
import { restartConsumer, watchGroup } from './consumer-group.js';

export interface ProcessorDeps {
  kafka: Kafka;
  topic: string;
  dlqTopic: string;
  groupId: string;
  shopify: ShopifyClient;
  /** The database's figures (order-manage-data-api), read by the confirm step. */
  stock: StockSource;
  logger: Logger;
  metrics: StreamMetrics;
  /** A group without committed offsets starts at the oldest event, so none is skipped (default true). */
  fromBeginning?: boolean;
  maxQuantitiesPerCall?: number;
  /** How often a long Shopify call (retries, rate-limit waits) heartbeats the group (default 3000). */
  heartbeatIntervalMs?: number;
  /** SHOPIFY_BATCH_LINGER_MS: how long after a partition's batch ended the next one waits (default 0, off). */
  batchLingerMs?: number;
  sessionTimeoutMs?: number;
  /** Called when the consumer crashed and could not be started again: main exits then. */
  onFatalError?: (error: Error) => void;
  /** How often, and how far apart, a consumer KafkaJS gave up on is started again (default 10 × 5 s). */
  restartAttempts?: number;
  restartDelayMs?: number;
}

export interface InventoryProcessor {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Readiness: the consumer is in its group and a broker answers a metadata request. */
  checkKafka(): Promise<void>;
  /** Whether the group gave this consumer that partition of the topic at its last join. */
  consumes(partition: number): boolean;
}

/** The group's consumer and the DLQ's idempotent producer, with this processor's settings. */
function kafkaClients(deps: ProcessorDeps, heartbeatIntervalMs: number): { consumer: Consumer; producer: Producer } {
  const consumer = deps.kafka.consumer({
    groupId: deps.groupId,
    sessionTimeout: deps.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: Math.min(3_000, heartbeatIntervalMs),
    maxWaitTimeInMs: 1_000,
    allowAutoTopicCreation: false,
  });
  const producer = deps.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  return { consumer, producer };
}

/** The entry point: consumes the inventory topic, each batch synced to Shopify by the batch handler. */
export function createInventoryProcessor(deps: ProcessorDeps): InventoryProcessor {
  const { kafka, topic, dlqTopic, groupId, shopify, logger, metrics } = deps;
  const heartbeatIntervalMs = deps.heartbeatIntervalMs ?? 3_000;
  const { consumer, producer } = kafkaClients(deps, heartbeatIntervalMs);
  const kafkaHealth = createKafkaHealthCheck(kafka);
  const stopping = new AbortController();
  let started = false;
  const dlq = createDlqWriter({ producer, dlqTopic, metrics });
  const handleBatch = createBatchHandler({
    shopify,
    stock: deps.stock,
    logger,
    metrics,
    dlq,
    dlqTopic,
    maxQuantitiesPerCall: deps.maxQuantitiesPerCall,
    heartbeatIntervalMs,
    stopping: stopping.signal,
    lingerMs: deps.batchLingerMs,
  });
  const group = watchGroup(consumer, topic, (error, restart) => {
    logger.error(`consumer crashed${restart ? ', restarting' : ''}: ${error.message}`, { event: 'kafka.consumer.crash', restart });
    if (!restart && !stopping.signal.aborted) void restartConsumer(deps, runConsumer, stopping.signal, error);
  });

  async function runConsumer(): Promise<void> {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: deps.fromBeginning ?? true });
    await consumer.run({ eachBatchAutoResolve: false, autoCommit: true, partitionsConsumedConcurrently: 1, eachBatch: handleBatch });
  }

  return {
    async start() {
      started = true;
      await producer.connect();
      await runConsumer();
      logger.info(`consuming ${topic} as group ${groupId}`, { event: 'kafka.consumer.started', topic, groupId });
    },
    async stop() {
      stopping.abort(new Error('processor stopping'));
      if (started) {
        await consumer.disconnect();
        await producer.disconnect();
      }
      await kafkaHealth.close();
    },
    consumes: (partition) => group.inGroup && group.assigned.includes(partition),
    async checkKafka() {
      if (!group.inGroup) throw new Error('the consumer is not in its group');
      await kafkaHealth.check();
    },
  };
}

import { setTimeout as sleep } from 'node:timers/promises';
import { createKafkaHealthCheck, type Logger } from '@oms/common';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { createBatchHandler } from './batch-handler.js';
import type { ShopifyClient } from './clients/shopify.js';
import type { StockSource } from './clients/stock.js';
import { createDlqWriter } from './dlq-writer.js';
import type { StreamMetrics } from './metrics.js';

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

/** Whether the consumer is in its group, and which partitions of the topic it was given. */
function watchGroup(consumer: Consumer, topic: string, onCrash: (error: Error, restart: boolean) => void) {
  const state = { inGroup: false, assigned: [] as readonly number[] };
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    state.inGroup = true;
    state.assigned = event.payload.memberAssignment[topic] ?? [];
  });
  for (const lost of [consumer.events.STOP, consumer.events.DISCONNECT]) {
    consumer.on(lost, () => {
      state.inGroup = false;
    });
  }
  consumer.on(consumer.events.CRASH, (event) => {
    state.inGroup = false;
    onCrash(event.payload.error, event.payload.restart);
  });
  return state;
}

/**
 * KafkaJS gives up on errors it deems permanent, such as finding no group coordinator while a
 * broker restarts; the broker usually comes back, so the consumer is started again, with a pause,
 * a bounded number of times before the process gives up (and its supervisor restarts it).
 */
async function restartConsumer(deps: ProcessorDeps, run: () => Promise<void>, stopping: AbortSignal, cause: Error): Promise<void> {
  const { logger } = deps;
  const attempts = deps.restartAttempts ?? 10;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await sleep(deps.restartDelayMs ?? 5_000, undefined, { signal: stopping });
      await run();
      logger.info(`consumer started again after a crash (attempt ${attempt})`, { event: 'kafka.consumer.restarted', attempt });
      return;
    } catch (err) {
      if (stopping.aborted) return;
      logger.warn(`consumer could not start again (attempt ${attempt} of ${attempts}): ${(err as Error).message}`, {
        event: 'kafka.consumer.restart_failed',
        attempt,
      });
    }
  }
  deps.onFatalError?.(cause);
}

export function createInventoryProcessor(deps: ProcessorDeps): InventoryProcessor {
  const { kafka, topic, dlqTopic, groupId, shopify, logger, metrics } = deps;
  const heartbeatIntervalMs = deps.heartbeatIntervalMs ?? 3_000;
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: deps.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: Math.min(3_000, heartbeatIntervalMs),
    maxWaitTimeInMs: 1_000,
    allowAutoTopicCreation: false,
  });
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
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

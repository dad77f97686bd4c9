import { randomInt, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { Kafka, logLevel, type IHeaders, type KafkaMessage } from 'kafkajs';
import winston from 'winston';
import { createLogger, kafkaHeaderText } from '@oms/common';
import { createShopifyClient, type ShopifyClient } from '../../services/order-stream-process/src/clients/shopify.js';
import { SERVICE } from '../../services/order-stream-process/src/config.js';
import type { InventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import { createStreamMetrics, type StreamMetrics } from '../../services/order-stream-process/src/metrics.js';
import { createInventoryProcessor, type InventoryProcessor } from '../../services/order-stream-process/src/processor.js';
import { removeShopifyRequests, stubShopify, type ShopifyReply } from '../support/shopify.js';
import { stackEnv } from '../support/stack-env.js';

/**
 * The stream processor's test bench: each test gets its own topics (3 partitions), consumer group
 * and random inventory item ids, so it shares Kafka and WireMock safely with tests running beside it.
 */

export const kafka = new Kafka({
  clientId: 'stream-tests',
  brokers: stackEnv().KAFKA_BROKERS.split(','),
  logLevel: logLevel.NOTHING,
});

export const ACCESS_TOKEN = 'shpat_test_access_token';

export const randomInventoryItemId = () => 46_000_000_000_000 + randomInt(1, 2 ** 40);
export const randomLocationId = () => 70_000_000_000 + randomInt(1, 2 ** 30);
export const randomProductId = () => 8_000_000_000_000 + randomInt(1, 2 ** 40);
export const randomOrderId = () => 6_000_000_000_000 + randomInt(1, 2 ** 40);

export interface TestItem {
  productId: number;
  inventoryItemId: number;
  locationId: number;
}

export function randomItem(): TestItem {
  return { productId: randomProductId(), inventoryItemId: randomInventoryItemId(), locationId: randomLocationId() };
}

/** An event as order-manage-data-api writes it: ids as decimal strings. */
export function makeEvent(item: TestItem, fields: Partial<InventoryEvent> = {}): InventoryEvent {
  return {
    eventId: randomUUID(),
    orderId: String(randomOrderId()),
    productId: String(item.productId),
    sku: `TEST-${item.productId}`,
    inventoryItemId: String(item.inventoryItemId),
    locationId: String(item.locationId),
    quantityOrdered: 1,
    availableAfter: 10,
    inventoryVersion: 2,
    occurredAt: new Date().toISOString(),
    ...fields,
  };
}

export interface LogLine {
  level: string;
  event: string;
  msg: string;
  orderId?: string;
  correlationId?: string;
  [key: string]: unknown;
}

export interface Bench {
  topic: string;
  dlqTopic: string;
  groupId: string;
  logs: LogLine[];
  metrics: StreamMetrics;
  shopify: ShopifyClient;
  readonly processor: InventoryProcessor;
  /** Stops the processor and starts a new one in the same group, as a restarted process would. */
  restart(): Promise<void>;
  /** Produces events keyed by product id with an x-correlation-id header (one per event unless given). */
  produce(events: InventoryEvent[], options?: { partition?: number; correlationId?: string }): Promise<string[]>;
  produceRaw(message: { key: string; value: string; headers?: IHeaders; partition?: number }): Promise<void>;
  /** Messages on this test's DLQ topic so far (read by a consumer of its own). */
  dlq(): Promise<KafkaMessage[]>;
  successLines(): LogLine[];
  close(): Promise<void>;
}

export interface BenchOptions {
  maxAttempts?: number;
  shopifyBaseUrl?: string;
  start?: boolean;
}

export async function createBench(options: BenchOptions = {}): Promise<Bench> {
  const suffix = randomUUID().slice(0, 8);
  const topic = `test-stream-${suffix}`;
  const dlqTopic = `${topic}.dlq`;
  const groupId = `test-stream-${suffix}`;

  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic, numPartitions: 3, replicationFactor: 1 },
      { topic: dlqTopic, numPartitions: 3, replicationFactor: 1 },
    ],
  });

  const logs: LogLine[] = [];
  const logger = createLogger({ service: SERVICE, level: 'debug', secrets: [ACCESS_TOKEN] });
  logger.clear();
  logger.add(
    new winston.transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as LogLine);
          done();
        },
      }),
    }),
  );

  const metrics = createStreamMetrics();
  const env = stackEnv();
  const shopify = createShopifyClient({
    baseUrl: options.shopifyBaseUrl ?? env.SHOPIFY_ADMIN_BASE_URL,
    apiVersion: env.SHOPIFY_API_VERSION,
    accessToken: ACCESS_TOKEN,
    timeoutMs: 3_000,
    maxAttempts: options.maxAttempts ?? 5,
    baseDelayMs: 10,
    maxDelayMs: 50,
    logger,
    metrics: metrics.shopify,
  });
  const build = () =>
    createInventoryProcessor({
      kafka,
      topic,
      dlqTopic,
      groupId,
      shopify,
      logger,
      metrics,
      heartbeatIntervalMs: 500,
    });
  let processor = build();
  if (options.start ?? true) await processor.start();

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();

  const dlqMessages: KafkaMessage[] = [];
  const dlqConsumer = kafka.consumer({ groupId: `${groupId}-dlq-reader`, maxWaitTimeInMs: 200 });
  await dlqConsumer.connect();
  await dlqConsumer.subscribe({ topic: dlqTopic, fromBeginning: true });
  await dlqConsumer.run({
    eachMessage: async ({ message }) => {
      dlqMessages.push(message);
    },
  });

  return {
    topic,
    dlqTopic,
    groupId,
    logs,
    metrics,
    shopify,
    get processor() {
      return processor;
    },
    async restart() {
      await processor.stop();
      processor = build();
      await processor.start();
    },
    async produce(events, produceOptions = {}) {
      const correlationIds = events.map(() => produceOptions.correlationId ?? `test-${randomUUID()}`);
      await producer.send({
        topic,
        messages: events.map((event, i) => ({
          key: String(event.productId),
          value: JSON.stringify(event),
          headers: { 'x-correlation-id': correlationIds[i]! },
          ...(produceOptions.partition === undefined ? {} : { partition: produceOptions.partition }),
        })),
      });
      return correlationIds;
    },
    async produceRaw(message) {
      await producer.send({ topic, messages: [message] });
    },
    async dlq() {
      return [...dlqMessages];
    },
    successLines() {
      return logs.filter((l) => l.event === 'shopify.inventory.updated' && l.msg.startsWith('SUCCESS'));
    },
    async close() {
      await processor.stop();
      await dlqConsumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic, dlqTopic] }).catch(() => undefined);
      await admin.deleteGroups([groupId, `${groupId}-dlq-reader`]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

/** Polls until `check` stops throwing (its last error is thrown if it never does). */
/**
 * A bench whose Shopify answers `replies` for these items; the test's `after` closes the bench and
 * removes its stubs and the requests WireMock logged for the items.
 */
export async function benchWithShopify(
  t: { after: (fn: () => Promise<void>) => void },
  items: TestItem[],
  replies: ShopifyReply | ShopifyReply[],
  options: BenchOptions = {},
): Promise<{ ids: number[]; bench: Bench }> {
  const ids = items.map((item) => item.inventoryItemId);
  const stub = await stubShopify(ids, replies);
  const bench = await createBench(options);
  t.after(async () => {
    await bench.close();
    await stub.remove();
    await removeShopifyRequests(ids);
  });
  return { ids, bench };
}

/** The suites' one polling helper, re-exported for the stream and operations tests that import it from here. */
export { eventually } from '../support/eventually.js';

export const header = (message: KafkaMessage, name: string): string | undefined => kafkaHeaderText(message.headers?.[name]);

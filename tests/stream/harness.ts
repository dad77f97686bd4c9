import { randomInt, randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Kafka, logLevel, type IHeaders, type KafkaMessage } from 'kafkajs';
import winston from 'winston';
import { createLogger, kafkaHeaderText, type Logger } from '@oms/common';
import { createShopifyClient, type ShopifyClient } from '../../services/order-stream-process/src/clients/shopify.js';
import { createStockSource, type StockSource } from '../../services/order-stream-process/src/clients/stock.js';
import { SERVICE } from '../../services/order-stream-process/src/config.js';
import type { InventoryEvent, MovementReason } from '../../services/order-stream-process/src/domain/event.js';
import { createStreamMetrics, type StreamMetrics } from '../../services/order-stream-process/src/metrics.js';
import { createDlqWriter } from '../../services/order-stream-process/src/clients/dlq-writer.js';
import { MAX_QUANTITIES_PER_CALL } from '../../services/order-stream-process/src/domain/coalesce.js';
import type { BatchContext } from '../../services/order-stream-process/src/use-cases/sync-batch/context.js';
import type { ConfirmMemory } from '../../services/order-stream-process/src/use-cases/sync-batch/confirm.js';
import { createConfirmMemory, syncBatch } from '../../services/order-stream-process/src/use-cases/sync-batch/sync-batch.js';
import { createOutcomes } from '../../services/order-stream-process/src/use-cases/sync-batch/outcomes.js';
import { createInventoryProcessor, type InventoryProcessor } from '../../services/order-stream-process/src/entry-points/kafka-consumer.js';
import { createTestProduct, dbPool, randomOrderId, type TestProduct } from '../support/db.js';
import { removeShopifyRequests } from '../support/shopify.js';
import { setShopifyLevels } from '../support/shopify-stand-in.js';
import { stackEnv } from '../support/stack-env.js';

/**
 * The stream processor's test bench, against the real Kafka, the Shopify stand-in (WireMock's
 * extension, which keeps levels, compare-and-set and idempotency keys) and order-manage-data-api
 * (the confirm step reads the database's figures there). Each test gets its own topics (3
 * partitions) and consumer group, and its own variants (random ids): a row in the database whose
 * movements the test records itself, as the data-api would, and a level at the stand-in. So it
 * shares Kafka, WireMock and the database safely with tests running beside it.
 */

export const kafka = new Kafka({
  clientId: 'stream-tests',
  brokers: stackEnv().KAFKA_BROKERS.split(','),
  logLevel: logLevel.NOTHING,
});

export const ACCESS_TOKEN = 'shpat_test_access_token';

/** A Shopify location id of the test's own: one warehouse for several variants. */
export const randomLocationId = () => 70_000_000_000 + randomInt(1, 2 ** 30);

export type TestVariant = TestProduct;

export interface VariantOptions {
  /** The database's figure, from an opening `import` movement (none at 0). */
  database: number;
  /** Shopify's level at the stand-in (default the database's figure: an in-sync store); 'none' for no level. */
  shopify?: number | 'none';
  /** The warehouse's Shopify location (default one of the variant's own). */
  locationId?: number;
}

/**
 * A variant of the test's own: its row in the database and its level at the stand-in. The test's
 * `after` forgets the Shopify calls WireMock logged for it.
 */
export async function createVariant(t: { after: (fn: () => Promise<void>) => void }, options: VariantOptions): Promise<TestVariant> {
  const variant = await createTestProduct({ availableQuantity: options.database, atShopify: false, locationId: options.locationId });
  const shopify = options.shopify ?? options.database;
  if (shopify !== 'none')
    await setShopifyLevels([{ inventoryItemId: variant.inventoryItemId, locationId: variant.locationId, available: shopify }]);
  t.after(() => removeShopifyRequests([variant.inventoryItemId]));
  return variant;
}

export interface MovementInput {
  delta: number;
  reason: MovementReason;
  /** Default: true for order, cancel and return (Shopify made them), false otherwise. */
  shopifyKnows?: boolean;
  orderId?: string | null;
}

const ORDER_REASONS = new Set<MovementReason>(['order', 'cancel', 'return']);

/**
 * Records a movement as order-manage-data-api does (the ledger's trigger moves the stock and the
 * version) and returns the event it would publish for it (docs/spec.md section 5).
 */
export async function recordMovement(variant: TestVariant, input: MovementInput): Promise<InventoryEvent> {
  const forOrder = ORDER_REASONS.has(input.reason);
  const orderId = input.orderId !== undefined ? input.orderId : forOrder ? String(randomOrderId()) : null;
  const reference = orderId ?? `test-${randomUUID()}`;
  const { rows } = await dbPool().query<{ id: string; available_after: number; version_after: number; created_at: Date }>(
    `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key)
     VALUES ($1, $2, $3, $4, $5) RETURNING id::text, available_after, version_after, created_at`,
    [String(variant.variantId), input.delta, input.reason, reference, `test-${randomUUID()}`],
  );
  const row = rows[0]!;
  return {
    eventId: randomUUID(),
    movementId: row.id,
    reason: input.reason,
    reference,
    orderId,
    variantId: String(variant.variantId),
    productId: String(variant.productId),
    sku: variant.sku,
    inventoryItemId: String(variant.inventoryItemId),
    locationId: String(variant.locationId),
    delta: input.delta,
    availableAfter: row.available_after,
    inventoryVersion: row.version_after,
    occurredAt: row.created_at.toISOString(),
    shopifyKnows: input.shopifyKnows ?? forOrder,
  };
}

/** An event for a variant without a movement behind it (for messages the processor must refuse or set aside). */
export function eventFor(variant: TestVariant, fields: Partial<InventoryEvent> = {}): InventoryEvent {
  return {
    eventId: randomUUID(),
    movementId: String(randomInt(1, 2 ** 40)),
    reason: 'order',
    reference: 'test',
    orderId: String(randomOrderId()),
    variantId: String(variant.variantId),
    productId: String(variant.productId),
    sku: variant.sku,
    inventoryItemId: String(variant.inventoryItemId),
    locationId: String(variant.locationId),
    delta: -1,
    availableAfter: 0,
    inventoryVersion: 1,
    occurredAt: new Date().toISOString(),
    shopifyKnows: true,
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
  /** The processor's logger, whose lines `logs` collects. */
  logger: Logger;
  metrics: StreamMetrics;
  shopify: ShopifyClient;
  stock: StockSource;
  readonly processor: InventoryProcessor;
  /** Another processor of the bench's group with its settings, not started: a second replica. */
  newProcessor(): InventoryProcessor;
  /** Stops the processor and starts a new one in the same group, as a restarted process would. */
  restart(): Promise<void>;
  /** Produces events keyed by variant id with an x-correlation-id header (one per event unless given). */
  produce(events: InventoryEvent[], options?: { partition?: number; correlationId?: string }): Promise<string[]>;
  produceRaw(message: { key: string; value: string; headers?: IHeaders; partition?: number }): Promise<void>;
  /** Messages on this test's DLQ topic so far (read by a consumer of its own). */
  dlq(): Promise<KafkaMessage[]>;
  successLines(): LogLine[];
  /** The SUCCESS line of this event, once it is there. */
  success(eventId: string): LogLine | undefined;
  /** The group's committed offset for a partition of the topic, read by a Kafka admin (undefined or '-1': none). */
  committedOffset(partition: number): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface BenchOptions {
  maxAttempts?: number;
  shopifyBaseUrl?: string;
  /** Where the confirm step reads the database's figures (default the stack's order-manage-data-api). */
  dataApiUrl?: string;
  /** The processor's batch linger (SHOPIFY_BATCH_LINGER_MS; default off). */
  lingerMs?: number;
  start?: boolean;
}

function captureLogs(logs: LogLine[]) {
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
  return logger;
}

async function createTopics(topics: string[]) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })) });
  return admin;
}

/** A consumer of the test's DLQ topic, from its beginning. */
async function readDlq(groupId: string, dlqTopic: string) {
  const messages: KafkaMessage[] = [];
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic: dlqTopic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      messages.push(message);
    },
  });
  return { messages, consumer };
}

export async function createBench(options: BenchOptions = {}): Promise<Bench> {
  const suffix = randomUUID().slice(0, 8);
  const topic = `test-stream-${suffix}`;
  const dlqTopic = `${topic}.dlq`;
  const groupId = `test-stream-${suffix}`;
  const admin = await createTopics([topic, dlqTopic]);
  const logs: LogLine[] = [];
  const logger = captureLogs(logs);
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
  const stock = createStockSource({ baseUrl: options.dataApiUrl ?? env.DATA_API_URL, token: env.INTERNAL_API_TOKEN, timeoutMs: 3_000 });
  const build = () =>
    createInventoryProcessor({
      kafka,
      topic,
      dlqTopic,
      groupId,
      shopify,
      stock,
      logger,
      metrics,
      heartbeatIntervalMs: 500,
      batchLingerMs: options.lingerMs,
    });
  let processor = build();
  if (options.start ?? true) await processor.start();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const dlq = await readDlq(`${groupId}-dlq-reader`, dlqTopic);
  const successLines = () => logs.filter((l) => l.event === 'shopify.inventory.updated' && l.msg.startsWith('SUCCESS'));

  return {
    topic,
    dlqTopic,
    groupId,
    logs,
    logger,
    metrics,
    shopify,
    stock,
    get processor() {
      return processor;
    },
    newProcessor: build,
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
          key: event.variantId,
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
      return [...dlq.messages];
    },
    successLines,
    success: (eventId) => successLines().find((l) => l.eventId === eventId),
    async committedOffset(partition) {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return entry?.partitions.find((p) => p.partition === partition)?.offset;
    },
    async close() {
      await processor.stop();
      await dlq.consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic, dlqTopic] }).catch(() => undefined);
      await admin.deleteGroups([groupId, `${groupId}-dlq-reader`]).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

/** A bench the test's `after` closes. */
export async function benchFor(t: { after: (fn: () => Promise<void>) => void }, options: BenchOptions = {}): Promise<Bench> {
  const bench = await createBench(options);
  t.after(() => bench.close());
  return bench;
}

/** The suites' one polling helper, re-exported for the stream and operations tests that import it from here. */
export { eventually, waitFor } from '../support/eventually.js';

export const header = (message: KafkaMessage, name: string): string | undefined => kafkaHeaderText(message.headers?.[name]);

/** A URL nothing listens on: a data-api or a Shopify that does not answer. */
export async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** A Kafka message carrying the event, as the consumer hands it to the batch handler. */
export function messageOf(event: InventoryEvent, offset: number | string, correlationId = `test-${event.eventId}`): KafkaMessage {
  return {
    offset: String(offset),
    key: Buffer.from(event.variantId),
    value: Buffer.from(JSON.stringify(event)),
    headers: { 'x-correlation-id': correlationId },
    timestamp: '0',
    attributes: 0,
  } as KafkaMessage;
}

/**
 * A batch's context on partition 0 as the batch handler builds it (the bench's Shopify client,
 * data-api, logs and metrics, a DLQ writer to its DLQ topic), with KafkaJS's answers in the test's hands.
 */
export async function batchContext(
  t: { after: (fn: () => Promise<void>) => void },
  bench: Bench,
  options: { isRunning?: () => boolean; maxPerCall?: number; signal?: AbortSignal } = {},
): Promise<BatchContext> {
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  t.after(() => producer.disconnect());
  const dlq = createDlqWriter({ producer, dlqTopic: bench.dlqTopic, metrics: bench.metrics });
  return {
    payload: { heartbeat: async () => undefined, isRunning: options.isRunning ?? (() => true), isStale: () => false },
    source: { topic: bench.topic, partition: 0 },
    shopify: bench.shopify,
    stock: bench.stock,
    outcomes: createOutcomes({ logger: bench.logger, metrics: bench.metrics, dlq, dlqTopic: bench.dlqTopic }),
    logger: bench.logger,
    metrics: bench.metrics,
    maxPerCall: options.maxPerCall ?? MAX_QUANTITIES_PER_CALL,
    signal: options.signal ?? new AbortController().signal,
  };
}

/** Syncs the events as one batch of partition 0, offsets from 0, as the batch handler does; true when its offsets may be committed. */
export function syncAsOneBatch(bench: Bench, ctx: BatchContext, events: InventoryEvent[], memory: ConfirmMemory = createConfirmMemory()) {
  return syncBatch({ topic: bench.topic, partition: 0, messages: events.map((e, i) => messageOf(e, i)) }, ctx, memory, 500);
}

/** A sample of one of the bench's metrics with this label (every sample also carries the service's default label). */
export async function metricSample(bench: Bench, name: string, label = ''): Promise<number | undefined> {
  const line = (await bench.metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

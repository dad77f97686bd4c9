import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import pg from 'pg';
import winston from 'winston';
import { createKafkaHealthCheck, createLogger, type Logger } from '@oms/common';
import { createApp, createDataApiMetrics, type DataApiMetrics } from '@oms/order-manage-data-api';
import { createKafka } from '../../services/order-manage-data-api/src/clients/kafka.js';
import { createPool } from '../../services/order-manage-data-api/src/db/pool.js';
import { OutboxRelay } from '../../services/order-manage-data-api/src/outbox/relay.js';
import type { CommitRequest } from '../../services/order-manage-data-api/src/db/orders.js';
import { stackEnv } from '../support/stack-env.js';
import { waitFor } from '../support/eventually.js';
import type { TestProduct } from '../support/db.js';
import { randomOrderId, readInventory, readMovements as readMovementRows, type MovementRow } from '../support/db.js';

export const TOKEN = 'data-api-test-token';

export interface LogLine {
  level: string;
  event: string;
  orderId?: string;
  correlationId?: string;
  msg: string;
  [key: string]: unknown;
}

/** A logger that keeps its JSON lines in memory, so tests assert what operators would read. */
export function capturingLogger(service = 'order-manage-data-api'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({ service, level: 'info' });
  logger.clear();
  logger.add(
    new winston.transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(text) as LogLine);
          done();
        },
      }),
    }),
  );
  return { logger, lines };
}

export interface DataApiUnderTest {
  url: string;
  pool: pg.Pool;
  metrics: DataApiMetrics;
  logs: LogLine[];
  logger: Logger;
  close(): Promise<void>;
}

/** The data-api built in-process on a free port, against the stack's PostgreSQL and Kafka. */
export async function startDataApi(options: {
  topic: string;
  brokers?: string[];
  applicationName?: string;
  kafkaGatesReadiness?: boolean;
  databaseUrl?: string;
}): Promise<DataApiUnderTest> {
  const env = stackEnv();
  const { logger, lines } = capturingLogger();
  const metrics = createDataApiMetrics();
  const pool = createPool({
    databaseUrl: options.databaseUrl ?? env.DATABASE_URL,
    max: 25,
    logger,
    applicationName: options.applicationName,
  });
  const kafka = createKafka({ brokers: options.brokers ?? env.KAFKA_BROKERS.split(','), logger });
  const kafkaHealth = createKafkaHealthCheck(kafka);
  const app = createApp({
    pool,
    logger,
    metrics,
    internalApiToken: TOKEN,
    inventoryTopic: options.topic,
    kafkaCheck: kafkaHealth.check,
    kafkaGatesReadiness: options.kafkaGatesReadiness,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pool,
    metrics,
    logs: lines,
    logger,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await kafkaHealth.close();
      await pool.end();
    },
  };
}

/** A relay as main.ts runs it, for one topic, against the given brokers. */
export function startRelay(options: {
  topic: string;
  brokers?: string[];
  logger?: Logger;
  metrics?: DataApiMetrics;
  pollIntervalMs?: number;
  lingerMs?: number;
  applicationName?: string;
}) {
  const env = stackEnv();
  const logger = options.logger ?? capturingLogger().logger;
  const pool = createPool({ databaseUrl: env.DATABASE_URL, max: 3, logger, applicationName: options.applicationName });
  const relay = new OutboxRelay({
    pool,
    databaseUrl: env.DATABASE_URL,
    kafka: createKafka({ brokers: options.brokers ?? env.KAFKA_BROKERS.split(','), logger }),
    topics: [options.topic],
    logger,
    metrics: options.metrics,
    pollIntervalMs: options.pollIntervalMs ?? 500,
    lingerMs: options.lingerMs,
    maxBackoffMs: 1_000,
    sendTimeoutMs: 5_000,
    listenerApplicationName: options.applicationName,
  });
  relay.start();
  return {
    relay,
    async stop() {
      await relay.stop();
      await pool.end();
    },
  };
}

export interface LineSpec {
  product: TestProduct;
  quantity: number;
  /** Default a random id no other test picks (Shopify's line item ids are unique across orders). */
  lineItemId?: string;
}

/** A line that holds no stock (a tip, a custom item, a gift card): no variant to reserve from. */
export interface NonStockLineSpec {
  title: string;
  quantity: number;
  price: string;
  sku?: string | null;
  productId?: string | null;
  lineItemId?: string;
}

const LINE_ITEM_ID_BASE = 17_000_000_000_000;

/** A random Shopify-like line item id no other test will pick. */
export function randomLineItemId(): string {
  return String(LINE_ITEM_ID_BASE + randomInt(1, 2 ** 40));
}

/**
 * The internal commit request as order-manage-api sends it, ids as decimal strings: every line of
 * the order, those of a test variant with its variantId (they reserve), the others without.
 */
export function commitBody(
  lines: LineSpec[],
  overrides: { orderId?: number; webhookId?: string; locationId?: string | null; nonStockLines?: NonStockLineSpec[] } = {},
) {
  const orderId = overrides.orderId ?? randomOrderId();
  const nonStock = overrides.nonStockLines ?? [];
  const total =
    lines.reduce((sum, l) => sum + Math.round(Number(l.product.price) * 100) * l.quantity, 0) +
    nonStock.reduce((sum, l) => sum + Math.round(Number(l.price) * 100) * l.quantity, 0);
  return {
    order: {
      orderId: String(orderId),
      orderNumber: 1000 + (orderId % 100_000),
      name: `#${orderId}`,
      customerId: '207119551',
      currency: 'USD',
      totalPrice: (total / 100).toFixed(2),
      financialStatus: 'paid',
      createdAt: '2026-11-24T08:00:00Z',
      webhookId: overrides.webhookId ?? randomUUID(),
      eventId: randomUUID(),
      locationId: overrides.locationId ?? null,
    },
    lines: [
      ...lines.map((l) => ({
        lineItemId: l.lineItemId ?? randomLineItemId(),
        productId: String(l.product.productId) as string | null,
        variantId: String(l.product.variantId) as string | null,
        sku: l.product.sku as string | null,
        title: l.product.title,
        quantity: l.quantity,
        price: l.product.price,
      })),
      ...nonStock.map((l) => ({
        lineItemId: l.lineItemId ?? randomLineItemId(),
        productId: l.productId ?? null,
        variantId: null,
        sku: l.sku ?? null,
        title: l.title,
        quantity: l.quantity,
        price: l.price,
      })),
    ],
  };
}

export async function call(
  api: { url: string },
  method: string,
  path: string,
  options: { body?: unknown; token?: string | null; correlationId?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.correlationId) headers['x-correlation-id'] = options.correlationId;
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

/** Polls `check` until it returns true; fails the test with `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  await waitFor(what, check, timeoutMs, 100);
}

/** A commit body as commitOrder takes it once the route has validated it (a null sku becomes ""). */
export function commitRequest(body: ReturnType<typeof commitBody>, topic: string, correlationId: string = randomUUID()): CommitRequest {
  return {
    order: body.order,
    lines: body.lines.map((l) => ({ ...l, sku: l.sku ?? '' })),
    correlationId,
    topic,
  };
}

/**
 * A variant's ledger, oldest first. Sorted here by the numeric id: support/db.ts's query orders by
 * its `id::text` output column, which puts movement 100 before movement 95.
 */
export async function readMovements(variantId: number | string): Promise<MovementRow[]> {
  const rows = await readMovementRows(variantId);
  return rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0));
}

/**
 * The ledger's rule for each variant, read back from the database: its stock is the sum of its
 * movements' deltas and its version their count; each movement's `available_after` is the running sum.
 */
export async function assertLedgerHolds(variantIds: Array<number | string>): Promise<void> {
  for (const variantId of variantIds) {
    const [row, movements] = await Promise.all([readInventory(variantId), readMovements(variantId)]);
    assert.ok(row, `variant ${variantId} exists`);
    const sum = movements.reduce((total, m) => total + m.delta, 0);
    assert.equal(row.availableQuantity, sum, `stock of variant ${variantId} is the sum of its movements`);
    assert.equal(row.version, movements.length, `version of variant ${variantId} is its movement count`);
    let running = 0;
    movements.forEach((m, i) => {
      running += m.delta;
      assert.deepEqual([m.availableAfter, m.versionAfter], [running, i + 1], `movement ${m.id} of variant ${variantId}`);
    });
  }
}

import { randomUUID } from 'node:crypto';
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
import { stackEnv } from '../support/stack-env.js';
import { waitFor } from '../support/eventually.js';
import type { TestProduct } from '../support/db.js';
import { randomOrderId } from '../support/db.js';

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
}

/** The internal commit request as order-manage-api sends it: ids as decimal strings. */
export function commitBody(lines: LineSpec[], overrides: { orderId?: number; webhookId?: string } = {}) {
  const orderId = overrides.orderId ?? randomOrderId();
  const total = lines.reduce((sum, l) => sum + Math.round(Number(l.product.price) * 100) * l.quantity, 0);
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
    },
    lines: lines.map((l) => ({
      productId: String(l.product.productId),
      sku: l.product.sku,
      title: l.product.title,
      quantity: l.quantity,
      price: l.product.price,
    })),
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

import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { createLogger, type Logger } from '@oms/common';
import { createApp as createDataApiApp, createDataApiMetrics } from '../../services/order-manage-data-api/src/app.js';
import { createPool } from '../../services/order-manage-data-api/src/db/pool.js';
import { createApp } from '../../services/order-manage-api/src/app.js';
import { createDataApiClient } from '../../services/order-manage-api/src/clients/data-api.js';
import { createRedis } from '../../services/order-manage-api/src/clients/redis.js';
import { createRejectionRecorder } from '../../services/order-manage-api/src/clients/rejection-recorder.js';
import { createRestockClient } from '../../services/order-manage-api/src/clients/restocks.js';
import { createWmsHold } from '../../services/order-manage-api/src/clients/wms-hold.js';
import { createWmsClient } from '../../services/order-manage-api/src/clients/wms.js';
import type { RefusalStatus } from '../../services/order-manage-api/src/config.js';
import { createApiMetrics } from '../../services/order-manage-api/src/metrics.js';
import { shopifyHeaders } from '../support/sign.js';
import { stackEnv } from '../support/stack-env.js';

/**
 * Builds order-manage-api in-process against the real Redis and WireMock and a real
 * order-manage-data-api (also in-process, on the real PostgreSQL). Each harness has its own
 * WMS hold key unless told otherwise, so a hold one test sets cannot refuse another test's orders.
 */

export const WEBHOOK_SECRET = 'test-webhook-secret';
const INTERNAL_TOKEN = 'test-internal-token';
const WMS_API_KEY = 'test-wms-key';

export type LogLine = Record<string, unknown> & { level: string; msg: string; event?: string; orderId?: unknown; code?: string };

function captureLogger(service: string): { logger: Logger; lines: LogLine[] } {
  const logger = createLogger({ service, level: 'debug' });
  const lines: LogLine[] = [];
  for (const transport of logger.transports) transport.silent = !process.env.SHOW_SERVICE_LOGS;
  logger.on('data', (info: LogLine) => lines.push({ ...info }));
  return { logger, lines };
}

async function listen(app: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/** A port nothing listens on. */
export async function closedPort(): Promise<number> {
  const { server } = await listen(() => undefined);
  const { port } = server.address() as AddressInfo;
  await close(server);
  return port;
}

export interface DataApiHandle {
  url: string;
  lines: LogLine[];
  stop(): Promise<void>;
}

export async function startDataApi(): Promise<DataApiHandle> {
  const { logger, lines } = captureLogger('order-manage-data-api');
  const pool = createPool({ databaseUrl: stackEnv().DATABASE_URL, max: 10, logger });
  const app = createDataApiApp({
    pool,
    logger,
    metrics: createDataApiMetrics(),
    internalApiToken: INTERNAL_TOKEN,
    inventoryTopic: 'inventory-updates',
  });
  const { server, url } = await listen(app);
  return {
    url,
    lines,
    async stop() {
      await close(server);
      await pool.end();
    },
  };
}

export interface IntakeOptions {
  dataApiUrl: string;
  wmsTimeoutMs?: number;
  holdTtlSeconds?: number;
  holdKey?: string;
  redisUrl?: string;
  dataApiTimeoutMs?: number;
  wmsBaseUrl?: string;
  deadlineMs?: number;
  /** SHOPIFY_WEBHOOK_SECRET as the config reads it: one secret, or two during a rotation. WEBHOOK_SECRET unless told. */
  webhookSecrets?: string[];
  /** SHOPIFY_SHOP_DOMAIN; unset, any shop's delivery is taken. */
  shopDomain?: string;
  /** WEBHOOK_REFUSAL_STATUS; `4xx` unless told. */
  refusalStatus?: RefusalStatus;
  /** Records refusals in the data-api's refused-orders ledger, as the running api does. */
  ledger?: boolean;
}

export interface IntakeHandle {
  url: string;
  holdKey: string;
  lines: LogLine[];
  /**
   * Signs `body` (or raw text) as Shopify would, with the first of its secrets, and posts it to
   * `path` (orders/create's unless told; pass the topic in `headers` for another path).
   */
  post(
    body: unknown,
    headers?: Partial<Record<string, string>>,
    path?: string,
  ): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }>;
  /** Waits for the ledger reports in flight (with `ledger`). */
  drainLedger(): Promise<void>;
  stop(): Promise<void>;
}

export async function startIntake(options: IntakeOptions): Promise<IntakeHandle> {
  const { logger, lines } = captureLogger('order-manage-api');
  const holdKey = options.holdKey ?? `test:wms:hold:${randomUUID()}`;
  const redis = createRedis(options.redisUrl ?? stackEnv().REDIS_URL, logger);
  const metrics = createApiMetrics();
  const webhookSecrets = options.webhookSecrets ?? [WEBHOOK_SECRET];
  const rejections = options.ledger
    ? createRejectionRecorder({
        baseUrl: options.dataApiUrl,
        token: INTERNAL_TOKEN,
        timeoutMs: 2000,
        logger,
        onOutcome: metrics.countRejectionReport,
      })
    : undefined;
  const app = createApp({
    logger,
    metrics,
    redis,
    webhookSecret: webhookSecrets,
    shopDomain: options.shopDomain,
    refusalStatus: options.refusalStatus,
    rejections,
    warehouseLocationId: stackEnv().SHOPIFY_LOCATION_ID,
    deadlineMs: options.deadlineMs,
    dataApi: createDataApiClient({ baseUrl: options.dataApiUrl, token: INTERNAL_TOKEN, timeoutMs: options.dataApiTimeoutMs ?? 4000 }),
    restocks: createRestockClient({ baseUrl: options.dataApiUrl, token: INTERNAL_TOKEN, timeoutMs: options.dataApiTimeoutMs ?? 4000 }),
    wms: createWmsClient({
      baseUrl: options.wmsBaseUrl ?? stackEnv().WMS_BASE_URL,
      apiKey: WMS_API_KEY,
      timeoutMs: options.wmsTimeoutMs ?? 2000,
      onCall: metrics.observeWmsCall,
    }),
    wmsHold: createWmsHold({ redis, logger, ttlSeconds: options.holdTtlSeconds ?? 60, key: holdKey }),
  });
  if (!options.redisUrl) {
    await new Promise<void>((resolve, reject) => {
      if (redis.status === 'ready') return resolve();
      redis.once('ready', resolve);
      redis.once('error', reject);
    });
  }
  const { server, url } = await listen(app);
  return {
    url,
    holdKey,
    lines,
    async post(body, headers = {}, path = '/api/shopify/webhooks/orders') {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      const response = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: shopifyHeaders(raw, webhookSecrets[0]!, headers),
        body: raw,
        signal: AbortSignal.timeout(20_000),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    async drainLedger() {
      await rejections?.drain();
    },
    async stop() {
      await close(server);
      await rejections?.drain();
      if (!options.redisUrl) await redis.del(holdKey).catch(() => undefined);
      redis.disconnect();
    },
  };
}

export const WMS_KEY_HEADER = `Bearer ${WMS_API_KEY}`;

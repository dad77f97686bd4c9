import { correlationMiddleware, healthRouter, type Logger, problemHandler, sendProblem, serviceApp } from '@oms/common';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { DataApiClient } from './clients/data-api.js';
import type { WmsHold } from './clients/wms-hold.js';
import type { RejectionRecorder } from './clients/rejection-recorder.js';
import type { RestockClient } from './clients/restocks.js';
import type { WmsClient } from './clients/wms.js';
import { DEFAULT_WEBHOOK_DEADLINE_MS, type RefusalStatus } from './config.js';
import type { VariantCache } from './domain/variant-cache.js';
import { type ApiMetrics, createApiMetrics } from './metrics.js';
import { webhookSource } from './routes/delivery.js';
import { restockWebhookRouter } from './routes/restock-webhooks.js';
import { webhookRouter } from './routes/webhook.js';
import { createReceiveOrder } from './use-cases/receive-order.js';
import { createRestockOrder } from './use-cases/restock-order.js';

export interface AppDeps {
  logger: Logger;
  dataApi: DataApiClient;
  wms: WmsClient;
  wmsHold: WmsHold;
  /** Only for readiness; the hold itself goes through `wmsHold`. */
  redis: Redis;
  /** SHOPIFY_WEBHOOK_SECRET: one secret, or two while one is being rotated (a delivery signed with either is authentic). */
  webhookSecret: string | readonly string[];
  /** SHOPIFY_SHOP_DOMAIN: when set, a signed delivery from any other shop is 401 UNKNOWN_SHOP on every webhook path. */
  shopDomain?: string;
  /** WEBHOOK_REFUSAL_STATUS (docs/spec.md section 2.1); `4xx` unless told. */
  refusalStatus?: RefusalStatus;
  /** SHOPIFY_LOCATION_ID: the warehouse's Shopify location. */
  warehouseLocationId: string;
  /** How lines resolved, shared by the api's orders; one with the defaults when absent. */
  variantCache?: VariantCache;
  /** WEBHOOK_DEADLINE_MS: every webhook answer leaves within this many ms of the request's arrival. */
  deadlineMs?: number;
  metrics?: ApiMetrics;
  /** Where refusals of identifiable orders are reported (docs/spec.md section 10). */
  rejections?: RejectionRecorder;
  /** Cancellations and refunds (docs/spec.md section 2.2); absent (an app built for order intake alone), their paths are not served. */
  restocks?: RestockClient;
  state?: { shuttingDown: boolean };
}

/**
 * Readiness gates on the data-api only: without it no order can be accepted. Redis is reported
 * but fails open (the hold is a protection, not a requirement). The WMS is an outside system whose
 * outage the hold policy answers with 503 + Retry-After; gating on it would take every replica out
 * of rotation and let the probes hammer the very system the hold protects.
 */
export function createApp(deps: AppDeps): Express {
  const { logger, redis, dataApi, state = { shuttingDown: false } } = deps;
  const metrics = deps.metrics ?? createApiMetrics();
  const source = webhookSource(deps.webhookSecret, deps.shopDomain);
  const app = serviceApp();
  app.use(correlationMiddleware);
  app.use(metrics.httpMiddleware);
  // The webhook first: every order would otherwise pass through the health and metrics routers.
  app.use(
    webhookRouter({
      logger,
      metrics,
      receiveOrder: createReceiveOrder(deps),
      source,
      refusalStatus: deps.refusalStatus ?? '4xx',
      deadlineMs: deps.deadlineMs ?? DEFAULT_WEBHOOK_DEADLINE_MS,
      rejections: deps.rejections,
    }),
  );
  if (deps.restocks) {
    const restockOrder = createRestockOrder({ restocks: deps.restocks });
    app.use(restockWebhookRouter({ logger, metrics, restockOrder, source, deadlineMs: deps.deadlineMs ?? DEFAULT_WEBHOOK_DEADLINE_MS }));
  }
  app.use(healthRouter({ 'order-manage-data-api': () => dataApi.ping() }, () => state.shuttingDown, { redis: () => redis.ping() }, logger));
  app.use(metrics.router());
  app.use((_req, res) => sendProblem(res, { status: 404, code: 'NOT_FOUND', detail: 'No such endpoint.' }));
  app.use(problemHandler(logger));
  return app;
}

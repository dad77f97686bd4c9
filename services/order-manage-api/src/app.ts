import { correlationMiddleware, healthRouter, type Logger, problemHandler, sendProblem, serviceApp } from '@oms/common';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { DataApiClient } from './clients/data-api.js';
import type { WmsHold } from './clients/wms-hold.js';
import type { RejectionRecorder } from './clients/rejection-recorder.js';
import type { WmsClient } from './clients/wms.js';
import { DEFAULT_WEBHOOK_DEADLINE_MS } from './config.js';
import { type ApiMetrics, createApiMetrics } from './metrics.js';
import { webhookRouter } from './routes/webhook.js';
import { createReceiveOrder } from './use-cases/receive-order.js';

export interface AppDeps {
  logger: Logger;
  dataApi: DataApiClient;
  wms: WmsClient;
  wmsHold: WmsHold;
  /** Only for readiness; the hold itself goes through `wmsHold`. */
  redis: Redis;
  webhookSecret: string;
  /** SHOPIFY_LOCATION_ID: the warehouse's Shopify location. */
  warehouseLocationId: string;
  /** WEBHOOK_DEADLINE_MS: every webhook answer leaves within this many ms of the request's arrival. */
  deadlineMs?: number;
  metrics?: ApiMetrics;
  /** Where refusals of identifiable orders are reported (SPEC.md section 10). */
  rejections?: RejectionRecorder;
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
  const app = serviceApp();
  app.use(correlationMiddleware);
  app.use(metrics.httpMiddleware);
  // The webhook first: every order would otherwise pass through the health and metrics routers.
  app.use(
    webhookRouter({
      logger,
      metrics,
      receiveOrder: createReceiveOrder(deps),
      webhookSecret: deps.webhookSecret,
      deadlineMs: deps.deadlineMs ?? DEFAULT_WEBHOOK_DEADLINE_MS,
      rejections: deps.rejections,
    }),
  );
  app.use(
    healthRouter(
      { 'order-manage-data-api': () => dataApi.ping() },
      () => state.shuttingDown,
      { redis: () => redis.ping() },
    ),
  );
  app.use(metrics.router());
  app.use((_req, res) => sendProblem(res, { status: 404, code: 'NOT_FOUND', detail: 'No such endpoint.' }));
  app.use(problemHandler(logger));
  return app;
}

import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type pg from 'pg';
import {
  correlationMiddleware,
  healthRouter,
  problemHandler,
  ProblemError,
  sendProblem,
  serviceApp,
  type HealthCheck,
  type Logger,
} from '@oms/common';
import { isDatabaseUnavailable } from './db/pool.js';
import type { DataApiMetrics } from './metrics.js';
import { bearerAuth } from './routes/auth.js';
import { catalogueRouter } from './routes/catalogue.js';
import { internalRouter } from './routes/internal.js';
import { inventoryOperationsRouter } from './routes/inventory-operations.js';
import { operationsRouter } from './routes/operations.js';
import { restocksRouter } from './routes/restocks.js';

export { createDataApiMetrics, type DataApiMetrics } from './metrics.js';

export interface AppDeps {
  pool: pg.Pool;
  logger: Logger;
  metrics: DataApiMetrics;
  internalApiToken: string;
  /** Topic written into each outbox row; the relay publishes the row there. */
  inventoryTopic: string;
  kafkaCheck?: HealthCheck;
  /**
   * docs/spec.md section 1: readiness is 200 only when the service's own dependencies answer, and Kafka
   * is one, so by default a Kafka outage makes /health/ready 503. Orders still commit meanwhile
   * (nothing in the api or the stack routes on our readiness; the outbox holds the events). A
   * deployment whose orchestrator does route on readiness sets this false, so Kafka is reported
   * but does not take the data-api out of rotation and turn a Kafka outage into refused orders.
   */
  kafkaGatesReadiness?: boolean;
  state?: { shuttingDown: boolean };
  /** Request body limit, 1 MiB by default. */
  bodyLimit?: string;
}

export function createApp(deps: AppDeps): Express {
  const { pool, logger, metrics } = deps;
  const state = deps.state ?? { shuttingDown: false };
  const app = serviceApp();
  app.use(correlationMiddleware);
  app.use(metrics.httpMiddleware);

  const kafka: Record<string, HealthCheck> = deps.kafkaCheck ? { kafka: deps.kafkaCheck } : {};
  const gatesReadiness = deps.kafkaGatesReadiness ?? true;

  // One limit for every internal body: a resolve carries each line's SKU (up to 255 characters,
  // 500 lines), so it may be as large as the webhook it comes from.
  const parseBody = express.json({ limit: deps.bodyLimit ?? '1mb' });
  // Authentication runs before the body is read: an unauthenticated caller costs no parsing.
  app.use(
    '/internal',
    bearerAuth(deps.internalApiToken),
    parseBody,
    internalRouter({ pool, logger, metrics, inventoryTopic: deps.inventoryTopic }),
  );
  app.use('/internal', bearerAuth(deps.internalApiToken), parseBody, restocksRouter({ pool, logger, inventoryTopic: deps.inventoryTopic }));
  // docs/spec.md section 1: every endpoint but health and metrics takes the internal token, the team's too.
  app.use('/api', bearerAuth(deps.internalApiToken), operationsRouter({ pool }));
  app.use(
    inventoryOperationsRouter({
      pool,
      logger,
      metrics,
      internalApiToken: deps.internalApiToken,
      inventoryTopic: deps.inventoryTopic,
      bodyLimit: deps.bodyLimit,
    }),
  );
  app.use(
    catalogueRouter({
      pool,
      logger,
      internalApiToken: deps.internalApiToken,
      inventoryTopic: deps.inventoryTopic,
      bodyLimit: deps.bodyLimit,
    }),
  );

  // After the business routes: every commit would otherwise pass through the health and metrics routers.
  app.use(
    healthRouter(
      { postgres: () => pool.query('SELECT 1'), ...(gatesReadiness ? kafka : {}) },
      () => state.shuttingDown,
      gatesReadiness ? {} : kafka,
      logger,
    ),
  );
  app.use(metrics.router());

  app.use((req: Request, res: Response) => {
    sendProblem(res, { status: 404, code: 'NOT_FOUND', detail: `No route for ${req.method} ${req.path}.` });
  });
  app.use((err: unknown, _req: Request, _res: Response, next: NextFunction) => {
    if (!(err instanceof ProblemError) && isDatabaseUnavailable(err)) {
      logger.warn(`database unavailable: ${err instanceof Error ? err.message : String(err)}`, { event: 'db.unavailable' });
      return next(
        new ProblemError(
          { status: 503, code: 'DATABASE_UNAVAILABLE', detail: 'The database is unavailable; retry shortly.' },
          { 'Retry-After': '1' },
        ),
      );
    }
    next(err);
  });
  app.use(problemHandler(logger));
  return app;
}

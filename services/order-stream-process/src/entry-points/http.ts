import type { Express } from 'express';
import { healthRouter, serviceApp, problemHandler, sendProblem, type HealthCheck, type Logger, type Metrics } from '@oms/common';

export interface AppDeps {
  logger: Logger;
  metrics: Pick<Metrics, 'httpMiddleware' | 'router'>;
  /**
   * Readiness checks: `kafka` (the consumer is in its group and a broker answers), `shopify` (the
   * Admin API endpoint answers HTTP) and `dataApi` (order-manage-data-api answers: the confirm step
   * reads the database's figures there). Without any of them the service cannot do its one job.
   */
  checks: { kafka: HealthCheck; shopify: HealthCheck; dataApi: HealthCheck };
  state?: { shuttingDown: boolean };
}

/** Health and metrics only: the work is the Kafka consumer, which runs beside this app. */
export function createApp(deps: AppDeps): Express {
  const { logger, metrics, checks } = deps;
  const state = deps.state ?? { shuttingDown: false };
  const app = serviceApp();
  app.use(metrics.httpMiddleware);
  app.use(healthRouter(checks, () => state.shuttingDown, {}, logger));
  app.use(metrics.router());
  app.use((req, res) => {
    sendProblem(res, { status: 404, code: 'NOT_FOUND', detail: `No route for ${req.method} ${req.path}.` });
  });
  app.use(problemHandler(logger));
  return app;
}

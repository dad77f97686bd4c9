import type { NextFunction, Request, Response, Router } from 'express';
import express from 'express';
import client from 'prom-client';

export { client as prom };

/** The label of a request that matched no route: refused before routing (401, 413), or unknown (404). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * A request's route label: the template of the route that answered it (`/internal/orders/:orderId`),
 * never the path it was sent to, so random paths cannot grow the label set (and the registry's memory)
 * without bound. A request answered before any route matched (an unknown path, a missing token) is
 * `unmatched`. Routers are mounted on literal paths only, so `req.baseUrl` is a template too.
 */
export function routeLabel(req: Request): string {
  const template = (req.route as { path?: unknown } | undefined)?.path;
  return typeof template === 'string' ? `${req.baseUrl}${template}` : UNMATCHED_ROUTE;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** The method label: Node accepts dozens of methods (PROPFIND, …); the rest share one label. */
function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'OTHER';
}

export function createMetrics(service: string) {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  const httpDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  function httpMiddleware(req: Request, res: Response, next: NextFunction): void {
    const end = httpDuration.startTimer();
    res.on('finish', () => {
      end({ method: methodLabel(req.method), route: routeLabel(req), status: String(res.statusCode) });
    });
    next();
  }

  function router(): Router {
    const r = express.Router();
    r.get('/metrics', async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
    return r;
  }

  return { registry, httpMiddleware, router };
}

export type Metrics = ReturnType<typeof createMetrics>;

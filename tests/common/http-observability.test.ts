/**
 * What a service says of itself over HTTP (services/common/src/metrics.ts and health.ts, docs/spec.md
 * section 11), on a real server: metric labels come from route templates, so random paths cannot
 * grow them; readiness names a failed dependency's state, never its error text, which goes to the log.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import { createMetrics, healthRouter, type Logger, serviceApp } from '@oms/common';
import { routeLabels } from './http-probes.js';

const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((done) => s.close(done)))));

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('HTTP metrics', () => {
  it('labels requests by route template: 200 requests to random unknown paths, refused or not found, add one label', async () => {
    const metrics = createMetrics('svc');
    const app = serviceApp();
    app.use(metrics.httpMiddleware);
    const auth = (req: Request, res: Response, next: NextFunction) =>
      req.get('authorization') === 'Bearer t0ken-for-tests' ? next() : res.status(401).end();
    const internal = express.Router();
    internal.get('/orders/:orderId', (req, res) => {
      res.json({ orderId: req.params.orderId });
    });
    app.use('/internal', auth, internal);
    app.use(metrics.router());
    app.use((_req, res) => {
      res.status(404).end();
    });
    const base = await listen(app);

    const answers: number[] = [];
    for (let i = 0; i < 200; i++) {
      // Half under the authenticated prefix without a token (401 before any route), half anywhere (404).
      const path = i % 2 === 0 ? `/internal/${randomUUID()}` : `/${randomUUID()}/${i}`;
      const res = await fetch(`${base}${path}`, { method: i % 3 === 0 ? 'POST' : 'GET' });
      answers.push(res.status);
    }
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${base}/internal/orders/${1000 + i}`, { headers: { authorization: 'Bearer t0ken-for-tests' } });
      answers.push(res.status);
    }
    assert.deepEqual([...new Set(answers)].sort(), [200, 401, 404]);

    const text = await (await fetch(`${base}/metrics`)).text();
    assert.deepEqual(routeLabels(text), ['/internal/orders/:orderId', 'unmatched']);
    assert.match(text, /http_request_duration_seconds_count\{service="svc",method="GET",route="unmatched",status="401"\} 66/);
    assert.match(
      text,
      /http_request_duration_seconds_count\{service="svc",method="GET",route="\/internal\/orders\/:orderId",status="200"\} 20/,
    );
  });

  it('labels a method Node accepts but no service serves as OTHER', async () => {
    const metrics = createMetrics('svc');
    const app = serviceApp();
    app.use(metrics.httpMiddleware);
    app.use(metrics.router());
    app.use((_req, res) => {
      res.status(404).end();
    });
    const base = await listen(app);
    for (const method of ['PROPFIND', 'MKCOL', 'LOCK']) await (await fetch(`${base}/x`, { method })).arrayBuffer();
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /http_request_duration_seconds_count\{service="svc",method="OTHER",route="unmatched",status="404"\} 3/);
  });
});

/** A logger that keeps what it is given. */
function recordingLogger() {
  const lines: Array<{ level: string; msg: string; meta: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (msg: string, meta: Record<string, unknown> = {}) =>
      lines.push({ level, msg, meta });
  return { logger: { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug') } as unknown as Logger, lines };
}

describe('readiness', () => {
  it('reports a failed dependency as down with a fixed reason, never its error text, and logs the error once', async () => {
    let postgresError: Error | undefined = new Error('connect ECONNREFUSED 10.0.3.7:5432 (user "orders_app")');
    const { logger, lines } = recordingLogger();
    const app = serviceApp();
    app.use(
      healthRouter(
        {
          postgres: async () => {
            if (postgresError) throw postgresError;
          },
          kafka: () => new Promise(() => undefined),
        },
        () => false,
        { redis: async () => 'PONG' },
        logger,
      ),
    );
    const base = await listen(app);

    for (let probe = 0; probe < 2; probe++) {
      const res = await fetch(`${base}/health/ready`);
      const text = await res.text();
      assert.equal(res.status, 503);
      assert.deepEqual(JSON.parse(text), {
        status: 'down',
        shuttingDown: false,
        dependencies: {
          postgres: { status: 'down', reason: 'error' },
          kafka: { status: 'down', reason: 'timeout' },
          redis: { status: 'up', critical: false },
        },
      });
      assert.doesNotMatch(text, /ECONNREFUSED|10\.0\.3\.7|orders_app|1500 ms/);
    }
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l.meta.event]),
      [
        ['warn', 'readiness: postgres is down: connect ECONNREFUSED 10.0.3.7:5432 (user "orders_app")', 'health.dependency.down'],
        ['warn', 'readiness: kafka is down: no answer within 1500 ms', 'health.dependency.down'],
      ],
      'each failure is logged once with its detail, however often the probe asks',
    );

    postgresError = undefined;
    await (await fetch(`${base}/health/ready`)).arrayBuffer();
    assert.deepEqual(
      lines.slice(2).map((l) => [l.level, l.msg]),
      [['info', 'readiness: postgres is up again']],
    );
  });
});

/**
 * Production guards (docs/spec.md section 11) on the built services: with NODE_ENV=production a service
 * refuses a demo secret, naming the variable; every server cuts off a slow sender and refuses
 * connections beyond its cap; its metrics label routes by template, whatever paths are sent; and its
 * readiness names a dependency's state, never the error, which goes to the log.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { WEBHOOK_PATH } from '../../services/order-manage-api/src/routes/webhook.js';
import { eventually } from '../support/eventually.js';
import { type HeldConnection, holdConnection, routeLabels, slowBody, slowHeaders, slowSend } from '../common/http-probes.js';
import { waitFor } from '../support/eventually.js';
import { stackEnv } from '../support/stack-env.js';
import {
  exitWithin,
  freePort,
  logLines,
  serviceEnvFromStack,
  serviceUrl,
  SERVICES,
  spawnService,
  type RunningService,
  type Service,
} from './support.js';

const running: RunningService[] = [];
after(async () => {
  for (const r of running) {
    r.child.kill('SIGKILL');
    await r.exited;
  }
});

function start(service: Service, env: Record<string, string>): RunningService {
  const r = spawnService(service, env);
  running.push(r);
  return r;
}

const portOf = (url: string) => Number(new URL(url).port);

/** The demo values each service reads from the local stack (stack/settings.ts). */
const STACK_DEMO_SECRETS: Record<Service, string[]> = {
  'order-manage-api': ['INTERNAL_API_TOKEN', 'WMS_API_KEY', 'SHOPIFY_WEBHOOK_SECRET'],
  'order-manage-data-api': ['INTERNAL_API_TOKEN'],
  'order-stream-process': ['SHOPIFY_ACCESS_TOKEN', 'INTERNAL_API_TOKEN'],
};

describe('with NODE_ENV=production a built service refuses demo secrets', () => {
  for (const service of SERVICES) {
    it(`${service} on the local stack's secrets exits with status 78, naming ${STACK_DEMO_SECRETS[service].join(', ')} and printing none of them`, async () => {
      const env = { ...serviceEnvFromStack(service, await freePort()), NODE_ENV: 'production' };
      const run = start(service, env);
      const { code } = await exitWithin(run, 30_000);
      const { stderr, stdout } = run.output();
      assert.equal(code, 78, stderr);
      const named = [...stderr.matchAll(/^ {2}- ([A-Z_]+): is a demo value/gm)].map((m) => m[1]);
      assert.deepEqual(named.sort(), [...STACK_DEMO_SECRETS[service]].sort());
      for (const name of STACK_DEMO_SECRETS[service]) {
        const value = (env as Record<string, string>)[name]!;
        assert.ok(!`${stderr}${stdout}`.includes(value), `${name}'s value is not printed`);
      }
      assert.doesNotMatch(stdout, /service\.started/, 'it never listened');
    });
  }

  it('order-manage-data-api with a replace-me password in DATABASE_URL exits with status 78, naming DATABASE_URL and not printing the URL', async () => {
    const env = {
      ...serviceEnvFromStack('order-manage-data-api', await freePort()),
      NODE_ENV: 'production',
      INTERNAL_API_TOKEN: randomUUID(),
      DATABASE_URL: 'postgres://orders_app:replace-me@127.0.0.1:5432/orders',
    };
    const run = start('order-manage-data-api', env);
    const { code } = await exitWithin(run, 30_000);
    assert.equal(code, 78, run.output().stderr);
    assert.match(run.output().stderr, /^ {2}- DATABASE_URL: carries a demo password/m);
    assert.doesNotMatch(run.output().stderr, /orders_app:|INTERNAL_API_TOKEN/);
  });

  it('order-manage-api with real secrets and NODE_ENV=production starts', async () => {
    const port = await freePort();
    const env = {
      ...serviceEnvFromStack('order-manage-api', port),
      NODE_ENV: 'production',
      INTERNAL_API_TOKEN: randomUUID(),
      WMS_API_KEY: randomUUID(),
      SHOPIFY_WEBHOOK_SECRET: randomUUID(),
    };
    start('order-manage-api', env);
    await waitFor(
      'the api to listen',
      async () => (await fetch(`http://127.0.0.1:${port}/health/live`).catch(() => undefined))?.status === 200,
      30_000,
    );
  });
});

describe("every service's server cuts off slow senders", () => {
  for (const service of SERVICES) {
    it(`${service} closes a connection whose headers trickle in, with a 408`, async () => {
      // 300 bytes at one per 100 ms: 30 s of headers, six times the 5 s bound and half Node's default of 60 s.
      const outcome = await slowSend(portOf(serviceUrl(service)), slowHeaders(), 'a'.repeat(300));
      assert.equal(outcome.closedByServer, true, `${service} still held the connection after ${outcome.trickled} bytes`);
      assert.match(outcome.received, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    });
  }

  it('order-manage-api closes a webhook delivery whose 1 MiB body trickles in, with a 408', async () => {
    const head = slowBody(WEBHOOK_PATH, {
      'X-Shopify-Topic': 'orders/create',
      'X-Shopify-Hmac-Sha256': randomBytes(32).toString('base64'),
      'X-Shopify-Webhook-Id': randomUUID(),
    });
    // 1,200 bytes at one per 100 ms: two minutes, twelve times the 10 s bound and under Node's default of 300 s.
    const outcome = await slowSend(portOf(serviceUrl('order-manage-api')), head, '{'.repeat(1200));
    assert.equal(outcome.closedByServer, true, `the api still held the connection after ${outcome.trickled} bytes`);
    assert.match(outcome.received, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('order-manage-data-api closes an authenticated call whose 1 MiB body trickles in, with a 408', async () => {
    const head = slowBody('/internal/orders', { Authorization: `Bearer ${stackEnv().INTERNAL_API_TOKEN}` });
    const outcome = await slowSend(portOf(serviceUrl('order-manage-data-api')), head, '{'.repeat(1200));
    assert.equal(outcome.closedByServer, true, `the data-api still held the connection after ${outcome.trickled} bytes`);
    assert.match(outcome.received, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  });
});

describe('a built service refuses connections beyond HTTP_MAX_CONNECTIONS', () => {
  it('order-manage-api with HTTP_MAX_CONNECTIONS=3 closes a fourth connection unanswered and serves the three', async () => {
    const port = await freePort();
    const run = start('order-manage-api', { ...serviceEnvFromStack('order-manage-api', port), HTTP_MAX_CONNECTIONS: '3' });
    // Raw connections only (fetch would keep one of its own open): three that each get an answer.
    const held = await eventually(
      async () => {
        const three: HeldConnection[] = [];
        try {
          for (let i = 0; i < 3; i++) three.push(await holdConnection(port));
          for (const c of three) assert.equal(await c.request('/health/live'), 200);
          return three;
        } catch (err) {
          // Not listening yet, or a previous attempt's connection not yet counted out.
          for (const c of three) c.destroy();
          throw err;
        }
      },
      30_000,
      250,
    );
    const fourth = await holdConnection(port);
    assert.deepEqual(await fourth.closed, { received: '' });
    for (const c of held) assert.equal(await c.request('/health/live'), 200, 'the connections within the cap go on');
    for (const c of held) c.destroy();
    await waitFor('a refusal in the log', async () => logLines(run.output().stdout).find((l) => l.event === 'http.connections.refused'));
  });
});

describe("every service's HTTP metrics label by route template", () => {
  for (const service of SERVICES) {
    it(`${service}: 200 requests to random unknown paths leave no label of theirs and at most one new label`, async () => {
      const base = serviceUrl(service);
      await (await fetch(`${base}/metrics`)).arrayBuffer(); // so that /metrics's own label is there before
      const before = new Set(routeLabels(await (await fetch(`${base}/metrics`)).text()));
      const marker = randomUUID().slice(0, 8);
      const prefixes = { 'order-manage-api': '/webhooks', 'order-manage-data-api': '/internal', 'order-stream-process': '/health' }[
        service
      ];
      const statuses = new Set<number>();
      for (let i = 0; i < 200; i++) {
        const path = i % 2 === 0 ? `${prefixes}/${marker}-${i}` : `/${marker}/${i}`;
        const res = await fetch(`${base}${path}`, { method: i % 4 === 1 ? 'POST' : 'GET' });
        await res.arrayBuffer();
        statuses.add(res.status);
      }
      const after = routeLabels(await (await fetch(`${base}/metrics`)).text());
      assert.deepEqual(
        after.filter((l) => l.includes(marker)),
        [],
        'no label carries a path that was sent',
      );
      const added = after.filter((l) => !before.has(l));
      assert.ok(
        added.length <= 1 && added.every((l) => l === 'unmatched'),
        `labels added: ${added.join(', ')} (answers ${[...statuses].join(', ')})`,
      );
      assert.ok(after.includes('unmatched'));
    });
  }
});

describe('readiness with a dependency down', () => {
  it('order-manage-api says its data-api is down with a fixed reason, and only its log holds the error', async () => {
    const port = await freePort();
    const closed = `http://127.0.0.1:${await freePort()}`;
    const run = start('order-manage-api', { ...serviceEnvFromStack('order-manage-api', port), DATA_API_URL: closed });
    const text = await waitFor(
      'a 503 from readiness',
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
        return res?.status === 503 ? res.text() : undefined;
      },
      30_000,
    );
    assert.deepEqual(JSON.parse(text).dependencies['order-manage-data-api'], { status: 'down', reason: 'error' });
    assert.doesNotMatch(text, /ECONNREFUSED|127\.0\.0\.1|fetch failed|error":/);
    const logged = await waitFor('the error in the log', async () =>
      logLines(run.output().stdout).find((l) => l.event === 'health.dependency.down' && l.dependency === 'order-manage-data-api'),
    );
    assert.match(String(logged.msg), /^readiness: order-manage-data-api is down: .+/);
  });

  it('order-manage-data-api says PostgreSQL is down with a fixed reason, and only its log holds the error', async () => {
    const port = await freePort();
    const run = start('order-manage-data-api', {
      ...serviceEnvFromStack('order-manage-data-api', port),
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/orders`,
      READINESS_REQUIRES_KAFKA: 'false',
    });
    const text = await waitFor(
      'a 503 from readiness',
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
        return res?.status === 503 ? res.text() : undefined;
      },
      30_000,
    );
    assert.deepEqual(JSON.parse(text).dependencies.postgres, { status: 'down', reason: 'error' });
    assert.doesNotMatch(text, /ECONNREFUSED|127\.0\.0\.1|postgres:\/\//);
    const logged = await waitFor('the error in the log', async () =>
      logLines(run.output().stdout).find((l) => l.event === 'health.dependency.down' && l.dependency === 'postgres'),
    );
    assert.match(String(logged.msg), /^readiness: postgres is down: .*ECONNREFUSED/);
  });
});

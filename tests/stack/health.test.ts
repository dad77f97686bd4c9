import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SERVICES, serviceUrl } from './support.js';

describe('every service of the running stack reports its health and metrics', () => {
  for (const service of SERVICES) {
    it(`${service} answers /health/live with 200`, async () => {
      const res = await fetch(`${serviceUrl(service)}/health/live`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { status: string }).status, 'up');
    });

    it(`${service} answers /health/ready with 200 and every dependency up`, async () => {
      const res = await fetch(`${serviceUrl(service)}/health/ready`, { signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { status: string; dependencies: Record<string, { status: string }> };
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.equal(body.status, 'up');
      assert.ok(Object.keys(body.dependencies).length > 0, 'readiness names the dependencies it checked');
      for (const [name, dep] of Object.entries(body.dependencies)) assert.equal(dep.status, 'up', `${name} is up`);
    });

    it(`${service} serves Prometheus metrics labelled with its name`, async () => {
      const res = await fetch(`${serviceUrl(service)}/metrics`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.match(text, /^# HELP process_cpu_user_seconds_total /m);
      assert.match(text, /^# TYPE process_cpu_user_seconds_total counter$/m);
      assert.match(text, new RegExp(`^process_cpu_user_seconds_total\\{service="${service}"\\} \\d`, 'm'));
    });
  }
});

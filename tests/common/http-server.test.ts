/**
 * The bounds of every service's HTTP server (services/common/src/lifecycle.ts, docs/spec.md section 11),
 * on a real server over real sockets: a sender too slow with its headers or its body is cut off, and
 * connections beyond the cap are refused while those within it go on.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { after, describe, it } from 'node:test';
import express from 'express';
import { z } from 'zod';
import { ConfigError, createBoundedServer, HTTP_SERVER_BOUNDS, httpServerSettings, parseConfig, serviceApp } from '@oms/common';
import { eventually } from '../support/eventually.js';
import { holdConnection, slowBody, slowHeaders, slowSend } from './http-probes.js';

function app() {
  const a = serviceApp();
  a.get('/health/live', (_req, res) => {
    res.json({ status: 'up' });
  });
  // Reads the whole body before answering, as the services' JSON routes do.
  a.post('/orders', express.raw({ type: '*/*', limit: '2mb' }), (req, res) => {
    res.json({ bytes: (req.body as Buffer).length });
  });
  // A body cut off by the server's timeout ends here, quietly.
  a.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.destroy();
  });
  return a;
}

const servers: Server[] = [];
after(() => Promise.all(servers.map((s) => new Promise((done) => s.close(done)))));

async function listening(settings: Parameters<typeof createBoundedServer>[1]): Promise<number> {
  const server = createBoundedServer(app(), settings);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('HTTP server bounds', () => {
  it("keeps a request within 10 s, its headers within 5 s and 256 connections unless configured, where Node's defaults allow 300 s, 60 s and any number", () => {
    const server = createBoundedServer(app());
    assert.equal(server.requestTimeout, 10_000);
    assert.equal(server.headersTimeout, 5_000);
    assert.equal(server.maxConnections, 256);
    assert.deepEqual(HTTP_SERVER_BOUNDS, { maxRequestTimeoutMs: 10_000, maxHeadersTimeoutMs: 5_000, defaultMaxConnections: 256 });
  });

  it('takes its settings from the environment only within the bounds', () => {
    const schema = z.object(httpServerSettings);
    assert.deepEqual(parseConfig('svc', schema, {}), {
      HTTP_REQUEST_TIMEOUT_MS: 10_000,
      HTTP_HEADERS_TIMEOUT_MS: 5_000,
      HTTP_MAX_CONNECTIONS: 256,
    });
    assert.deepEqual(
      parseConfig('svc', schema, { HTTP_REQUEST_TIMEOUT_MS: '8000', HTTP_HEADERS_TIMEOUT_MS: '2000', HTTP_MAX_CONNECTIONS: '64' }),
      {
        HTTP_REQUEST_TIMEOUT_MS: 8_000,
        HTTP_HEADERS_TIMEOUT_MS: 2_000,
        HTTP_MAX_CONNECTIONS: 64,
      },
    );
    assert.throws(
      () => parseConfig('svc', schema, { HTTP_REQUEST_TIMEOUT_MS: '10001', HTTP_HEADERS_TIMEOUT_MS: '5001', HTTP_MAX_CONNECTIONS: '0' }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.map((p) => p.split(':')[0]).join() === 'HTTP_REQUEST_TIMEOUT_MS,HTTP_HEADERS_TIMEOUT_MS,HTTP_MAX_CONNECTIONS',
    );
    assert.throws(
      () => createBoundedServer(app(), { HTTP_REQUEST_TIMEOUT_MS: 300_000 }),
      /HTTP_REQUEST_TIMEOUT_MS must be an integer from 1 to 10000/,
    );
    assert.throws(
      () => createBoundedServer(app(), { HTTP_HEADERS_TIMEOUT_MS: 60_000 }),
      /HTTP_HEADERS_TIMEOUT_MS must be an integer from 1 to 5000/,
    );
  });

  it('closes the connection of a sender whose headers trickle in, with a 408', async () => {
    const port = await listening({ HTTP_HEADERS_TIMEOUT_MS: 1_000, HTTP_REQUEST_TIMEOUT_MS: 2_000 });
    // 600 bytes at one per 100 ms: a minute of headers, far beyond the 1 s bound.
    const outcome = await slowSend(port, slowHeaders(), 'a'.repeat(600));
    assert.equal(outcome.closedByServer, true, `the server still held the connection after ${outcome.trickled} bytes`);
    assert.match(outcome.received, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('closes the connection of a sender whose body trickles in, with a 408', async () => {
    const port = await listening({ HTTP_HEADERS_TIMEOUT_MS: 1_000, HTTP_REQUEST_TIMEOUT_MS: 2_000 });
    const outcome = await slowSend(port, slowBody('/orders'), '{'.repeat(600));
    assert.equal(outcome.closedByServer, true, `the server still held the connection after ${outcome.trickled} bytes`);
    assert.match(outcome.received, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('refuses connections beyond the cap, serves those within it, and takes a new one once one closes', async () => {
    const port = await listening({ HTTP_MAX_CONNECTIONS: 2 });
    const first = await holdConnection(port);
    const second = await holdConnection(port);
    assert.equal(await first.request('/health/live'), 200);
    assert.equal(await second.request('/health/live'), 200);

    const third = await holdConnection(port);
    assert.deepEqual(await third.closed, { received: '' }, 'the third connection is closed without an answer');

    assert.equal(await first.request('/health/live'), 200, 'the connections within the cap go on');
    assert.equal(await second.request('/health/live'), 200);

    first.destroy();
    await first.closed;
    const status = await eventually(async () => {
      const next = await holdConnection(port);
      const answered = await next.request('/health/live');
      next.destroy();
      assert.equal(answered, 200);
      return answered;
    }, 10_000);
    assert.equal(status, 200);
    second.destroy();
  });
});

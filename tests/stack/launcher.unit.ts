import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '@oms/common';
import { configSchema as apiSchema } from '../../services/order-manage-api/src/config.js';
import { configSchema as dataApiSchema } from '../../services/order-manage-data-api/src/config.js';
import { configSchema as streamSchema } from '../../services/order-stream-process/src/config.js';
import { serviceComponent, serviceEnv } from '../../stack/components/services.js';
import { SERVICES } from '../../stack/components/types.js';
import { writeStackEnv } from '../../stack/envfile.js';
import { loadSettings, parseReplicas } from '../../stack/settings.js';
import { parseCounts } from '../../stack/test-command.js';
import { describeAnswer } from '../../stack/wait.js';
import { parseEnvFile } from '../support/stack-env.js';

const SCHEMAS = {
  'order-manage-api': apiSchema,
  'order-manage-data-api': dataApiSchema,
  'order-stream-process': streamSchema,
} as const;

describe('the local stack launcher', () => {
  it("uses docs/spec.md's ports and database unless told otherwise", () => {
    const s = loadSettings({});
    assert.deepEqual(
      [s.kafkaPort, s.kafkaControllerPort, s.wiremockPort, s.orderApiPort, s.dataApiPort, s.streamProcessPort],
      [9092, 9093, 8089, 8080, 8081, 8082],
    );
    assert.equal(s.databaseUrl, 'postgres://postgres@127.0.0.1:5432/orders');
    assert.equal(path.basename(s.stackDir), '.stack');
  });

  it('takes every port from the environment, and refuses a port that is not one', () => {
    const s = loadSettings({ KAFKA_PORT: '19092', WIREMOCK_PORT: '18089', ORDER_API_PORT: '18080', STACK_DIR: '/tmp/other' });
    assert.equal(s.kafkaPort, 19092);
    assert.equal(s.wiremockPort, 18089);
    assert.equal(s.orderApiPort, 18080);
    assert.equal(s.stackDir, '/tmp/other');
    assert.throws(() => loadSettings({ DATA_API_PORT: 'eighty' }), /DATA_API_PORT must be a port number/);
  });

  for (const service of SERVICES) {
    it(`starts ${service} with variables its configSchema accepts`, () => {
      const settings = loadSettings({ DATA_API_PORT: '18081', KAFKA_PORT: '19092' });
      const env = serviceEnv(settings, service);
      const config = parseConfig(service, SCHEMAS[service], env) as Record<string, unknown>;
      assert.equal(config.PORT, Number(env.PORT));
    });
  }

  it('points the api at the data-api and both Kafka clients at the stack broker', () => {
    const settings = loadSettings({ DATA_API_PORT: '18081', KAFKA_PORT: '19092' });
    assert.equal(serviceEnv(settings, 'order-manage-api').DATA_API_URL, 'http://127.0.0.1:18081');
    assert.equal(serviceEnv(settings, 'order-manage-data-api').KAFKA_BROKERS, '127.0.0.1:19092');
    assert.equal(serviceEnv(settings, 'order-stream-process').KAFKA_BROKERS, '127.0.0.1:19092');
  });

  it('writes .stack/env in the KEY=value form tests read back', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-env-'));
    const file = writeStackEnv(loadSettings({ STACK_DIR: dir, WIREMOCK_PORT: '18089' }));
    const env = parseEnvFile(readFileSync(file, 'utf8'));
    assert.equal(env.WIREMOCK_URL, 'http://127.0.0.1:18089');
    assert.equal(env.WMS_BASE_URL, 'http://127.0.0.1:18089');
    assert.equal(env.SHOPIFY_WEBHOOK_SECRET, 'local-webhook-secret');
    assert.equal(env.INTERNAL_API_TOKEN, 'local-internal-token');
  });

  it('reads --replicas as one count for every service or per service, and refuses nonsense', () => {
    assert.deepEqual(parseReplicas('2'), { 'order-manage-api': 2, 'order-manage-data-api': 2, 'order-stream-process': 2 });
    assert.deepEqual(parseReplicas('api=2,data-api=2,stream=3'), {
      'order-manage-api': 2,
      'order-manage-data-api': 2,
      'order-stream-process': 3,
    });
    assert.deepEqual(parseReplicas('order-stream-process=3'), {
      'order-manage-api': 1,
      'order-manage-data-api': 1,
      'order-stream-process': 3,
    });
    assert.throws(() => parseReplicas('0'), /from 1 to 9/);
    assert.throws(() => parseReplicas('web=2'), /unknown service "web"/);
    assert.deepEqual(loadSettings({ STACK_DIR: '/tmp/no-such-stack' }).replicas, parseReplicas('1'), 'one replica each by default');
  });

  it('gives replica n its own name, port (+100 each), pid and log file, and pairs api n with data-api n', () => {
    const settings = loadSettings({
      STACK_DIR: '/tmp/other',
      ORDER_API_PORT: '18080',
      DATA_API_PORT: '18081',
      STACK_REPLICAS: 'api=3,data-api=2',
    });
    const api2 = serviceComponent(settings, 'order-manage-api', 2);
    assert.equal(api2.name, 'order-manage-api-2');
    assert.equal(api2.url, 'http://127.0.0.1:18180');
    assert.equal(api2.logFile, '/tmp/other/logs/order-manage-api-2.log');
    assert.equal(serviceComponent(settings, 'order-manage-api', 1).name, 'order-manage-api', 'replica 1 keeps the plain name');
    assert.equal(serviceEnv(settings, 'order-manage-api', 2).DATA_API_URL, 'http://127.0.0.1:18181');
    assert.equal(serviceEnv(settings, 'order-manage-api', 3).DATA_API_URL, 'http://127.0.0.1:18081', 'wraps round');
    const env = parseEnvFile(
      readFileSync(writeStackEnv({ ...settings, stackDir: mkdtempSync(path.join(os.tmpdir(), 'stack-env-')) }), 'utf8'),
    );
    assert.equal(env.ORDER_API_URL, 'http://127.0.0.1:18080', 'the single-URL key stays replica 1');
    assert.equal(env.ORDER_API_URLS, 'http://127.0.0.1:18080,http://127.0.0.1:18180,http://127.0.0.1:18280');
  });

  it("reads the closing counts of node's test runner and of Playwright", () => {
    assert.deepEqual(parseCounts('ℹ tests 14\nℹ suites 3\nℹ pass 12\nℹ fail 2\nℹ cancelled 0\n'), { passed: 12, failed: 2, counted: true });
    assert.deepEqual(parseCounts('# tests 3\n# pass 3\n# fail 0\n'), { passed: 3, failed: 0, counted: true });
    assert.deepEqual(parseCounts('Running 9 tests using 1 worker\n\n  1 failed\n  1 flaky\n  7 passed (12.3s)\n'), {
      passed: 8,
      failed: 1,
      counted: true,
    });
    assert.deepEqual(parseCounts('Error: No tests found\n'), { passed: 0, failed: 0, counted: false });
  });

  it("says why a service is not ready: its readiness answer, naming the dependency that is down, or the connection's error", async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ status: 'down', dependencies: { 'order-manage-data-api': { status: 'down', error: 'connect ECONNREFUSED' } } }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health/ready`;
    try {
      assert.match(
        await describeAnswer(url),
        /^HTTP 503 \{"status":"down","dependencies":\{"order-manage-data-api":\{"status":"down","error":"connect ECONNREFUSED"/,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    assert.match(await describeAnswer(url), /^no answer: fetch failed \(.*ECONNREFUSED/);
  });
});

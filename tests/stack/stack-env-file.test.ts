import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { parseEnvFile, REPO_ROOT } from '../support/stack-env.js';
import { getStatus } from './support.js';

const REQUIRED = [
  'DATABASE_URL',
  'REDIS_URL',
  'KAFKA_BROKERS',
  'WIREMOCK_URL',
  'WMS_BASE_URL',
  'SHOPIFY_ADMIN_BASE_URL',
  'SHOPIFY_API_VERSION',
  'SHOPIFY_WEBHOOK_SECRET',
  'ORDER_API_URL',
  'DATA_API_URL',
  'STREAM_PROCESS_URL',
  'INTERNAL_API_TOKEN',
];

it('the running stack wrote .stack/env with every setting tools need, and each URL answers', async () => {
  const file = process.env.STACK_ENV_FILE ?? path.join(REPO_ROOT, '.stack', 'env');
  assert.ok(existsSync(file), `${file} exists while the stack runs`);
  const env = parseEnvFile(readFileSync(file, 'utf8'));
  for (const key of REQUIRED) assert.ok(env[key], `${key} is set`);

  assert.match(env.DATABASE_URL!, /^postgres(ql)?:\/\/[^/]+\/\w+/);
  assert.match(env.REDIS_URL!, /^redis:\/\//);
  assert.match(env.KAFKA_BROKERS!, /^[^\s:,]+:\d+(,[^\s:,]+:\d+)*$/);
  assert.match(env.SHOPIFY_API_VERSION!, /^\d{4}-\d{2}$/);
  // One WireMock plays both outside systems.
  assert.equal(env.WMS_BASE_URL, env.WIREMOCK_URL);
  assert.equal(env.SHOPIFY_ADMIN_BASE_URL, env.WIREMOCK_URL);

  assert.equal(await getStatus(`${env.WIREMOCK_URL}/__admin/health`), 200, 'WireMock answers');
  for (const key of ['ORDER_API_URL', 'DATA_API_URL', 'STREAM_PROCESS_URL']) {
    assert.equal(await getStatus(`${env[key]}/health/live`), 200, `${key} answers`);
  }
});

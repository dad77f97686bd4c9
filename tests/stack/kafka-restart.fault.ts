/**
 * A fault test: it stops the stack's Kafka, so it runs alone, after every other suite
 * (`npm run test:faults`, the last step of `npm test`), never beside tests that need Kafka.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, it } from 'node:test';
import { REPO_ROOT, stackEnv } from '../support/stack-env.js';
import { serviceUrl, waitForStatus } from './support.js';

function stackCommand(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'stack', 'cli.ts'), ...args], {
    cwd: REPO_ROOT,
    env: process.env,
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

after(() => {
  // Whatever happened above, the stack is left with its Kafka running.
  stackCommand('start', 'kafka');
});

it('after `stack stop kafka` and `stack start kafka`, the data-api and the stream processor are ready again', async () => {
  const dataApi = `${serviceUrl('order-manage-data-api')}/health/ready`;
  const stream = `${serviceUrl('order-stream-process')}/health/ready`;
  assert.equal(await waitForStatus(dataApi, 200, 30_000), 200, 'data-api ready before the fault');
  assert.equal(await waitForStatus(stream, 200, 30_000), 200, 'stream processor ready before the fault');

  const stop = stackCommand('stop', 'kafka');
  assert.equal(stop.status, 0, stop.output);
  assert.match(stop.output, /kafka\s+stopped/, `the stack manages Kafka at ${stackEnv().KAFKA_BROKERS}: ${stop.output}`);
  assert.equal(await waitForStatus(dataApi, 503, 30_000), 503, 'the data-api reports Kafka down');

  const start = stackCommand('start', 'kafka');
  assert.equal(start.status, 0, start.output);
  assert.equal(await waitForStatus(dataApi, 200, 120_000), 200, 'the data-api recovers');
  assert.equal(await waitForStatus(stream, 200, 120_000), 200, 'the stream processor recovers');
});

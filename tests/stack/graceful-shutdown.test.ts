import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { migrate } from '../../db/data-source.js';
import { createTopic, deleteTopics } from '../support/kafka.js';
import { stackEnv } from '../support/stack-env.js';
import { exitWithin, freePort, logLines, serviceEnvFromStack, spawnService, waitForStatus, type Service } from './support.js';

/**
 * A second instance of each service, on a spare port, is started, becomes ready, gets SIGTERM and
 * must exit 0 after logging `stopped cleanly`. It is isolated from the stack's own instance: the
 * data-api gets a database of its own (its outbox relay must not publish the stack's events) and
 * the stream processor topics and a consumer group of its own (it must not take the stack's events).
 */
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function isolatedDatabase(): Promise<string> {
  const url = new URL(stackEnv().DATABASE_URL);
  const name = `shutdown_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  url.pathname = `/${name}`;
  await migrate(url.toString());
  cleanups.push(async () => {
    const admin = new URL(url);
    admin.pathname = '/postgres';
    const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } finally {
      await client.end();
    }
  });
  return url.toString();
}

async function isolatedTopics(): Promise<Record<string, string>> {
  const suffix = randomUUID().slice(0, 8);
  const topic = `shutdown-test-${suffix}`;
  const dlq = `${topic}.dlq`;
  await createTopic(topic, { partitions: 1 });
  await createTopic(dlq, { partitions: 1 });
  cleanups.push(() => deleteTopics([topic, dlq]));
  return { INVENTORY_TOPIC: topic, DLQ_TOPIC: dlq, CONSUMER_GROUP: `shutdown-test-${suffix}` };
}

async function isolation(service: Service): Promise<Record<string, string>> {
  if (service === 'order-manage-data-api') return { DATABASE_URL: await isolatedDatabase() };
  if (service === 'order-stream-process') return isolatedTopics();
  return {};
}

describe('SIGTERM stops a service cleanly', () => {
  for (const service of ['order-manage-api', 'order-manage-data-api', 'order-stream-process'] as const) {
    it(`${service} drains, closes its clients, logs "stopped cleanly" and exits 0`, async () => {
      const port = await freePort();
      const run = spawnService(service, { ...serviceEnvFromStack(service, port), ...(await isolation(service)) });
      try {
        const status = await waitForStatus(`http://127.0.0.1:${port}/health/ready`, 200, 60_000);
        assert.equal(status, 200, `ready before SIGTERM; output:\n${run.output().stdout}\n${run.output().stderr}`);
      } catch (err) {
        run.child.kill('SIGKILL');
        throw err;
      }
      run.child.kill('SIGTERM');
      const { code, signal } = await exitWithin(run, 20_000);
      assert.equal(signal, null);
      assert.equal(code, 0, run.output().stdout.split('\n').slice(-10).join('\n'));
      const lines = logLines(run.output().stdout);
      const last = lines[lines.length - 1];
      assert.equal(last?.msg, 'stopped cleanly');
      assert.equal(last?.event, 'service.stopped');
      assert.equal(last?.service, service);
      assert.ok(
        lines.some((l) => l.event === 'service.stopping'),
        'it announced the drain before stopping',
      );
    });
  }
});

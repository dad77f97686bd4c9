import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { closeDb, countOutboxRows, createTestProduct, dbPool } from '../support/db.js';
import { createTopic, deleteTopics, readEvents, uniqueTopic } from '../support/kafka.js';
import { stackEnv } from '../support/stack-env.js';
import { call, capturingLogger, commitBody, eventually, startDataApi, startRelay } from './helpers.js';

/**
 * A PostgreSQL restart kills every session. Restarting the shared server would hurt everyone's
 * tests, so this kills only this test's sessions (found by their application_name): the same
 * thing seen from the process.
 */
describe('order-manage-data-api: losing its PostgreSQL connections', () => {
  const topic = uniqueTopic('data-api-pg-loss');
  after(async () => {
    await dbPool().query('DELETE FROM outbox_event WHERE topic = $1', [topic]);
    await deleteTopics([topic]).catch(() => undefined);
    await closeDb();
  });

  it('keeps running, commits the next order, and its relay hears new events again after reconnecting', async () => {
    await createTopic(topic);
    const appName = `oms-test-${randomUUID().slice(0, 8)}`;
    const api = await startDataApi({ topic, applicationName: appName });
    const { logger, lines } = capturingLogger();
    // A poll far longer than the read timeout: only the LISTEN session can wake this relay in time.
    const relay = startRelay({ topic, logger, applicationName: `${appName}-relay`, pollIntervalMs: 120_000 });
    const sessions = async (pattern: string) =>
      (await dbPool().query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name LIKE $1', [pattern])).rows.map(
        (r) => r.pid,
      );
    try {
      const product = await createTestProduct({ availableQuantity: 10 });
      const first = commitBody([{ product, quantity: 1 }]);
      assert.equal((await call(api, 'POST', '/internal/orders', { body: first })).status, 201);
      await readEvents({ topic, predicate: (e) => e.value.orderId === first.order.orderId });

      await eventually('the relay LISTEN session', async () => (await sessions(`${appName}-relay`)).length > 0);
      const killed = await sessions(`${appName}%`);
      assert.ok(killed.length >= 2, 'the api pool and the relay LISTEN session are connected');
      await dbPool().query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [killed]);

      assert.equal((await call(api, 'GET', '/health/live', { token: null })).status, 200);
      await eventually('a new LISTEN session', async () => (await sessions(`${appName}-relay`)).some((pid) => !killed.includes(pid)));
      assert.ok(lines.some((l) => l.event === 'outbox.listener.disconnected' && l.level === 'warn'));

      const second = commitBody([{ product, quantity: 2 }]);
      assert.equal((await call(api, 'POST', '/internal/orders', { body: second })).status, 201);
      // Marked published only once Kafka acknowledged it: then the topic, read to its end, holds every copy.
      await eventually(
        'the second order published',
        async () => (await countOutboxRows(second.order.orderId, { unpublishedOnly: true })) === 0,
        20_000,
      );
      const events = await readEvents({ topic, predicate: (e) => e.value.orderId === second.order.orderId, untilEnd: true });
      assert.deepEqual(
        events.map((e) => e.value.availableAfter),
        [7],
        'one event, none twice',
      );
      assert.equal((await call(api, 'GET', '/health/ready', { token: null })).status, 200);
    } finally {
      await relay.stop();
      await api.close();
    }
  });

  it('answers 503 DATABASE_UNAVAILABLE with Retry-After, and not ready, while PostgreSQL cannot be reached', async () => {
    const unreachable = new URL(stackEnv().DATABASE_URL);
    unreachable.port = '1';
    const api = await startDataApi({ topic, databaseUrl: unreachable.toString() });
    try {
      const product = await createTestProduct({ availableQuantity: 3 });
      const res = await call(api, 'POST', '/internal/orders', { body: commitBody([{ product, quantity: 1 }]) });
      assert.equal(res.status, 503);
      assert.equal(res.body.code, 'DATABASE_UNAVAILABLE');
      assert.equal(res.headers.get('retry-after'), '1');
      const resolve = await call(api, 'POST', '/internal/variants/resolve', {
        body: {
          lines: [{ lineItemId: '1', productId: String(product.productId), variantId: String(product.variantId), sku: product.sku }],
        },
      });
      assert.equal(resolve.status, 503);
      assert.equal(resolve.body.code, 'DATABASE_UNAVAILABLE');
      assert.equal(resolve.headers.get('retry-after'), '1');
      const ready = await call(api, 'GET', '/health/ready', { token: null });
      assert.equal(ready.status, 503);
      assert.equal((ready.body.dependencies as Record<string, { status: string }>).postgres?.status, 'down');
    } finally {
      await api.close();
    }
  });
});

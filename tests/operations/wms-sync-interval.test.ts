/**
 * WMS_SYNC_INTERVAL_MS (docs/spec.md section 10): order-manage-api runs the stock sync on an interval, in
 * one replica at a time through the Redis lock `wms:sync`. The interval runs here in-process with
 * the real Redis (a lock key of the test's own), the running data-api and WireMock (a WMS list stub
 * answered only to the test's own key, listing only its own SKUs).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { createLogger, type Logger, prom } from '@oms/common';
import { createRedis } from '../../services/order-manage-api/src/clients/redis.js';
import { createWmsClient } from '../../services/order-manage-api/src/clients/wms.js';
import { configSchema } from '../../services/order-manage-api/src/config.js';
import { createWmsSync } from '../../services/order-manage-api/src/wms-sync.js';
import { startWmsSyncInterval } from '../../services/order-manage-api/src/wms-sync-interval.js';
import { closedPort } from '../order-api/intake-harness.js';
import { closeDb, createTestProduct, readMovements, type TestProduct } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { removeShopifyRequests } from '../support/shopify.js';
import { shopifyAvailable } from '../support/shopify-stand-in.js';
import { stackEnv } from '../support/stack-env.js';
import { stubWmsList } from './stock-support.js';

after(closeDb);

type Line = { level: string; msg: string; event?: string };

function captureLogger(): { logger: Logger; lines: Line[] } {
  const logger = createLogger({ service: 'order-manage-api', level: 'debug' });
  const lines: Line[] = [];
  for (const transport of logger.transports) transport.silent = !process.env.SHOW_SERVICE_LOGS;
  logger.on('data', (info: Line) => lines.push({ ...info }));
  return { logger, lines };
}

async function variant(t: { after: (fn: () => Promise<void>) => void }, availableQuantity: number): Promise<TestProduct> {
  const v = await createTestProduct({ availableQuantity });
  t.after(() => removeShopifyRequests([v.inventoryItemId]));
  return v;
}

/** One api replica's interval against its own WMS list stub and lock key. */
async function replica(
  t: { after: (fn: () => Promise<void>) => void },
  options: { wmsKey: string; lockKey: string; intervalMs: number; redisUrl?: string },
) {
  const { logger, lines } = captureLogger();
  const redis = createRedis(options.redisUrl ?? stackEnv().REDIS_URL, logger);
  if (!options.redisUrl) {
    await new Promise<void>((resolve, reject) => {
      if (redis.status === 'ready') return resolve();
      redis.once('ready', resolve);
      redis.once('error', reject);
    });
  }
  const registry = new prom.Registry();
  const env = stackEnv();
  const interval = startWmsSyncInterval({
    sync: createWmsSync({
      wms: createWmsClient({ baseUrl: env.WMS_BASE_URL, apiKey: options.wmsKey, timeoutMs: 2_000 }),
      dataApiUrl: env.DATA_API_URL,
      token: env.INTERNAL_API_TOKEN,
      logger,
    }),
    redis,
    logger,
    intervalMs: options.intervalMs,
    registry,
    lockKey: options.lockKey,
  });
  t.after(async () => {
    await interval.stop();
    await redis.del(options.lockKey).catch(() => undefined);
    redis.disconnect();
  });
  return { interval, redis, registry, lines };
}

const ledger = async (v: TestProduct) => (await readMovements(v.variantId)).map((m) => [m.reason, m.delta]);

describe('WMS_SYNC_INTERVAL_MS: the api brings stock to the WMS figure on an interval, one replica at a time', () => {
  it('is off by default and takes a whole number of milliseconds', () => {
    const required = {
      DATA_API_URL: 'http://127.0.0.1:8081',
      INTERNAL_API_TOKEN: 'an-internal-token',
      REDIS_URL: 'redis://127.0.0.1:6379',
      WMS_BASE_URL: 'http://127.0.0.1:8089',
      WMS_API_KEY: 'key',
      SHOPIFY_WEBHOOK_SECRET: 'a-webhook-secret',
      SHOPIFY_LOCATION_ID: '65432109876',
    };
    assert.equal(configSchema.parse(required).WMS_SYNC_INTERVAL_MS, 0);
    assert.equal(configSchema.parse({ ...required, WMS_SYNC_INTERVAL_MS: '300000' }).WMS_SYNC_INTERVAL_MS, 300_000);
    for (const bad of ['-1', '1.5', 'hourly'])
      assert.equal(configSchema.safeParse({ ...required, WMS_SYNC_INTERVAL_MS: bad }).success, false, bad);
  });

  it('skips a tick while another replica holds the lock, runs once it is free, and then holds it against the others', async (t) => {
    const v = await variant(t, 10);
    const wms = await stubWmsList([[{ sku: v.sku, availableQuantity: 13 }]]);
    t.after(() => wms.remove());
    const lockKey = `test:wms:sync:${randomUUID()}`;
    const one = await replica(t, { wmsKey: wms.key, lockKey, intervalMs: 60_000 });
    const two = await replica(t, { wmsKey: wms.key, lockKey, intervalMs: 60_000 });

    await one.redis.set(lockKey, 'a-replica-elsewhere', 'PX', 60_000);
    assert.equal(await one.interval.tick(), 'locked_elsewhere');
    assert.deepEqual(await ledger(v), [['import', 10]]);

    await one.redis.del(lockKey);
    assert.equal(await one.interval.tick(), 'completed');
    const movements = await readMovements(v.variantId);
    assert.deepEqual(
      movements.map((m) => [m.reason, m.delta, m.availableAfter]),
      [
        ['import', 10, 10],
        ['wms_sync', 3, 13],
      ],
    );
    assert.match(movements[1]!.reference, /^wms-\d{8}T\d{6}Z-[0-9a-f]{6}$/);

    assert.equal(
      await two.interval.tick(),
      'locked_elsewhere',
      'the lock stays for the interval: the other replica does not run again at once',
    );
    const ttl = await one.redis.pttl(lockKey);
    assert.ok(ttl > 0 && ttl <= 60_000, `lock TTL ${ttl}`);
    assert.deepEqual(await ledger(v), [
      ['import', 10],
      ['wms_sync', 3],
    ]);

    const metrics = await one.registry.metrics();
    assert.match(metrics, /wms_sync_runs_total\{outcome="locked_elsewhere"\} 1/);
    assert.match(metrics, /wms_sync_runs_total\{outcome="completed"\} 1/);
    assert.match(metrics, /wms_sync_variants_changed_total 1/);
    assert.match(metrics, /wms_sync_last_success_timestamp_seconds \d/);
    assert.ok(
      one.lines.some((l) => l.event === 'wms.sync.completed' && /1 changed/.test(l.msg)),
      'the run is logged',
    );
    await eventually(async () => assert.equal(await shopifyAvailable(v.inventoryItemId, v.locationId), 13), 30_000);
  });

  it('runs by itself every interval', async (t) => {
    const v = await variant(t, 10);
    const wms = await stubWmsList([[{ sku: v.sku, availableQuantity: 6 }]]);
    t.after(() => wms.remove());
    const { lines } = await replica(t, { wmsKey: wms.key, lockKey: `test:wms:sync:${randomUUID()}`, intervalMs: 200 });
    await eventually(async () =>
      assert.deepEqual(await ledger(v), [
        ['import', 10],
        ['wms_sync', -4],
      ]),
    );
    assert.ok(lines.some((l) => l.event === 'wms.sync.scheduled'));
    await eventually(() => assert.ok(lines.some((l) => l.event === 'wms.sync.completed')));
  });

  it('runs nowhere while Redis is unreachable, and says so', async (t) => {
    const v = await variant(t, 10);
    const wms = await stubWmsList([[{ sku: v.sku, availableQuantity: 2 }]]);
    t.after(() => wms.remove());
    const { interval, registry, lines } = await replica(t, {
      wmsKey: wms.key,
      lockKey: `test:wms:sync:${randomUUID()}`,
      intervalMs: 60_000,
      redisUrl: `redis://127.0.0.1:${await closedPort()}`,
    });
    assert.equal(await interval.tick(), 'lock_unavailable');
    assert.match(await registry.metrics(), /wms_sync_runs_total\{outcome="lock_unavailable"\} 1/);
    assert.ok(lines.some((l) => l.event === 'wms.sync.skipped' && l.level === 'warn'));
    assert.deepEqual(await ledger(v), [['import', 10]]);
  });
});

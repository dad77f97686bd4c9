/**
 * Issue 7, failures of the WMS, Redis and PostgreSQL. Redis and PostgreSQL are the machine's
 * shared servers, never stopped: each test runs a private real redis-server / PostgreSQL cluster
 * on a spare port and builds the affected service in-process (its createApp with real clients)
 * against it. The WMS is the stack's WireMock, with a short timeout and hold TTL and a hold key of
 * this test's own, so no other test is held.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrate } from '../../db/data-source.js';
import { call, commitBody, startDataApi as startDataApiOn } from '../data-api/helpers.js';
import { Report, waitFor } from '../e2e/support.js';
import { type DataApiHandle, startDataApi, startIntake } from '../order-api/intake-harness.js';
import { freePort } from '../stack/support.js';
import { closeDb, createTestProduct, readInventory, readOrder, type TestProduct } from '../support/db.js';
import { uniqueTopic } from '../support/kafka.js';
import { fetchRequestDurations } from '../support/metrics.js';
import { buildShopifyOrder, lineOf, randomOrderId } from '../support/orders.js';
import { stackEnv } from '../support/stack-env.js';
import { stubWmsInventory, wmsRequestsFor } from '../support/wiremock.js';

const report = new Report('reliability: WMS, Redis and PostgreSQL failures');
let dataApi: DataApiHandle;

before(async () => {
  dataApi = await startDataApi();
});

after(async () => {
  report.print();
  await dataApi.stop();
  await closeDb();
});

async function health(url: string): Promise<{ status: number; body: { dependencies: Record<string, { status: string }> } }> {
  const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as { dependencies: Record<string, { status: string }> } };
}

describe('the WMS slow, then down, then back', () => {
  it('3 attempts per check, a hold with a TTL, held orders refused at once without WMS calls, normal again once the hold expires', async () => {
    const product = await createTestProduct({ availableQuantity: 20 });
    const redis = new Redis(stackEnv().REDIS_URL, { maxRetriesPerRequest: 1 });
    const intake = await startIntake({ dataApiUrl: dataApi.url, wmsTimeoutMs: 200, holdTtlSeconds: 2 });
    let removeStub = await stubWmsInventory(product.sku, { availableQuantity: 20, delayMs: 1_000 });
    const order = () => buildShopifyOrder({ orderId: randomOrderId(), lines: [lineOf(product, 1)] });
    const refusedIds: number[] = [];
    const holdGone = () =>
      waitFor('the hold to expire', async () => ((await redis.exists(intake.holdKey)) === 0 ? true : undefined), 10_000, 100);
    const fastest: number[] = [];
    try {
      const slowOrder = order();
      refusedIds.push(slowOrder.id);
      const slow = await intake.post(slowOrder);
      assert.equal(slow.status, 503);
      assert.equal(slow.json.code, 'WMS_UNAVAILABLE');
      assert.equal(slow.headers.get('retry-after'), '2');
      assert.equal((await wmsRequestsFor(product.sku)).length, 3, 'three attempts, each cut by the timeout');
      const ttl = await redis.ttl(intake.holdKey);
      assert.ok(ttl >= 1 && ttl <= 2, `the hold has a TTL (${ttl})`);

      const heldOrder = order();
      refusedIds.push(heldOrder.id);
      // The figure for the report is the service's own measure of the held answer, not the test's clock.
      const refusalsMeasured = (count: number) =>
        waitFor(
          `${count} refusal(s) measured by the service`,
          async () => {
            const durations = await fetchRequestDurations(intake.url, { route: '/api/shopify/webhooks/orders', status: 503 });
            return durations.count === count ? durations : undefined;
          },
          5_000,
          50,
        );
      const beforeHeld = await refusalsMeasured(1);
      const held = await intake.post(heldOrder);
      const afterHeld = await refusalsMeasured(2);
      fastest.push((afterHeld.sum - beforeHeld.sum) * 1_000);
      assert.equal(held.status, 503);
      assert.equal(held.json.code, 'WMS_UNAVAILABLE');
      assert.ok(Number(held.headers.get('retry-after')) >= 1, 'Retry-After is the hold left');
      assert.equal((await wmsRequestsFor(product.sku)).length, 3, 'no WMS call while held');

      await removeStub();
      removeStub = await stubWmsInventory(product.sku, { status: 503 });
      await holdGone();
      const downOrder = order();
      refusedIds.push(downOrder.id);
      const down = await intake.post(downOrder);
      assert.equal(down.status, 503);
      assert.equal((await wmsRequestsFor(product.sku)).length, 6, 'three more attempts once the hold expired');
      assert.ok((await redis.ttl(intake.holdKey)) > 0, 'held again');

      await removeStub();
      removeStub = await stubWmsInventory(product.sku, { availableQuantity: 20 });
      await holdGone();
      const normal = await intake.post(order());
      assert.equal(normal.status, 201, JSON.stringify(normal.json));
      for (const id of refusedIds) assert.equal(await readOrder(id), null, 'a refused order wrote nothing');
      assert.equal((await readInventory(product.variantId))!.availableQuantity, 19);
      report.add({
        scenario: `WMS slow/down, 2 s hold (held answer in ${Math.round(fastest[0]!)} ms)`,
        requests: 4,
        faults: 'WMS 1 s late (timeout 200 ms), then 503',
        accepted: 1,
        refused: 3,
        lost: 0,
        oversold: 0,
      });
    } finally {
      await removeStub();
      await intake.stop();
      redis.disconnect();
    }
  });
});

function startRedisServer(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
}

async function redisAnswers(port: number): Promise<true | undefined> {
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG' ? true : undefined;
  } catch {
    return undefined;
  } finally {
    probe.disconnect();
  }
}

describe('Redis killed', () => {
  it('orders are still accepted (the hold fails open) and readiness reports Redis down; it reconnects when Redis returns', async () => {
    const port = await freePort();
    let server = startRedisServer(port);
    await waitFor('the private redis-server', () => redisAnswers(port), 10_000, 100);
    const product = await createTestProduct({ availableQuantity: 10 });
    const removeStub = await stubWmsInventory(product.sku, { availableQuantity: 10 });
    const intake = await startIntake({ dataApiUrl: dataApi.url, redisUrl: `redis://127.0.0.1:${port}` });
    try {
      await waitFor(
        'readiness with Redis up',
        async () => ((await health(intake.url)).body.dependencies.redis?.status === 'up' ? true : undefined),
        10_000,
      );
      const before = await intake.post(buildShopifyOrder({ lines: [lineOf(product, 1)] }));
      assert.equal(before.status, 201);

      server.kill('SIGKILL');
      await new Promise((resolve) => server.once('exit', resolve));
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await intake.post(buildShopifyOrder({ lines: [lineOf(product, 1)] })));
      assert.deepEqual(
        answers.map((a) => a.status),
        [201, 201, 201],
        'accepted without Redis',
      );
      const ready = await health(intake.url);
      assert.equal(ready.status, 200, 'Redis does not gate readiness');
      assert.equal(ready.body.dependencies.redis?.status, 'down', 'readiness tells Redis is down');
      assert.ok(
        intake.lines.some((l) => l.level === 'warn' && (l.event === 'redis.unavailable' || l.event === 'wms.hold.redis_unavailable')),
        'a warning says Redis is unavailable',
      );
      assert.equal((await readInventory(product.variantId))!.availableQuantity, 6);

      server = startRedisServer(port);
      await waitFor(
        'readiness with Redis back',
        async () => ((await health(intake.url)).body.dependencies.redis?.status === 'up' ? true : undefined),
        20_000,
      );
      report.add({
        scenario: 'private Redis SIGKILLed, restarted',
        requests: 4,
        faults: 'kill -9 redis-server',
        accepted: 4,
        refused: 0,
        lost: 0,
        oversold: 0,
      });
    } finally {
      server.kill('SIGKILL');
      await removeStub();
      await intake.stop();
    }
  });
});

/** A private PostgreSQL cluster in a temp dir; as root it runs as the `postgres` account, as initdb requires. */
class PrivatePostgres {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'oms-reliability-pg-'));
  readonly data = path.join(this.dir, 'data');
  constructor(readonly port: number) {}

  static bin(name: string): string {
    const found = spawnSync('sh', ['-c', `ls -d /usr/lib/postgresql/*/bin/${name} | sort -V | tail -1`], {
      encoding: 'utf8',
    }).stdout.trim();
    if (!found) throw new Error(`no ${name} under /usr/lib/postgresql/*/bin`);
    return found;
  }

  private run(name: string, args: string[]): void {
    const asRoot = process.getuid?.() === 0;
    const [command, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', PrivatePostgres.bin(name), ...args]]
      : [PrivatePostgres.bin(name), args];
    const result = spawnSync(command, argv, { encoding: 'utf8', timeout: 120_000 });
    if (result.status !== 0) throw new Error(`${name} ${args.join(' ')} failed: ${result.stdout}${result.stderr}`);
  }

  init(): void {
    if (process.getuid?.() === 0) {
      const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      chownSync(this.dir, uid, gid);
    }
    this.run('initdb', ['-D', this.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  }

  start(): void {
    this.run('pg_ctl', [
      '-D',
      this.data,
      '-l',
      path.join(this.dir, 'log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-w',
      'start',
    ]);
  }

  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    this.run('pg_ctl', ['-D', this.data, '-m', mode, '-w', 'stop']);
  }

  url(database = 'orders'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  remove(): void {
    try {
      this.stop('immediate');
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('PostgreSQL restarted', () => {
  it('the data-api answers 503 and reports not ready while it is down, then reconnects by itself', async () => {
    const server = new PrivatePostgres(await freePort());
    server.init();
    server.start();
    const url = server.url();
    await migrate(url);
    const product: TestProduct = {
      variantId: 41_100_000_000_001,
      productId: 8_100_000_000_001,
      sku: 'PG-RESTART-1',
      title: 'Restart-proof mug',
      price: '12.50',
      currency: 'USD',
      availableQuantity: 10,
      inventoryItemId: 46_100_000_000_001,
      locationId: 70_100_000_001,
    };
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // The variant at zero, then its stock as a movement: the ledger is the only writer of stock.
    await admin.query(
      `INSERT INTO inventory (variant_id, product_id, sku, title, price, currency, shopify_inventory_item_id, shopify_location_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        product.variantId,
        product.productId,
        product.sku,
        product.title,
        product.price,
        product.currency,
        product.inventoryItemId,
        product.locationId,
      ],
    );
    await admin.query(
      `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key) VALUES ($1, 10, 'import', 'test', 'test-import:pg-restart')`,
      [product.variantId],
    );
    await admin.end();
    const api = await startDataApiOn({ topic: uniqueTopic('pg-restart'), databaseUrl: url, kafkaGatesReadiness: false });
    try {
      assert.equal((await call(api, 'POST', '/internal/orders', { body: commitBody([{ product, quantity: 1 }]) })).status, 201);
      assert.equal((await call(api, 'GET', '/health/ready', { token: null })).status, 200);

      server.stop('fast');
      const notReady = await call(api, 'GET', '/health/ready', { token: null });
      assert.equal(notReady.status, 503, 'not ready while PostgreSQL is down');
      assert.equal((notReady.body.dependencies as Record<string, { status: string }>).postgres!.status, 'down');
      const refused = await call(api, 'POST', '/internal/orders', { body: commitBody([{ product, quantity: 1 }]) });
      assert.equal(refused.status, 503);
      assert.equal(refused.body.code, 'DATABASE_UNAVAILABLE');

      server.start();
      await waitFor(
        'readiness after the restart',
        async () => ((await call(api, 'GET', '/health/ready', { token: null })).status === 200 ? true : undefined),
        30_000,
      );
      const accepted = await call(api, 'POST', '/internal/orders', { body: commitBody([{ product, quantity: 2 }]) });
      assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
      const check = new pg.Client({ connectionString: url });
      await check.connect();
      const { rows } = await check.query<{ available_quantity: number; orders: number; movements: number[] }>(
        `SELECT available_quantity, (SELECT count(*)::int FROM orders) AS orders,
                (SELECT array_agg(delta ORDER BY id) FROM inventory_movement m WHERE m.variant_id = i.variant_id) AS movements
           FROM inventory i WHERE variant_id = $1`,
        [product.variantId],
      );
      await check.end();
      assert.deepEqual(
        rows[0],
        { available_quantity: 7, orders: 2, movements: [10, -1, -2] },
        'the refused commit wrote nothing, the two others everything',
      );
      report.add({
        scenario: 'private PostgreSQL stopped, started',
        requests: 3,
        faults: 'pg_ctl stop -m fast, start',
        accepted: 2,
        refused: 1,
        lost: 0,
        oversold: 0,
      });
    } finally {
      await api.close();
      server.remove();
    }
  });
});

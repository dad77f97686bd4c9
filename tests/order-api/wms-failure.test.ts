import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { closeDb, createTestProduct, readInventory, readOrder } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { fetchRequestDurations } from '../support/metrics.js';
import { buildShopifyOrder, lineOf, randomOrderId } from '../support/orders.js';
import { stackEnv } from '../support/stack-env.js';
import { stubWmsInventory, wiremock, wmsRequestsFor } from '../support/wiremock.js';
import { closedPort, type DataApiHandle, startDataApi, startIntake } from './intake-harness.js';

let dataApi: DataApiHandle;
let redis: Redis;

before(async () => {
  dataApi = await startDataApi();
  redis = new Redis(stackEnv().REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
});

after(async () => {
  redis.disconnect();
  await dataApi.stop();
  await closeDb();
});

/** Retry-After comes from a ticking TTL: a range, never an exact second. */
function assertRetryAfterWithin(res: { headers: Headers }, min: number, max: number): void {
  const seconds = Number(res.headers.get('retry-after'));
  assert.ok(
    Number.isInteger(seconds) && seconds >= min && seconds <= max,
    `Retry-After ${res.headers.get('retry-after')} not within ${min}–${max} s`,
  );
}

describe('WMS failure policy', () => {
  it('after 3 failed attempts answers 503 with Retry-After, sets the hold, and then refuses at once without calling the WMS', async () => {
    const failing = await createTestProduct({ availableQuantity: 10 });
    const healthy = await createTestProduct({ availableQuantity: 10 });
    const removers = [await stubWmsInventory(failing.sku, { status: 500 }), await stubWmsInventory(healthy.sku, { availableQuantity: 10 })];
    const intake = await startIntake({ dataApiUrl: dataApi.url, holdTtlSeconds: 45 });
    try {
      const orderId = randomOrderId();
      const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(failing, 1)] }));
      assert.equal(res.status, 503);
      assert.equal(res.json.code, 'WMS_UNAVAILABLE');
      assert.equal(res.json.orderId, String(orderId));
      // This failure set the test's own hold key: Retry-After is its 45 s, less what has passed since.
      assertRetryAfterWithin(res, 40, 45);
      assert.equal((await wmsRequestsFor(failing.sku)).length, 3, 'exactly 3 attempts');
      const ttl = await redis.ttl(intake.holdKey);
      assert.ok(ttl > 0 && ttl <= 45, `hold TTL ${ttl}`);
      assert.deepEqual(
        intake.lines.filter((l) => l.event === 'wms.hold.started').map((l) => l.orderId),
        [String(orderId)],
        'the line that starts the hold names the order whose WMS checks failed',
      );
      assert.equal(await readOrder(orderId), null);
      assert.equal((await readInventory(failing.variantId))!.availableQuantity, 10);

      const next = await intake.post(buildShopifyOrder({ lines: [lineOf(healthy, 1)] }));
      assert.equal(next.status, 503);
      assert.equal(next.json.code, 'WMS_UNAVAILABLE');
      const retryAfter = Number(next.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 45, `Retry-After ${retryAfter} is the hold's remaining TTL`);
      assert.equal((await wmsRequestsFor(healthy.sku)).length, 0, 'no WMS call while the hold is set');
      assert.ok(intake.lines.some((l) => l.level === 'warn' && l.event === 'order.rejected' && l.code === 'WMS_UNAVAILABLE'));

      await redis.del(intake.holdKey);
      const afterHold = await intake.post(buildShopifyOrder({ lines: [lineOf(healthy, 1)] }));
      assert.equal(afterHold.status, 201, 'the hold gone, orders flow again');
    } finally {
      await Promise.all(removers.map((remove) => remove()));
      await intake.stop();
    }
  });

  it('treats a WMS answer slower than WMS_TIMEOUT_MS as a failure: 3 attempts, then 503 and the hold', async () => {
    const slow = await createTestProduct({ availableQuantity: 10 });
    const remove = await stubWmsInventory(slow.sku, { availableQuantity: 10, delayMs: 1_500 });
    const intake = await startIntake({ dataApiUrl: dataApi.url, wmsTimeoutMs: 150 });
    try {
      const orderId = randomOrderId();
      const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(slow, 1)] }));
      assert.equal(res.status, 503);
      assert.equal(res.json.code, 'WMS_UNAVAILABLE');
      // A fresh hold key set by this failure: the default WMS_HOLD_TTL_SECONDS, less what has passed since.
      assertRetryAfterWithin(res, 55, 60);
      assert.equal((await wmsRequestsFor(slow.sku)).length, 3);
      assert.ok((await redis.ttl(intake.holdKey)) > 0);
      assert.equal(await readOrder(orderId), null);
    } finally {
      await remove();
      await intake.stop();
    }
  });

  it('answers a WMS that fails slowly (500 after 1.9 s) with 503 inside WEBHOOK_DEADLINE_MS, before Shopify gives up at 5 s', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    const remove = await stubWmsInventory(product.sku, { status: 500, delayMs: 1_900 });
    // The defaults: WMS_TIMEOUT_MS 2000, WEBHOOK_DEADLINE_MS 4000.
    const intake = await startIntake({ dataApiUrl: dataApi.url });
    try {
      const orderId = randomOrderId();
      const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(product, 1)] }));
      assert.equal(res.status, 503);
      assert.equal(res.json.code, 'WMS_UNAVAILABLE');
      assert.match(String(res.json.detail), /the answer deadline left no time for another attempt/, 'the answer is the deadline’s outcome');
      assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After tells Shopify when to come back');
      assert.equal((await wmsRequestsFor(product.sku)).length, 2, 'the deadline left no time for a third attempt');
      // Shopify counts an answer after 5 s as a failed delivery: the service's own measure of this answer is within 5 s.
      const answered = await eventually(async () => {
        const durations = await fetchRequestDurations(intake.url, { route: '/api/shopify/webhooks/orders', status: 503 });
        assert.equal(durations.count, 1, 'the one 503 answer is measured');
        return durations;
      }, 5_000);
      assert.equal(answered.within.get('5'), 1, `answered within 5 s by the service's measure (${answered.sum.toFixed(3)} s)`);
      assert.equal(await readOrder(orderId), null);
    } finally {
      await remove();
      await intake.stop();
    }
  });

  it('treats a WMS that refuses connections as a failure: 503 and the hold', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    const intake = await startIntake({ dataApiUrl: dataApi.url, wmsBaseUrl: `http://127.0.0.1:${await closedPort()}` });
    try {
      const orderId = randomOrderId();
      const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(product, 1)] }));
      assert.equal(res.status, 503);
      assert.equal(res.json.code, 'WMS_UNAVAILABLE');
      assert.ok((await redis.ttl(intake.holdKey)) > 0);
      assert.equal(await readOrder(orderId), null);
      assert.equal((await readInventory(product.variantId))!.availableQuantity, 10);
    } finally {
      await intake.stop();
    }
  });

  it('answers a definite WMS refusal (unknown SKU) over a failure of another variant, and still sets the hold', async () => {
    const unknownToWms = await createTestProduct({ availableQuantity: 10 });
    const failing = await createTestProduct({ availableQuantity: 10 });
    const removers = [await stubWmsInventory(unknownToWms.sku, { status: 404 }), await stubWmsInventory(failing.sku, { status: 500 })];
    const intake = await startIntake({ dataApiUrl: dataApi.url });
    try {
      const res = await intake.post(buildShopifyOrder({ lines: [lineOf(unknownToWms, 1), lineOf(failing, 1)] }));
      assert.equal(res.status, 422, 'a retry could never fix this order, so Shopify should not be asked to retry it');
      assert.equal(res.json.code, 'PRODUCT_NOT_FOUND');
      assert.deepEqual(res.json.productIds, [String(unknownToWms.productId)]);
      assert.deepEqual(res.json.variants, [
        { productId: String(unknownToWms.productId), variantId: String(unknownToWms.variantId), sku: unknownToWms.sku },
      ]);
      assert.equal((await wmsRequestsFor(failing.sku)).length, 3);
      assert.ok((await redis.ttl(intake.holdKey)) > 0);
    } finally {
      await Promise.all(removers.map((remove) => remove()));
      await intake.stop();
    }
  });

  it('does not retry an answer that cannot heal (401: our key refused) but still answers 503', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    const remove = await stubWmsInventory(product.sku, { status: 401 });
    const intake = await startIntake({ dataApiUrl: dataApi.url });
    try {
      const res = await intake.post(buildShopifyOrder({ lines: [lineOf(product, 1)] }));
      assert.equal(res.status, 503);
      assert.equal(res.json.code, 'WMS_UNAVAILABLE');
      assert.equal((await wmsRequestsFor(product.sku)).length, 1);
    } finally {
      await remove();
      await intake.stop();
    }
  });

  it('recovers within the 3 attempts when the WMS fails once and then answers', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    const mock = wiremock();
    const endpoint = `/api/v1/inventory/${encodeURIComponent(product.sku)}`;
    const scenarioName = `wms-recovers-${product.variantId}`;
    const failed = await mock.register(
      { method: 'GET', endpoint },
      { status: 503 },
      { stubPriority: 1, scenario: { scenarioName, requiredScenarioState: 'Started', newScenarioState: 'recovered' } },
    );
    const recovered = await mock.register(
      { method: 'GET', endpoint },
      {
        status: 200,
        body: {
          sku: product.sku,
          availableQuantity: 10,
          reservedQuantity: 0,
          totalQuantity: 10,
          locationId: 'WH-TEST-1',
          lastUpdated: new Date().toISOString(),
        },
      },
      { stubPriority: 1, scenario: { scenarioName, requiredScenarioState: 'recovered' } },
    );
    const intake = await startIntake({ dataApiUrl: dataApi.url });
    try {
      const res = await intake.post(buildShopifyOrder({ lines: [lineOf(product, 1)] }));
      assert.equal(res.status, 201);
      assert.equal((await wmsRequestsFor(product.sku)).length, 2);
      assert.equal(await redis.exists(intake.holdKey), 0, 'no hold after a recovered check');
    } finally {
      await Promise.all([failed, recovered].map((m) => mock.deleteMapping((m as { id: string }).id)));
      await intake.stop();
    }
  });
});

describe('Redis unreachable (fail open)', () => {
  it('still accepts orders and logs a warning when Redis cannot be reached', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    const remove = await stubWmsInventory(product.sku, { availableQuantity: 10 });
    const intake = await startIntake({ dataApiUrl: dataApi.url, redisUrl: `redis://127.0.0.1:${await closedPort()}` });
    try {
      const orderId = randomOrderId();
      const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(product, 1)] }));
      assert.equal(res.status, 201);
      assert.ok(await readOrder(orderId));
      assert.ok(
        intake.lines.some((l) => l.level === 'warn' && l.event === 'wms.hold.redis_unavailable'),
        'a warning that the hold could not be read',
      );
    } finally {
      await remove();
      await intake.stop();
    }
  });

  it('answers a failing WMS with 503 even when the hold cannot be set', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    const remove = await stubWmsInventory(product.sku, { status: 502 });
    const intake = await startIntake({ dataApiUrl: dataApi.url, redisUrl: `redis://127.0.0.1:${await closedPort()}`, holdTtlSeconds: 30 });
    try {
      const res = await intake.post(buildShopifyOrder({ lines: [lineOf(product, 1)] }));
      assert.equal(res.status, 503);
      assert.equal(res.json.code, 'WMS_UNAVAILABLE');
      // Redis cannot be reached, so no TTL is read; the configured hold length is the advice.
      assertRetryAfterWithin(res, 25, 30);
      assert.ok(intake.lines.some((l) => l.level === 'warn' && /setting the WMS hold/.test(l.msg)));
    } finally {
      await remove();
      await intake.stop();
    }
  });
});

describe('the answer deadline (WEBHOOK_DEADLINE_MS)', () => {
  it('answers 503 with Retry-After when the deadline runs out before a healthy but slow WMS answers, and holds no WMS call', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    // Slower than the deadline leaves, faster than WMS_TIMEOUT_MS: the WMS itself is not failing.
    const remove = await stubWmsInventory(product.sku, { availableQuantity: 10, delayMs: 1_500 });
    const intake = await startIntake({ dataApiUrl: dataApi.url, deadlineMs: 800, wmsTimeoutMs: 2_000 });
    try {
      const orderId = randomOrderId();
      const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(product, 1)] }));
      assert.equal(res.status, 503);
      assert.equal(res.json.code, 'WMS_UNAVAILABLE');
      assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After tells Shopify when to come back');
      assert.equal((await wmsRequestsFor(product.sku)).length, 1, 'one attempt, cut by the deadline');
      assert.equal(await redis.exists(intake.holdKey), 0, 'no hold: the deadline, not the WMS, ran out');
      assert.ok(
        intake.lines.some((l) => l.event === 'wms.check.failed'),
        'the cut check is logged',
      );
      assert.equal(await readOrder(orderId), null);
    } finally {
      await remove();
      await intake.stop();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { closeDb, createTestProduct, readOrder } from '../support/db.js';
import { buildShopifyOrder, randomOrderId } from '../support/orders.js';
import { stackEnv } from '../support/stack-env.js';
import { stubWmsInventory, wmsRequestsFor } from '../support/wiremock.js';
import { type DataApiHandle, startDataApi, startIntake } from './intake-harness.js';

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

describe('the answer deadline (WEBHOOK_DEADLINE_MS)', () => {
  it('answers 503 with Retry-After when the deadline runs out before a healthy but slow WMS answers, and holds no WMS call', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    // Slower than the deadline leaves, faster than WMS_TIMEOUT_MS: the WMS itself is not failing.
    const remove = await stubWmsInventory(product.productId, { availableQuantity: 10, delayMs: 1_500 });
    const intake = await startIntake({ dataApiUrl: dataApi.url, deadlineMs: 800, wmsTimeoutMs: 2_000 });
    try {
      const orderId = randomOrderId();
      const res = await intake.post(buildShopifyOrder({ orderId, lines: [{ productId: product.productId, quantity: 1 }] }));
      assert.equal(res.status, 503);
      assert.equal(res.json.code, 'WMS_UNAVAILABLE');
      assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After tells Shopify when to come back');
      assert.equal((await wmsRequestsFor(product.productId)).length, 1, 'one attempt, cut by the deadline');
      assert.equal(await redis.exists(intake.holdKey), 0, 'no hold: the deadline, not the WMS, ran out');
      assert.ok(intake.lines.some((l) => l.event === 'wms.check.failed'), 'the cut check is logged');
      assert.equal(await readOrder(orderId), null);
    } finally {
      await remove();
      await intake.stop();
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeDb, createTestProduct } from '../support/db.js';
import { buildShopifyOrder } from '../support/orders.js';
import { stubWmsInventory } from '../support/wiremock.js';
import { closedPort, type DataApiHandle, startDataApi, startIntake } from './intake-harness.js';

let dataApi: DataApiHandle;

before(async () => {
  dataApi = await startDataApi();
});

after(async () => {
  await dataApi.stop();
  await closeDb();
});

const getJson = async (url: string) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, json: (await res.json()) as Record<string, Record<string, { status: string; critical?: boolean }>> };
};

describe('order-manage-api health', () => {
  it('is ready when the data-api answers, and reports Redis', async () => {
    const intake = await startIntake({ dataApiUrl: dataApi.url });
    try {
      assert.equal((await fetch(`${intake.url}/health/live`)).status, 200);
      const ready = await getJson(`${intake.url}/health/ready`);
      assert.equal(ready.status, 200);
      assert.equal(ready.json.dependencies!['order-manage-data-api']!.status, 'up');
      assert.equal(ready.json.dependencies!.redis!.status, 'up');
    } finally {
      await intake.stop();
    }
  });

  it('is not ready without the data-api, since no order can be accepted then', async () => {
    const intake = await startIntake({ dataApiUrl: `http://127.0.0.1:${await closedPort()}` });
    try {
      const ready = await getJson(`${intake.url}/health/ready`);
      assert.equal(ready.status, 503);
      assert.equal(ready.json.dependencies!['order-manage-data-api']!.status, 'down');
    } finally {
      await intake.stop();
    }
  });

  it('stays ready without Redis (the hold fails open) and reports it down', async () => {
    const intake = await startIntake({ dataApiUrl: dataApi.url, redisUrl: `redis://127.0.0.1:${await closedPort()}` });
    try {
      const ready = await getJson(`${intake.url}/health/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(
        { status: ready.json.dependencies!.redis!.status, critical: ready.json.dependencies!.redis!.critical },
        { status: 'down', critical: false },
      );
    } finally {
      await intake.stop();
    }
  });
});

describe('order-manage-api metrics', () => {
  it('counts orders by outcome and WMS calls in Prometheus text', async () => {
    const product = await createTestProduct({ availableQuantity: 5 });
    const remove = await stubWmsInventory(product.sku, { availableQuantity: 5 });
    const intake = await startIntake({ dataApiUrl: dataApi.url });
    try {
      assert.equal(
        (await intake.post(buildShopifyOrder({ lines: [{ productId: product.productId, variantId: product.variantId, quantity: 1 }] })))
          .status,
        201,
      );
      assert.equal((await intake.post(buildShopifyOrder({ lines: [] }))).status, 400);
      const res = await fetch(`${intake.url}/metrics`);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await res.text();
      const sample = (name: string, outcome: string) =>
        text
          .split('\n')
          .find((line) => line.startsWith(`${name}{`) && line.includes(`outcome="${outcome}"`))
          ?.split(' ')
          .at(-1);
      assert.equal(sample('orders_total', 'accepted'), '1');
      assert.equal(sample('orders_total', 'INVALID_PAYLOAD'), '1');
      assert.equal(sample('wms_requests_total', 'ok'), '1');
      assert.equal(sample('wms_request_duration_seconds_count', 'ok'), '1');
    } finally {
      await remove();
      await intake.stop();
    }
  });
});

import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { createLogger } from '@oms/common';
import { createApp } from '../../services/order-stream-process/src/entry-points/http.js';
import { createStockSource } from '../../services/order-stream-process/src/clients/stock.js';
import { buildCompareAndSetRequest } from '../../services/order-stream-process/src/domain/mutation.js';
import { closeDb } from '../support/db.js';
import { shopifyReplies, shopifyRequests, stubShopify } from '../support/shopify.js';
import {
  benchFor,
  closedPortUrl,
  createBench,
  createVariant,
  eventually,
  recordMovement,
  type Bench,
  type TestVariant,
} from './harness.js';

after(closeDb);

async function serveBench(bench: Bench): Promise<{ url: string; close: () => Promise<void> }> {
  const app = createApp({
    logger: createLogger({ service: 'order-stream-process', level: 'error' }),
    metrics: bench.metrics,
    checks: { kafka: () => bench.processor.checkKafka(), shopify: () => bench.shopify.ping(), dataApi: () => bench.stock.ping() },
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) };
}

describe('health and metrics of order-stream-process', () => {
  it('is ready once its consumer is in the group and Shopify and the data-api answer; exposes consumer and Shopify metrics', async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t);
    const http = await serveBench(bench);
    t.after(() => http.close());

    const live = await fetch(`${http.url}/health/live`);
    assert.equal(live.status, 200);
    const ready = await eventually(async () => {
      const res = await fetch(`${http.url}/health/ready`);
      assert.equal(res.status, 200);
      return (await res.json()) as { dependencies: Record<string, { status: string }> };
    });
    assert.equal(ready.dependencies.kafka?.status, 'up');
    assert.equal(ready.dependencies.shopify?.status, 'up');
    assert.equal(ready.dependencies.dataApi?.status, 'up');

    const event = await recordMovement(variant, { reason: 'order', delta: -1 });
    await bench.produce([event]);
    await eventually(() => assert.ok(bench.success(event.eventId)));

    const metrics = await eventually(async () => {
      const text = await (await fetch(`${http.url}/metrics`)).text();
      assert.match(text, new RegExp(`inventory_consumer_lag\\{[^}]*topic="${bench.topic}"[^}]*\\} 0`));
      return text;
    });
    assert.match(metrics, /inventory_events_processed_total\{[^}]*result="lowered"[^}]*\} 1/);
    assert.match(metrics, /shopify_requests_total\{[^}]*outcome="success"[^}]*\} 2/, 'a read and a compare-and-set');
    assert.match(metrics, /shopify_request_duration_seconds_count\{[^}]*outcome="success"[^}]*\} 2/);
  });

  it('is not ready while the consumer is not in its group, Shopify cannot be reached or the data-api does not answer', async (t) => {
    const bench = await createBench({ start: false, shopifyBaseUrl: await closedPortUrl() });
    const stock = createStockSource({ baseUrl: await closedPortUrl(), token: 'local-internal-token', timeoutMs: 1_000 });
    const http = await serveBench({ ...bench, stock, processor: bench.processor });
    t.after(async () => {
      await http.close();
      await bench.close();
    });

    const res = await fetch(`${http.url}/health/ready`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { dependencies: Record<string, { status: string; reason?: string }> };
    // A fixed reason each; the error itself ("not in its group", a refused address) goes to the log only.
    assert.deepEqual(body.dependencies, {
      kafka: { status: 'down', reason: 'error' },
      shopify: { status: 'down', reason: 'error' },
      dataApi: { status: 'down', reason: 'error' },
    });
  });
});

describe("Shopify's rate limits", () => {
  it("honours a 429's Retry-After and waits for the cost bucket before the next call", async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const stub = await stubShopify(
      [variant.inventoryItemId],
      [shopifyReplies.tooManyRequests(1), shopifyReplies.ok({ currentlyAvailable: 0 })],
      {
        operation: 'inventorySetQuantities',
        thenStandIn: true,
      },
    );
    t.after(() => stub.remove());
    const bench = await benchFor(t, { start: false });
    const waited = async () => {
      const text = await bench.metrics.registry.metrics();
      return Number(/^shopify_throttle_wait_seconds_total\{[^}]*\} (\S+)$/m.exec(text)?.[1] ?? 0);
    };
    const lower = (v: TestVariant, from: number, to: number, attempt: string) =>
      buildCompareAndSetRequest(
        [{ inventoryItemId: String(v.inventoryItemId), locationId: String(v.locationId), from, to, version: 1 }],
        attempt,
        () => 'gid://order-intake/Test/1',
      );

    const result = await bench.shopify.setInventoryQuantities(lower(variant, 10, 9, 'first'));
    assert.equal(result.attempts, 2);
    const afterRetryAfter = await waited();
    assert.ok(afterRetryAfter >= 0.5, `Retry-After: 1 should be waited for, waited ${afterRetryAfter}s`);

    // The second answer left the bucket empty (0 of 2000 points, 100 restored a second).
    await bench.shopify.setInventoryQuantities(lower(variant, 10, 8, 'second'));
    assert.ok((await waited()) > afterRetryAfter, 'the call after an empty bucket waits for it to refill');
    assert.equal((await shopifyRequests([variant.inventoryItemId])).length, 3);
  });
});

import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createLogger } from '@oms/common';
import { createApp } from '../../services/order-stream-process/src/app.js';
import { buildInventorySetQuantities } from '../../services/order-stream-process/src/domain/mutation.js';
import { removeShopifyRequests, shopifyReplies, shopifyRequests, stubShopify } from '../support/shopify.js';
import { createBench, eventually, makeEvent, randomItem, type Bench } from './harness.js';

async function serveBench(bench: Bench): Promise<{ url: string; close: () => Promise<void> }> {
  const app = createApp({
    logger: createLogger({ service: 'order-stream-process', level: 'error' }),
    metrics: bench.metrics,
    checks: { kafka: () => bench.processor.checkKafka(), shopify: () => bench.shopify.ping() },
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) };
}

async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe('health and metrics of order-stream-process', () => {
  it('is ready once its consumer is in the group and Shopify answers; exposes consumer and Shopify metrics', async (t) => {
    const item = randomItem();
    const stub = await stubShopify([item.inventoryItemId], shopifyReplies.ok());
    const bench = await createBench();
    const http = await serveBench(bench);
    t.after(async () => {
      await http.close();
      await bench.close();
      await stub.remove();
      await removeShopifyRequests([item.inventoryItemId]);
    });

    const live = await fetch(`${http.url}/health/live`);
    assert.equal(live.status, 200);
    const ready = await eventually(async () => {
      const res = await fetch(`${http.url}/health/ready`);
      assert.equal(res.status, 200);
      return (await res.json()) as { dependencies: Record<string, { status: string }> };
    });
    assert.equal(ready.dependencies.kafka?.status, 'up');
    assert.equal(ready.dependencies.shopify?.status, 'up');

    const event = makeEvent(item);
    await bench.produce([event]);
    await eventually(() => assert.ok(bench.successLines().some((l) => l.eventId === event.eventId)));

    const metrics = await eventually(async () => {
      const text = await (await fetch(`${http.url}/metrics`)).text();
      assert.match(text, new RegExp(`inventory_consumer_lag\\{[^}]*topic="${bench.topic}"[^}]*\\} 0`));
      return text;
    });
    assert.match(metrics, /inventory_events_processed_total\{[^}]*result="updated"[^}]*\} 1/);
    assert.match(metrics, /shopify_requests_total\{[^}]*outcome="success"[^}]*\} 1/);
    assert.match(metrics, /shopify_request_duration_seconds_count\{[^}]*outcome="success"[^}]*\} 1/);
  });

  it('is not ready while the consumer is not in its group or Shopify cannot be reached', async (t) => {
    const bench = await createBench({ start: false, shopifyBaseUrl: await closedPortUrl() });
    const http = await serveBench(bench);
    t.after(async () => {
      await http.close();
      await bench.close();
    });

    const res = await fetch(`${http.url}/health/ready`);
    assert.equal(res.status, 503);
    const body = (await res.json()) as { dependencies: Record<string, { status: string; error?: string }> };
    assert.equal(body.dependencies.kafka?.status, 'down');
    assert.match(body.dependencies.kafka?.error ?? '', /not in its group/);
    assert.equal(body.dependencies.shopify?.status, 'down');
  });
});

describe("Shopify's rate limits", () => {
  it("honours a 429's Retry-After and waits for the cost bucket before the next call", async (t) => {
    const item = randomItem();
    const ids = [item.inventoryItemId];
    const stub = await stubShopify(ids, [shopifyReplies.tooManyRequests(1), shopifyReplies.ok({ currentlyAvailable: 0 }), shopifyReplies.ok()]);
    const bench = await createBench({ start: false });
    t.after(async () => {
      await bench.close();
      await stub.remove();
      await removeShopifyRequests(ids);
    });
    const waited = async () => {
      const text = await bench.metrics.registry.metrics();
      return Number(/^shopify_throttle_wait_seconds_total\{[^}]*\} (\S+)$/m.exec(text)?.[1] ?? 0);
    };

    const first = buildInventorySetQuantities([makeEvent(item, { availableAfter: 1 })]);
    const result = await bench.shopify.setInventoryQuantities(first);
    assert.equal(result.attempts, 2);
    const afterRetryAfter = await waited();
    assert.ok(afterRetryAfter >= 0.5, `Retry-After: 1 should be waited for, waited ${afterRetryAfter}s`);

    // The second answer left the bucket empty (0 of 2000 points, 100 restored a second).
    await bench.shopify.setInventoryQuantities(buildInventorySetQuantities([makeEvent(item, { availableAfter: 2 })]));
    assert.ok((await waited()) > afterRetryAfter, 'the call after an empty bucket waits for it to refill');
    assert.equal((await shopifyRequests(ids)).length, 3);
  });
});

/**
 * Under sustained load the stream processor stays inside Shopify's rate limit: the Shopify stand-in
 * keeps a real leaky bucket (wiremock/extension) and the processor paces its calls by the
 * throttleStatus Shopify reports, coalescing more events into each call instead of calling more
 * often. The bucket here holds 200 points (restored at 100 a second, 10 a mutation, as on the
 * standard plan) so that a short run spends most of its time in the paced regime rather than in the
 * initial burst a full 2,000-point bucket allows. Nothing about time is asserted: the counts
 * WireMock's journal and the processor's metrics give are.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { inventoryItemGid, lastQuantities, shopifyRequests } from '../support/shopify.js';
import { isThrottled, removeServedBy, servedBy, stubShopifyWithBucket } from '../support/shopify-rate-limit.js';
import { createBench, eventually, makeEvent, randomItem, type Bench, type TestItem } from './harness.js';
import type { InventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import { buildInventorySetQuantities } from '../../services/order-stream-process/src/domain/mutation.js';

const PLAN = { maximumAvailable: 200, restoreRate: 100, mutationCost: 10 };
const ITEMS = 12;
/** 300 inventory events a second (100 orders of 3 products) for 8 seconds. */
const EVENTS_PER_TICK = 30;
const TICK_MS = 100;
const TICKS = 80;

async function metric(bench: Bench, name: string, labels = ''): Promise<number> {
  const text = await bench.metrics.registry.metrics();
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) && l.includes(labels)) || l.startsWith(`${name} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe("the stream processor stays inside Shopify's rate limit", () => {
  it('paces its calls to what the bucket restores under 300 events a second, is never THROTTLED, and ends with Shopify equal to the last events', async (t) => {
    const items = Array.from({ length: ITEMS }, () => randomItem());
    const ids = items.map((i) => i.inventoryItemId);
    const pattern = `(?s).*gid://shopify/InventoryItem/(${ids.join('|')})".*`;
    const stub = await stubShopifyWithBucket(pattern, PLAN);
    const bench = await createBench();
    t.after(async () => {
      await bench.close();
      await stub.remove();
      await removeServedBy(pattern);
    });

    const version = new Map(items.map((item) => [item.inventoryItemId, 1]));
    const latest = new Map<TestItem['inventoryItemId'], InventoryEvent>();
    let produced = 0;
    let lastProducedAt = 0;
    for (let tick = 0; tick < TICKS; tick++) {
      const started = Date.now();
      const events = Array.from({ length: EVENTS_PER_TICK }, (_, k) => {
        const item = items[(tick * EVENTS_PER_TICK + k) % ITEMS]!;
        const inventoryVersion = version.get(item.inventoryItemId)! + 1;
        version.set(item.inventoryItemId, inventoryVersion);
        const event = makeEvent(item, { inventoryVersion, availableAfter: 100_000 - inventoryVersion });
        latest.set(item.inventoryItemId, event);
        return event;
      });
      await bench.produce(events);
      produced += events.length;
      lastProducedAt = Date.now();
      await sleep(Math.max(0, TICK_MS - (Date.now() - started)));
    }

    await eventually(async () => {
      const held = lastQuantities(await shopifyRequests(ids));
      for (const item of items) {
        assert.equal(held.get(inventoryItemGid(item.inventoryItemId)), latest.get(item.inventoryItemId)!.availableAfter);
      }
    }, 60_000, 250);

    const served = await servedBy(stub.id);
    const throttled = served.filter((s) => isThrottled(s.answer));
    const windowSeconds = (served.at(-1)!.loggedAt - served[0]!.loggedAt) / 1000;
    const allowed = Math.floor((PLAN.maximumAvailable + PLAN.restoreRate * windowSeconds) / PLAN.mutationCost);
    const burst = PLAN.maximumAvailable / PLAN.mutationCost;
    t.diagnostic(
      `${produced} events in ${served.length} calls over ${windowSeconds.toFixed(1)} s: ` +
        `${((served.length - burst) / windowSeconds).toFixed(1)} calls/s beyond the ${burst}-call burst a full bucket allows, ` +
        `${(produced / served.length).toFixed(1)} events a call, ` +
        `${throttled.length} THROTTLED; the bucket allows ${allowed} calls in that window; ` +
        `Shopify's last call ${served.at(-1)!.loggedAt - lastProducedAt} ms after the last event`,
    );
    assert.equal(throttled.length, 0, 'no call was THROTTLED');
    assert.equal(await metric(bench, 'shopify_requests_total', 'outcome="throttled"'), 0);
    // One call of slack: the journal stamps a request on arrival, the bucket a moment later.
    assert.ok(served.length <= allowed + 1, `${served.length} calls, the bucket allows ${allowed}`);
    assert.ok(served.length < produced / 4, 'events are coalesced: several per call');

    // A lone event after the burst, once the bucket holds a mutation's cost, goes without waiting.
    await sleep(1_000);
    const waitedBefore = await metric(bench, 'shopify_throttle_wait_seconds_total');
    const lone = makeEvent(items[0]!, { inventoryVersion: version.get(items[0]!.inventoryItemId)! + 1, availableAfter: 7 });
    const sentAt = Date.now();
    await bench.produce([lone]);
    await eventually(() => assert.ok(bench.successLines().some((l) => l.eventId === lone.eventId)), 30_000, 20);
    const loneCall = (await servedBy(stub.id)).at(-1)!;
    t.diagnostic(`a lone event reached Shopify ${loneCall.loggedAt - sentAt} ms after it was produced`);
    assert.ok(!isThrottled(loneCall.answer));
    assert.equal(await metric(bench, 'shopify_throttle_wait_seconds_total'), waitedBefore, 'no rate-limit wait for a lone event');
  });

  it("spends the bucket's points once when calls of one client go out together", async (t) => {
    const items = Array.from({ length: 4 }, () => randomItem());
    const ids = items.map((i) => i.inventoryItemId);
    const pattern = `(?s).*gid://shopify/InventoryItem/(${ids.join('|')})".*`;
    // Room for two mutations: after the first call tells the client so, one more may go at once.
    const stub = await stubShopifyWithBucket(pattern, { maximumAvailable: 20, restoreRate: 100, mutationCost: 10 });
    const bench = await createBench({ start: false, maxAttempts: 1 });
    t.after(async () => {
      await bench.close();
      await stub.remove();
      await removeServedBy(pattern);
    });
    const request = (i: number) => buildInventorySetQuantities([makeEvent(items[i]!)]);

    await bench.shopify.setInventoryQuantities(request(0));
    await Promise.all([1, 2, 3].map((i) => bench.shopify.setInventoryQuantities(request(i))));

    const served = await servedBy(stub.id);
    assert.equal(served.length, 4);
    assert.deepEqual(served.filter((s) => isThrottled(s.answer)), [], 'no call was THROTTLED');
  });
});

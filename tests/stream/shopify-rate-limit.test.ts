/**
 * Under sustained load the stream processor stays inside Shopify's rate limit: the Shopify stand-in
 * keeps a real leaky bucket (wiremock/extension) and the processor paces its calls (a read and a
 * compare-and-set per batch) by the throttleStatus Shopify reports, coalescing more events into each
 * batch instead of calling more often. The bucket here holds 200 points (restored at 100 a second,
 * 10 a mutation, as on the standard plan) so that a short run spends most of its time in the paced
 * regime rather than in the initial burst a full 2,000-point bucket allows. Nothing about time is
 * asserted: the counts WireMock's journal, the stand-in and the processor's metrics give are.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { buildCompareAndSetRequest } from '../../services/order-stream-process/src/domain/mutation.js';
import { closeDb, readInventory } from '../support/db.js';
import { shopifyGraphqlPath, stubStandInWithBucket } from '../support/shopify.js';
import { isThrottled, servedBy, type GraphqlAnswer } from '../support/shopify-rate-limit.js';
import { stackEnv } from '../support/stack-env.js';
import { shopifyAvailable } from '../support/shopify-stand-in.js';
import { benchFor, createVariant, eventually, randomLocationId, recordMovement, type Bench, type TestVariant } from './harness.js';

after(closeDb);

const PLAN = { maximumAvailable: 200, restoreRate: 100, mutationCost: 10 };
const VARIANTS = 12;
/** 300 inventory events a second (100 orders of 3 variants, Shopify took none) for 8 seconds. */
const EVENTS_PER_TICK = 30;
const TICK_MS = 100;
const TICKS = 80;

async function metric(bench: Bench, name: string, labels = ''): Promise<number> {
  const text = await bench.metrics.registry.metrics();
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) && l.includes(labels)) || l.startsWith(`${name} `));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/** What the test's bucket holds, as the stand-in reports it after a read of one item (which costs 2 points). */
async function bucketLevel(variant: TestVariant): Promise<number> {
  const res = await fetch(`${stackEnv().WIREMOCK_URL}${shopifyGraphqlPath()}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-shopify-access-token': 'shpat_local_access_token' },
    body: JSON.stringify({
      query: 'query Probe($ids: [ID!]!) { nodes(ids: $ids) { id } }',
      variables: { ids: [`gid://shopify/InventoryItem/${variant.inventoryItemId}`] },
    }),
    signal: AbortSignal.timeout(5_000),
  });
  const answer = (await res.json()) as GraphqlAnswer;
  return answer.extensions?.cost?.throttleStatus.currentlyAvailable ?? -1;
}

/** Orders the database commits at a steady rate, Shopify having taken none: every batch lowers Shopify. */
async function steadyOrders(bench: Bench, variants: TestVariant[]): Promise<{ produced: number; lastProducedAt: number }> {
  let produced = 0;
  let lastProducedAt = 0;
  for (let tick = 0; tick < TICKS; tick++) {
    const started = Date.now();
    const events = await Promise.all(
      Array.from({ length: EVENTS_PER_TICK }, (_, k) =>
        recordMovement(variants[(tick * EVENTS_PER_TICK + k) % VARIANTS]!, { reason: 'order', delta: -1 }),
      ),
    );
    await bench.produce(events);
    produced += events.length;
    lastProducedAt = Date.now();
    await sleep(Math.max(0, TICK_MS - (Date.now() - started)));
  }
  return { produced, lastProducedAt };
}

describe("the stream processor stays inside Shopify's rate limit", () => {
  it('paces its reads and writes to what the bucket restores under 300 events a second, is never THROTTLED, and ends with Shopify equal to the database', async (t) => {
    const locationId = randomLocationId();
    const variants = await Promise.all(Array.from({ length: VARIANTS }, () => createVariant(t, { database: 100_000, locationId })));
    const stub = await stubStandInWithBucket(
      variants.map((v) => v.inventoryItemId),
      PLAN,
    );
    t.after(() => stub.remove());
    const bench = await benchFor(t);

    const { produced, lastProducedAt } = await steadyOrders(bench, variants);
    await eventually(
      async () => {
        for (const v of variants)
          assert.equal(await shopifyAvailable(v.inventoryItemId, v.locationId), (await readInventory(v.variantId))!.availableQuantity);
      },
      60_000,
      250,
    );
    await eventually(() => assert.equal(bench.successLines().length, produced), 60_000, 250);

    const served = await servedBy(stub.mappingIds[0]!);
    const throttled = served.filter((s) => isThrottled(s.answer));
    const spent = served.reduce((sum, s) => sum + (s.answer.extensions?.cost?.actualQueryCost ?? 0), 0);
    const windowSeconds = (served.at(-1)!.loggedAt - served[0]!.loggedAt) / 1000;
    const allowed = PLAN.maximumAvailable + PLAN.restoreRate * windowSeconds;
    const writes = served.filter((s) => s.answer.data && 'inventorySetQuantities' in (s.answer.data as object)).length;
    t.diagnostic(
      `${produced} events in ${served.length} calls (${writes} compare-and-sets) over ${windowSeconds.toFixed(1)} s: ` +
        `${(writes / windowSeconds).toFixed(1)} writes/s, ${(produced / served.length).toFixed(1)} events a call, ${spent} of ${allowed.toFixed(0)} points the bucket allows, ` +
        `${throttled.length} THROTTLED; Shopify's last call ${served.at(-1)!.loggedAt - lastProducedAt} ms after the last event`,
    );
    assert.equal(throttled.length, 0, 'no call was THROTTLED');
    assert.equal(await metric(bench, 'shopify_requests_total', 'outcome="throttled"'), 0);
    // One mutation of slack: the journal stamps a request on arrival, the bucket a moment later.
    assert.ok(spent <= allowed + PLAN.mutationCost, `${spent} points spent, the bucket allows ${allowed}`);
    assert.ok(served.length < produced / 4, 'events are coalesced: several per call');

    // A lone event after the burst, once the bucket holds a call's cost, goes without waiting: the
    // stand-in's own figure says when it is full again (the probe costs 2 of its 200 points).
    await eventually(
      async () => assert.ok((await bucketLevel(variants[0]!)) >= PLAN.maximumAvailable - 2, 'the bucket is full again'),
      30_000,
      100,
    );
    const waitedBefore = await metric(bench, 'shopify_throttle_wait_seconds_total');
    const lone = await recordMovement(variants[0]!, { reason: 'order', delta: -1 });
    await bench.produce([lone]);
    await eventually(() => assert.ok(bench.success(lone.eventId)), 30_000, 20);
    assert.ok(!isThrottled((await servedBy(stub.mappingIds[0]!)).at(-1)!.answer));
    assert.equal(await metric(bench, 'shopify_throttle_wait_seconds_total'), waitedBefore, 'no rate-limit wait for a lone event');
  });

  it("spends the bucket's points once when calls of one client go out together", async (t) => {
    const variants = await Promise.all(Array.from({ length: 4 }, () => createVariant(t, { database: 5 })));
    // Room for two mutations: after the first call tells the client so, one more may go at once.
    const stub = await stubStandInWithBucket(
      variants.map((v) => v.inventoryItemId),
      { maximumAvailable: 20, restoreRate: 100, mutationCost: 10 },
    );
    t.after(() => stub.remove());
    const bench = await benchFor(t, { start: false, maxAttempts: 1 });
    const lower = (v: TestVariant) =>
      buildCompareAndSetRequest(
        [{ inventoryItemId: String(v.inventoryItemId), locationId: String(v.locationId), from: 5, to: 4, version: 1 }],
        'test',
        () => 'gid://order-intake/Test/1',
      );

    await bench.shopify.setInventoryQuantities(lower(variants[0]!));
    await Promise.all(variants.slice(1).map((v) => bench.shopify.setInventoryQuantities(lower(v))));

    const served = await servedBy(stub.mappingIds[0]!);
    assert.equal(served.length, 4);
    assert.deepEqual(
      served.filter((s) => isThrottled(s.answer)),
      [],
      'no call was THROTTLED',
    );
    for (const v of variants) assert.equal(await shopifyAvailable(v.inventoryItemId, v.locationId), 4);
  });
});

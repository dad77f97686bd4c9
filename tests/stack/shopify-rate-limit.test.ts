/**
 * The Shopify stand-in enforces Shopify's GraphQL rate limit (wiremock/extension): a leaky bucket of
 * 2,000 points restored at 100 a second, 10 points a mutation. Each test drains a bucket of its own
 * (a stub with its own bucket name), so nobody else's calls are throttled. No wall-clock limit is
 * asserted: rates come from WireMock's own figures and journal timestamps.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { eventually } from '../support/eventually.js';
import { shopifyGraphqlPath } from '../support/shopify.js';
import { removeServedBy, servedBy, stubShopifyWithBucket, type GraphqlAnswer, type ShopifyCost } from '../support/shopify-rate-limit.js';
import { stackEnv } from '../support/stack-env.js';

const MUTATION =
  'mutation inventorySetQuantities($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { message } } }';

async function call(marker: string): Promise<{ status: number; answer: GraphqlAnswer }> {
  const res = await fetch(`${stackEnv().WIREMOCK_URL}${shopifyGraphqlPath()}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-shopify-access-token': 'shpat_local_access_token' },
    body: JSON.stringify({ query: MUTATION, variables: { marker } }),
    signal: AbortSignal.timeout(5_000),
  });
  return { status: res.status, answer: (await res.json()) as GraphqlAnswer };
}

const costOf = (answer: GraphqlAnswer): ShopifyCost => {
  assert.ok(answer.extensions?.cost, `extensions.cost in ${JSON.stringify(answer)}`);
  return answer.extensions.cost;
};
const throttledIn = (answer: GraphqlAnswer) => answer.errors?.[0]?.extensions?.code === 'THROTTLED';

/** Calls (8 at a time) until the bucket answers THROTTLED; returns the granted calls and that answer. */
async function drain(marker: string): Promise<{ granted: GraphqlAnswer[]; throttled: GraphqlAnswer }> {
  const granted: GraphqlAnswer[] = [];
  for (let round = 0; round < 100; round++) {
    const answers = await Promise.all(Array.from({ length: 8 }, () => call(marker)));
    for (const { status } of answers) assert.equal(status, 200, 'Shopify throttles with HTTP 200');
    granted.push(...answers.filter((a) => !throttledIn(a.answer)).map((a) => a.answer));
    const throttled = answers.find((a) => throttledIn(a.answer));
    if (throttled) return { granted, throttled: throttled.answer };
  }
  throw new Error(`no THROTTLED answer after ${granted.length} granted calls`);
}

function setUp(t: { after: (fn: () => Promise<void>) => void }) {
  const marker = `bucket-test-${randomUUID()}`;
  const pattern = `(?s).*${marker}.*`;
  return {
    marker,
    async stub() {
      const stub = await stubShopifyWithBucket(pattern);
      t.after(async () => {
        await stub.remove();
        await removeServedBy(pattern);
      });
      return stub;
    },
  };
}

describe("the Shopify stand-in keeps Shopify's leaky bucket", () => {
  it('grants 200 mutations from a full bucket of 2,000 points, then answers THROTTLED in the shape Shopify uses', async (t) => {
    const { marker, stub } = setUp(t);
    await stub();

    const first = await call(marker);
    assert.deepEqual(costOf(first.answer), {
      requestedQueryCost: 10,
      actualQueryCost: 10,
      throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 1990, restoreRate: 100 },
    });
    assert.ok((first.answer.data as { inventorySetQuantities?: unknown }).inventorySetQuantities, "the stub's own answer is kept");

    const { granted, throttled } = await drain(marker);
    assert.ok(granted.length + 1 >= 200, `a full bucket pays for 200 mutations (granted ${granted.length + 1})`);
    const reported = granted.map((a) => costOf(a).throttleStatus.currentlyAvailable);
    assert.ok(Math.min(...reported) < 10, 'the last granted calls left less than a mutation in the bucket');

    assert.equal(throttled.data, undefined, 'a throttled call returns no data');
    assert.deepEqual(throttled.errors, [
      { message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } },
    ]);
    const cost = costOf(throttled);
    assert.equal(cost.requestedQueryCost, 10);
    assert.equal(cost.actualQueryCost, null);
    assert.equal(cost.throttleStatus.maximumAvailable, 2000);
    assert.equal(cost.throttleStatus.restoreRate, 100);
    assert.ok(
      cost.throttleStatus.currentlyAvailable < 10,
      `THROTTLED means less than the call's cost is left (${cost.throttleStatus.currentlyAvailable})`,
    );
  });

  it('a THROTTLED call takes nothing from the bucket, which refills at 100 points a second', async (t) => {
    const { marker, stub } = setUp(t);
    const { id } = await stub();
    await drain(marker);

    // Two refusals in a row: the second finds at least what the first left.
    let previous = await call(marker);
    let refused = await call(marker);
    for (let tries = 0; !(throttledIn(previous.answer) && throttledIn(refused.answer)); tries++) {
      assert.ok(tries < 100, 'two THROTTLED answers in a row while the bucket is dry');
      [previous, refused] = [refused, await call(marker)];
    }
    const left = (a: GraphqlAnswer) => costOf(a).throttleStatus.currentlyAvailable;
    assert.ok(
      left(refused.answer) >= left(previous.answer),
      `refusals take nothing (${left(previous.answer)} then ${left(refused.answer)})`,
    );

    // Calls on until the bucket's own figures show 150 points restored since that refusal (a granted
    // call spent 10, a refusal nothing): the span is WireMock's, never the test's clock.
    let granted = 0;
    let calls = 0;
    const restoredBy = (a: GraphqlAnswer) => left(a) + 10 * granted - left(refused.answer);
    const later = await eventually(
      async () => {
        const next = await call(marker);
        calls += 1;
        if (!throttledIn(next.answer)) granted += 1;
        assert.ok(restoredBy(next.answer) >= 150, `${restoredBy(next.answer)} points restored so far`);
        return next;
      },
      30_000,
      50,
    );
    assert.ok(granted > 0, 'refilled enough for a mutation');

    // Restored between the refusal and the last call, by WireMock's clock.
    const restored = restoredBy(later.answer);
    const served = await servedBy(id);
    const [refusedAt, laterAt] = [served.at(-1 - calls)!.loggedAt, served.at(-1)!.loggedAt];
    const seconds = (laterAt! - refusedAt!) / 1000;
    const rate = restored / seconds;
    t.diagnostic(`restored ${restored} points in ${seconds.toFixed(3)} s by WireMock's journal: ${rate.toFixed(1)} points/s`);
    assert.ok(Math.abs(restored - 100 * seconds) <= 10, `about 100 points a second (${rate.toFixed(1)})`);
  });

  it("the default Shopify mapping spends the store's bucket on each mutation", async (t) => {
    const marker = `default-${randomUUID()}`;
    t.after(() => removeServedBy(`(?s).*${marker}.*`));
    const { status, answer } = await call(marker);
    assert.equal(status, 200);
    assert.ok(!throttledIn(answer), "the store's bucket has room for a mutation");
    const cost = costOf(answer);
    assert.equal(cost.requestedQueryCost, 10);
    assert.equal(cost.actualQueryCost, 10);
    assert.equal(cost.throttleStatus.maximumAvailable, 2000);
    assert.equal(cost.throttleStatus.restoreRate, 100);
    assert.ok(cost.throttleStatus.currentlyAvailable <= 1990);
  });
});

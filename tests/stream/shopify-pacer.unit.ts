import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { Logger } from '@oms/common';
import { createPacer, shapeOf } from '../../services/order-stream-process/src/clients/shopify-pacer.js';

const START = 1_000_000;

/**
 * The pacer's waits as it records them (seconds) and logs them (ms). The clock is mocked and moves
 * by each wait as it is logged (the pacer's own sleep is real, so the waits here are a few ms).
 */
function recorder() {
  const waits: number[] = [];
  const logged: Array<{ message: string; meta: unknown }> = [];
  const metrics = {
    observeShopifyCall: () => undefined,
    countShopifyRetry: () => undefined,
    addThrottleWait: (s: number) => void waits.push(s),
  };
  const debug = (message: string, meta: { waitMs: number }) => {
    logged.push({ message, meta });
    mock.timers.tick(meta.waitMs);
  };
  return { waits, logged, pacer: createPacer(metrics, { debug } as unknown as Logger) };
}

const status = (currentlyAvailable: number, restoreRate = 1000, maximumAvailable = 2000) => ({
  cost: { throttleStatus: { maximumAvailable, currentlyAvailable, restoreRate } },
});
const MUTATION = { mutation: true, ids: 1 };

describe('what prices a Shopify call before Shopify does', () => {
  it('a mutation is a query that starts with the word mutation; a read counts its ids', () => {
    assert.deepEqual(shapeOf({ query: '  mutation Set($input: X!) { a }', variables: {} }), { mutation: true, ids: 1 });
    assert.deepEqual(shapeOf({ query: 'query { mutationLog }', variables: {} }), { mutation: false, ids: 1 });
    assert.deepEqual(shapeOf({ query: 'mutations { a }', variables: {} }), { mutation: false, ids: 1 });
    assert.deepEqual(shapeOf({ query: 'query { log(kind: "mutation") }', variables: {} }), { mutation: false, ids: 1 });
    assert.deepEqual(shapeOf({ query: 'query Levels($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids: ['a', 'b', 'c'] } }), {
      mutation: false,
      ids: 3,
    });
    assert.deepEqual(shapeOf({ query: 'query { a }', variables: { ids: 'a' } }), { mutation: false, ids: 1 });
  });
});

describe("pacing calls by Shopify's bucket as the answers tell it", () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: START }));
  afterEach(() => mock.timers.reset());

  it('sends at once before any answer told the bucket', async () => {
    const { waits, pacer } = recorder();
    await pacer.waitFor(MUTATION);
    assert.deepEqual(waits, []);
  });

  it('waits until the bucket refills the cost of a mutation (10 points until an answer prices one), and records the wait', async () => {
    const { waits, logged, pacer } = recorder();
    pacer.observe(status(0), MUTATION);
    await pacer.waitFor(MUTATION);
    assert.deepEqual(waits, [0.01], '10 points at 1,000 a second take 10 ms');
    assert.deepEqual(logged, [{ message: "waiting 10 ms for Shopify's rate limit", meta: { event: 'shopify.throttle.wait', waitMs: 10 } }]);
  });

  it('prices the next mutation at what the last one cost (actual, else requested)', async () => {
    const { waits, pacer } = recorder();
    pacer.observe({ cost: { actualQueryCost: 40, ...status(0).cost } }, MUTATION);
    await pacer.waitFor(MUTATION);
    pacer.observe({ cost: { requestedQueryCost: 25, ...status(0).cost } }, MUTATION);
    await pacer.waitFor(MUTATION);
    assert.deepEqual(waits, [0.04, 0.025]);
  });

  it('prices a read by the last read per id, not by the last mutation', async () => {
    const { waits, pacer } = recorder();
    pacer.observe({ cost: { actualQueryCost: 30, ...status(0).cost } }, MUTATION);
    pacer.observe({ cost: { actualQueryCost: 11, ...status(0).cost } }, { mutation: false, ids: 10 });
    await pacer.waitFor({ mutation: false, ids: 20 });
    assert.deepEqual(waits, [0.022], '1.1 points an id, 22 points');
  });

  it('prices a read at one point an id plus one before any read was priced', async () => {
    const { waits, pacer } = recorder();
    pacer.observe(status(0), MUTATION);
    await pacer.waitFor({ mutation: false, ids: 5 });
    assert.deepEqual(waits, [0.006]);
  });

  it('keeps the last known status when an answer has none, and the last cost when an answer prices nothing', async () => {
    const { waits, pacer } = recorder();
    pacer.observe({ cost: { actualQueryCost: 20, ...status(0).cost } }, MUTATION);
    pacer.observe({ cost: { actualQueryCost: 0 } }, MUTATION);
    await pacer.waitFor(MUTATION);
    assert.deepEqual(waits, [0.02]);
  });

  it('counts a call as spent when it leaves, so the next one waits for its own points', async () => {
    const { waits, pacer } = recorder();
    pacer.observe(status(10), MUTATION);
    await pacer.waitFor(MUTATION);
    assert.deepEqual(waits, [], 'the bucket held this call');
    await pacer.waitFor(MUTATION);
    assert.deepEqual(waits, [0.01]);
  });

  it("sends nothing before a Retry-After's time, the later of two holding, even with points in the bucket", async () => {
    const { waits, pacer } = recorder();
    pacer.observe(status(2000), MUTATION);
    pacer.holdUntil(START + 30);
    pacer.holdUntil(START + 10);
    await pacer.waitFor(MUTATION);
    assert.deepEqual(waits, [0.03]);
    assert.equal(Date.now(), START + 30);
  });

  it('gives up its wait when the caller aborts', async () => {
    const { pacer } = recorder();
    pacer.holdUntil(START + 60_000);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(pacer.waitFor(MUTATION, controller.signal), { name: 'AbortError' });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  afterSpending,
  delayBeforeCall,
  readCallCost,
  readThrottleStatus,
  retryAfterMs,
  type BucketState,
} from '../../services/order-stream-process/src/domain/throttle.js';

const bucket = (currentlyAvailable: number, restoreRate = 100, maximumAvailable = 2000): BucketState => ({
  status: { maximumAvailable, currentlyAvailable, restoreRate },
  observedAt: 1_000_000,
});

describe("pacing calls by Shopify's cost bucket", () => {
  it('does not wait on a bucket that restores nothing (no basis for a wait), however empty', () => {
    assert.equal(delayBeforeCall(bucket(0, 0), 10, 1_000_000), 0);
    assert.equal(delayBeforeCall(bucket(0, 100), 10, 1_000_000), 100, 'an empty bucket at 100/s waits 10 points');
    assert.equal(delayBeforeCall(bucket(1500, 100), 10, 1_000_000), 0, 'a bucket with room never gives a negative wait');
  });

  it('counts a call in flight at once: the estimate drops by its cost, never below zero, from the refilled level', () => {
    assert.deepEqual(afterSpending(bucket(500), 10, 1_000_000), {
      status: { maximumAvailable: 2000, currentlyAvailable: 490, restoreRate: 100 },
      observedAt: 1_000_000,
    });
    assert.deepEqual(afterSpending(bucket(500), 10, 1_001_000).status.currentlyAvailable, 590, 'one second refilled 100 points first');
    assert.deepEqual(afterSpending(bucket(4), 10, 1_000_000).status.currentlyAvailable, 0);
    assert.equal(afterSpending(bucket(500), 10, 1_002_500).observedAt, 1_002_500);
  });

  it("reads a call's cost: the actual, else the requested, only a positive finite number", () => {
    assert.equal(readCallCost({ cost: { actualQueryCost: 7, requestedQueryCost: 10 } }), 7);
    assert.equal(readCallCost({ cost: { requestedQueryCost: 10 } }), 10);
    assert.equal(readCallCost({ cost: { actualQueryCost: '7', requestedQueryCost: 10 } }), 10);
    assert.equal(readCallCost({ cost: { actualQueryCost: 0 } }), undefined);
    assert.equal(readCallCost({ cost: { actualQueryCost: -1 } }), undefined);
    assert.equal(readCallCost({ cost: { actualQueryCost: Number.POSITIVE_INFINITY } }), undefined);
    assert.equal(readCallCost({ cost: { requestedQueryCost: '10' } }), undefined);
    assert.equal(readCallCost({}), undefined);
    assert.equal(readCallCost(undefined), undefined);
  });

  it('reads no throttleStatus from a response without extensions', () => {
    assert.equal(readThrottleStatus(undefined), undefined);
    assert.equal(readThrottleStatus({}), undefined);
    assert.equal(readThrottleStatus({ cost: {} }), undefined);
    assert.equal(
      readThrottleStatus({ cost: { throttleStatus: { maximumAvailable: 2000, currentlyAvailable: Number.NaN, restoreRate: 100 } } }),
      undefined,
    );
  });

  it('reads Retry-After with spaces around it, fractions of a second, and refuses what is neither seconds nor a date', () => {
    assert.equal(retryAfterMs(' 5 ', 0, 60_000), 5000);
    assert.equal(retryAfterMs('1.25', 0, 60_000), 1250);
    assert.equal(retryAfterMs('1e3', 0, 60_000), undefined, 'not delta-seconds, not a date');
    assert.equal(retryAfterMs('Mar 5', Date.parse('2026-11-24T00:00:00Z'), 60_000), 0, 'a date in the past waits nothing');
  });
});

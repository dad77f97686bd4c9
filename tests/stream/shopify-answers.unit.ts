import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { graphqlFailure, readHttp, readMutation, readQuery } from '../../services/order-stream-process/src/clients/shopify-answer.js';
import { isStale, noMetrics, ShopifyCallError, ShopifyGaveUpError } from '../../services/order-stream-process/src/clients/shopify-call.js';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const answer = (status: number, text: string, headers: Record<string, string | string[] | undefined> = {}) => ({ status, text, headers });

/** The failure a reading returned, as the fields the retry policy acts on. */
function failure(result: ReturnType<typeof readHttp>) {
  assert.ok('error' in result, 'a failure');
  const { outcome, message, retryable } = result.error;
  return { outcome, message, retryable, retryAt: result.retryAt };
}

function thrown(read: () => unknown) {
  try {
    read();
  } catch (err) {
    assert.ok(err instanceof ShopifyCallError);
    return { outcome: err.outcome, message: err.message, retryable: err.retryable, userErrors: err.userErrors };
  }
  assert.fail('expected a ShopifyCallError');
}

describe("reading Shopify's HTTP answer", () => {
  it('parses a 2xx body as GraphQL, at both ends of the range', () => {
    assert.deepEqual(readHttp(answer(200, '{"data":{"a":1}}'), 60_000, NOW), { body: { data: { a: 1 } } });
    assert.deepEqual(readHttp(answer(299, '{"data":null}'), 60_000, NOW), { body: { data: null } });
  });

  it('retries a 2xx whose body is not JSON', () => {
    assert.deepEqual(failure(readHttp(answer(200, '<html>'), 60_000, NOW)), {
      outcome: 'invalid_response',
      message: 'the answer is not JSON',
      retryable: true,
      retryAt: undefined,
    });
  });

  it('retries a 429 no earlier than its Retry-After (seconds or a date, the first of repeated headers, capped)', () => {
    assert.deepEqual(failure(readHttp(answer(429, '', { 'retry-after': '2' }), 60_000, NOW)), {
      outcome: 'http_429',
      message: 'HTTP 429 (Retry-After 2)',
      retryable: true,
      retryAt: NOW + 2000,
    });
    assert.equal(failure(readHttp(answer(429, '', { 'retry-after': ['3', '9'] }), 60_000, NOW)).retryAt, NOW + 3000);
    assert.equal(
      failure(readHttp(answer(429, '', { 'retry-after': new Date(NOW + 5000).toUTCString() }), 60_000, NOW)).retryAt,
      NOW + 5000,
    );
    assert.equal(failure(readHttp(answer(429, '', { 'retry-after': '600' }), 60_000, NOW)).retryAt, NOW + 60_000, 'capped');
  });

  it('retries a 429 without Retry-After at once, and says it had none', () => {
    assert.deepEqual(failure(readHttp(answer(429, 'slow down'), 60_000, NOW)), {
      outcome: 'http_429',
      message: 'HTTP 429 (Retry-After absent)',
      retryable: true,
      retryAt: undefined,
    });
  });

  it('retries a 5xx, from 500 up', () => {
    assert.deepEqual(failure(readHttp(answer(500, 'oops'), 60_000, NOW)), {
      outcome: 'http_5xx',
      message: 'HTTP 500',
      retryable: true,
      retryAt: undefined,
    });
    assert.deepEqual(failure(readHttp(answer(503, ''), 60_000, NOW)), {
      outcome: 'http_5xx',
      message: 'HTTP 503',
      retryable: true,
      retryAt: undefined,
    });
  });

  it('gives up on any other status at once, with the first 200 characters of its body', () => {
    const body = 'x'.repeat(250);
    assert.deepEqual(failure(readHttp(answer(401, body), 60_000, NOW)), {
      outcome: 'http_4xx',
      message: `HTTP 401: ${'x'.repeat(200)}`,
      retryable: false,
      retryAt: undefined,
    });
    assert.equal(failure(readHttp(answer(499, 'no'), 60_000, NOW)).message, 'HTTP 499: no');
    assert.equal(failure(readHttp(answer(199, 'info'), 60_000, NOW)).outcome, 'http_4xx');
    assert.equal(failure(readHttp(answer(300, 'moved'), 60_000, NOW)).outcome, 'http_4xx');
  });
});

describe("a GraphQL body's top-level errors", () => {
  it('are no failure when absent or empty', () => {
    assert.equal(graphqlFailure({ data: {} }), undefined);
    assert.equal(graphqlFailure({ data: {}, errors: [] }), undefined);
  });

  it('are retried when any of them is THROTTLED, each named by its code and message', () => {
    const error = graphqlFailure({ errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }, { message: 'x' }] });
    assert.ok(error);
    assert.deepEqual(
      { outcome: error.outcome, message: error.message, retryable: error.retryable },
      { outcome: 'throttled', message: 'THROTTLED: Throttled; ERROR: x', retryable: true },
    );
  });

  it('are read without extensions too (an error with none is no THROTTLED)', () => {
    const error = graphqlFailure({ errors: [{ message: 'Internal error' }] });
    assert.ok(error);
    assert.deepEqual(
      { outcome: error.outcome, message: error.message, retryable: error.retryable },
      { outcome: 'graphql_errors', message: 'ERROR: Internal error', retryable: false },
    );
  });

  it('are given up on otherwise; a missing message reads as empty', () => {
    const error = graphqlFailure({ errors: [{ extensions: { code: 'ACCESS_DENIED' } }] });
    assert.ok(error);
    assert.deepEqual(
      { outcome: error.outcome, message: error.message, retryable: error.retryable },
      { outcome: 'graphql_errors', message: 'ACCESS_DENIED: ', retryable: false },
    );
  });
});

describe("a mutation's payload", () => {
  const read = readMutation('inventorySetQuantities');

  it('is its adjustment group, or null when Shopify changed nothing', () => {
    assert.deepEqual(read({ data: { inventorySetQuantities: { inventoryAdjustmentGroup: { id: 'g1' }, userErrors: [] } } }), {
      inventoryAdjustmentGroup: { id: 'g1' },
    });
    assert.deepEqual(read({ data: { inventorySetQuantities: { userErrors: [] } } }), { inventoryAdjustmentGroup: null });
    assert.deepEqual(read({ data: { inventorySetQuantities: { inventoryAdjustmentGroup: { id: 'g2' } } } }), {
      inventoryAdjustmentGroup: { id: 'g2' },
    });
  });

  it('is retried when the field (or data) is missing', () => {
    const expected = { outcome: 'invalid_response', message: 'no inventorySetQuantities in the answer', retryable: true, userErrors: [] };
    assert.deepEqual(
      thrown(() => read({ data: { inventoryAdjustQuantities: { userErrors: [] } } })),
      expected,
    );
    assert.deepEqual(
      thrown(() => read({ data: null })),
      expected,
    );
    assert.deepEqual(
      thrown(() => read({})),
      expected,
    );
  });

  it('fails on userErrors, each named with its code and field; retried unless every one is a stale compare', () => {
    const stale = { code: 'CHANGE_FROM_QUANTITY_STALE', field: ['input', 'quantities', '0'], message: 'stale' };
    const other = { code: null, field: null, message: 'bad location' };
    const staleOnly = thrown(() => read({ data: { inventorySetQuantities: { userErrors: [stale] } } }));
    assert.deepEqual(staleOnly, {
      outcome: 'user_errors',
      message: 'CHANGE_FROM_QUANTITY_STALE ["input","quantities","0"]: stale',
      retryable: false,
      userErrors: [stale],
    });
    const mixed = thrown(() => read({ data: { inventorySetQuantities: { userErrors: [stale, other] } } }));
    assert.deepEqual(mixed, {
      outcome: 'user_errors',
      message: 'CHANGE_FROM_QUANTITY_STALE ["input","quantities","0"]: stale; ERROR []: bad location',
      retryable: true,
      userErrors: [stale, other],
    });
  });
});

describe('a read', () => {
  it('is its data, or retried without', () => {
    assert.deepEqual(readQuery({ data: { nodes: [] } }), { nodes: [] });
    assert.deepEqual(
      thrown(() => readQuery({ data: null })),
      { outcome: 'invalid_response', message: 'no data in the answer', retryable: true, userErrors: [] },
    );
  });
});

describe('failures the confirm step tells apart', () => {
  const stale = { code: 'CHANGE_FROM_QUANTITY_STALE', field: null, message: 'stale' };

  it('a stale compare-and-set is only userErrors that are all stale', () => {
    assert.equal(isStale(new ShopifyCallError('user_errors', 'm', false, [stale, stale])), true);
    assert.equal(isStale(new ShopifyCallError('user_errors', 'm', true, [stale, { code: 'INVALID', field: null, message: 'x' }])), false);
    assert.equal(isStale(new ShopifyCallError('user_errors', 'm', true, [])), false);
    assert.equal(isStale(new ShopifyCallError('graphql_errors', 'm', false, [stale])), false);
  });

  it("a call's final failure names its last outcome and how many attempts it made", () => {
    const last = new ShopifyCallError('http_5xx', 'HTTP 502', true);
    assert.equal(new ShopifyGaveUpError(last, 1).message, 'http_5xx after 1 attempt: HTTP 502');
    assert.equal(new ShopifyGaveUpError(last, 3).message, 'http_5xx after 3 attempts: HTTP 502');
    assert.equal(new ShopifyGaveUpError(last, 3).name, 'ShopifyGaveUpError');
    assert.equal(last.name, 'ShopifyCallError');
  });
});

describe('a client without metrics', () => {
  it('records nothing and fails at nothing', () => {
    assert.equal(noMetrics.observeShopifyCall('success', 0.1), undefined);
    assert.equal(noMetrics.countShopifyRetry('http_5xx'), undefined);
    assert.equal(noMetrics.addThrottleWait(0.5), undefined);
  });
});

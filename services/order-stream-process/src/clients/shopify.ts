import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { headerValue, type HttpAnswer, httpRequest, isTimeout, type Logger } from '@oms/common';
import type { GraphqlRequest } from '../domain/mutation.js';
import {
  afterSpending,
  DEFAULT_CALL_COST,
  delayBeforeCall,
  readCallCost,
  readThrottleStatus,
  retryAfterMs,
  type BucketState,
} from '../domain/throttle.js';

export type ShopifyCallOutcome =
  | 'success'
  | 'user_errors'
  | 'throttled'
  | 'http_429'
  | 'http_5xx'
  | 'http_4xx'
  | 'graphql_errors'
  | 'invalid_response'
  | 'timeout'
  | 'network_error';

export interface ShopifyUserError {
  code: string | null;
  field: string[] | null;
  message: string;
}

/** One failed attempt; `retryable` says whether another attempt with the same key can help. */
export class ShopifyCallError extends Error {
  constructor(
    readonly outcome: Exclude<ShopifyCallOutcome, 'success'>,
    message: string,
    readonly retryable: boolean,
    readonly userErrors: ShopifyUserError[] = [],
  ) {
    super(message);
    this.name = 'ShopifyCallError';
  }
}

/** The call's final failure, after its last attempt. */
export class ShopifyGaveUpError extends Error {
  constructor(
    readonly last: ShopifyCallError,
    readonly attempts: number,
  ) {
    super(`${last.outcome} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${last.message}`);
    this.name = 'ShopifyGaveUpError';
  }
}

export interface SetQuantitiesResult {
  attempts: number;
  inventoryAdjustmentGroup: unknown;
}

export interface ShopifyClientMetrics {
  observeShopifyCall(outcome: ShopifyCallOutcome, seconds: number): void;
  countShopifyRetry(outcome: ShopifyCallOutcome): void;
  addThrottleWait(seconds: number): void;
}

export interface ShopifyClientOptions {
  baseUrl: string;
  apiVersion: string;
  accessToken: string;
  timeoutMs: number;
  logger: Logger;
  metrics?: ShopifyClientMetrics;
  /** Attempts per call, the first included (default 5). */
  maxAttempts?: number;
  /** Backoff before the second attempt, doubled each time up to maxDelayMs (defaults 500 / 10 000). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is cut to it: the consumer must keep its partitions moving. */
  retryAfterCapMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Added to the client's log lines (correlation ids, idempotency key). */
  logMeta?: Record<string, unknown>;
}

export interface ShopifyClient {
  readonly endpoint: string;
  /** Sends the mutation, retrying failures with the same request (so the same idempotency key). */
  setInventoryQuantities(request: GraphqlRequest, options?: CallOptions): Promise<SetQuantitiesResult>;
  /** Runs a query inside the same rate budget and retry policy; resolves to its `data`. */
  query(request: GraphqlQuery, options?: CallOptions): Promise<unknown>;
  /** Readiness: the endpoint answers HTTP at all (any status under 500), without spending API cost. */
  ping(): Promise<void>;
}

/** A read: any query with its variables, answered by its `data`. */
export interface GraphqlQuery {
  query: string;
  variables: Record<string, unknown>;
}

interface SetQuantitiesData {
  inventorySetQuantities?: { inventoryAdjustmentGroup?: unknown; userErrors?: ShopifyUserError[] } | null;
}

interface GraphqlResponse {
  data?: unknown;
  errors?: Array<{ message?: string; extensions?: { code?: string } }>;
  extensions?: unknown;
}

const noMetrics: ShopifyClientMetrics = {
  observeShopifyCall: () => undefined,
  countShopifyRetry: () => undefined,
  addThrottleWait: () => undefined,
};

export function createShopifyClient(options: ShopifyClientOptions): ShopifyClient {
  const {
    accessToken,
    timeoutMs,
    logger,
    metrics = noMetrics,
    maxAttempts = 5,
    baseDelayMs = 500,
    maxDelayMs = 10_000,
    retryAfterCapMs = 60_000,
  } = options;
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/admin/api/${options.apiVersion}/graphql.json`;

  // Shared by every call of this process: Shopify's bucket is per app and shop, not per call.
  let bucket: BucketState | undefined;
  let lastCost = DEFAULT_CALL_COST;
  let notBefore = 0;

  /** Waits until the bucket can pay for the call, then counts the call as spent. */
  async function waitForCapacity(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = Date.now();
      const wait = Math.max(delayBeforeCall(bucket, lastCost, now), notBefore - now);
      if (wait <= 0) {
        if (bucket) bucket = afterSpending(bucket, lastCost, now);
        return;
      }
      metrics.addThrottleWait(wait / 1000);
      logger.debug(`waiting ${wait} ms for Shopify's rate limit`, { event: 'shopify.throttle.wait', waitMs: wait });
      // Another call of this client may spend the points meanwhile: the loop checks again.
      await sleep(wait, undefined, { signal });
    }
  }

  function observe(extensions: unknown): void {
    const status = readThrottleStatus(extensions);
    if (status) bucket = { status, observedAt: Date.now() };
    lastCost = readCallCost(extensions) ?? lastCost;
  }

  /** One HTTP exchange: the answer's GraphQL body, or the failure classified for the retry policy. */
  async function exchange<T>(
    request: GraphqlRequest | GraphqlQuery,
    signal: AbortSignal | undefined,
    readPayload: (body: GraphqlResponse) => T,
  ): Promise<T> {
    await waitForCapacity(signal);
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const fail = (error: ShopifyCallError): never => {
      metrics.observeShopifyCall(error.outcome, seconds());
      throw error;
    };

    let response: HttpAnswer;
    try {
      response = await httpRequest(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'x-shopify-access-token': accessToken,
        },
        body: JSON.stringify(request),
        timeoutMs,
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      return fail(
        isTimeout(err)
          ? new ShopifyCallError('timeout', `no answer within ${timeoutMs} ms`, true)
          : new ShopifyCallError('network_error', err instanceof Error ? (err.cause as Error)?.message ?? err.message : String(err), true),
      );
    }

    const { text } = response;
    if (response.status === 429) {
      const retryAfter = headerValue(response.headers['retry-after']);
      const wait = retryAfterMs(retryAfter, Date.now(), retryAfterCapMs);
      if (wait !== undefined) notBefore = Math.max(notBefore, Date.now() + wait);
      return fail(new ShopifyCallError('http_429', `HTTP 429 (Retry-After ${retryAfter ?? 'absent'})`, true));
    }
    if (response.status >= 500) return fail(new ShopifyCallError('http_5xx', `HTTP ${response.status}`, true));
    if (response.status < 200 || response.status > 299) {
      return fail(new ShopifyCallError('http_4xx', `HTTP ${response.status}: ${text.slice(0, 200)}`, false));
    }

    let body: GraphqlResponse;
    try {
      body = JSON.parse(text) as GraphqlResponse;
    } catch {
      return fail(new ShopifyCallError('invalid_response', 'the answer is not JSON', true));
    }
    observe(body.extensions);

    if (body.errors?.length) {
      const throttled = body.errors.some((e) => e.extensions?.code === 'THROTTLED');
      const messages = body.errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message ?? ''}`).join('; ');
      return fail(
        throttled
          ? new ShopifyCallError('throttled', messages, true)
          : new ShopifyCallError('graphql_errors', messages, false),
      );
    }
    try {
      const payload = readPayload(body);
      metrics.observeShopifyCall('success', seconds());
      return payload;
    } catch (err) {
      if (err instanceof ShopifyCallError) return fail(err);
      throw err;
    }
  }

  function readSetQuantities(body: GraphqlResponse): { inventoryAdjustmentGroup: unknown } {
    const payload = (body.data as SetQuantitiesData | null | undefined)?.inventorySetQuantities;
    if (!payload) throw new ShopifyCallError('invalid_response', 'no inventorySetQuantities in the answer', true);
    if (payload.userErrors?.length) {
      const messages = payload.userErrors.map((e) => `${e.code ?? 'ERROR'} ${JSON.stringify(e.field ?? [])}: ${e.message}`).join('; ');
      throw new ShopifyCallError('user_errors', messages, true, payload.userErrors);
    }
    return { inventoryAdjustmentGroup: payload.inventoryAdjustmentGroup ?? null };
  }

  /** Runs `attempt` until it succeeds, fails for good, or runs out of attempts; a retry sends the same request. */
  async function withRetries<T>(attempt: () => Promise<T>, callOptions: CallOptions): Promise<{ result: T; attempts: number }> {
    const { signal, logMeta = {} } = callOptions;
    let attempts = 0;
    let last: ShopifyCallError | undefined;
    try {
      const result = await pRetry(
        async () => {
          attempts += 1;
          return attempt();
        },
        {
          retries: maxAttempts - 1,
          factor: 2,
          minTimeout: baseDelayMs,
          maxTimeout: maxDelayMs,
          randomize: true,
          signal,
          shouldRetry: ({ error }) => error instanceof ShopifyCallError && error.retryable,
          onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
            if (!(error instanceof ShopifyCallError)) return;
            last = error;
            const willRetry = error.retryable && retriesLeft > 0;
            if (willRetry) metrics.countShopifyRetry(error.outcome);
            logger.warn(`Shopify attempt ${attemptNumber} failed (${error.outcome}): ${error.message}`, {
              event: 'shopify.call.failed',
              outcome: error.outcome,
              attempt: attemptNumber,
              willRetry,
              ...logMeta,
            });
          },
        },
      );
      return { result, attempts };
    } catch (err) {
      if (err instanceof ShopifyCallError) throw new ShopifyGaveUpError(last ?? err, attempts);
      throw err;
    }
  }

  return {
    endpoint,

    async setInventoryQuantities(request, callOptions = {}) {
      const { result, attempts } = await withRetries(() => exchange(request, callOptions.signal, readSetQuantities), callOptions);
      return { ...result, attempts };
    },

    async query(request, callOptions = {}) {
      const { result } = await withRetries(
        () =>
          exchange(request, callOptions.signal, (b) => {
            if (!b.data) throw new ShopifyCallError('invalid_response', 'no data in the answer', true);
            return b.data;
          }),
        callOptions,
      );
      return result;
    },

    async ping() {
      const { status } = await httpRequest(endpoint, { timeoutMs: Math.min(timeoutMs, 1_500) });
      if (status >= 500) throw new Error(`Shopify answered HTTP ${status}`);
    },
  };
}

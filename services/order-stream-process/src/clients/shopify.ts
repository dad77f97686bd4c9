import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { headerValue, type HttpAnswer, httpRequest, isTimeout, type Logger } from '@oms/common';
import type { AdjustRequest, MutationRequest, SetRequest } from '../domain/mutation.js';
import {
  afterSpending,
  DEFAULT_CALL_COST,
  delayBeforeCall,
  expectedCost,
  type ObservedCosts,
  readCallCost,
  readThrottleStatus,
  retryAfterMs,
  type BucketState,
} from '../domain/throttle.js';
import { type AccessTokenSource, staticAccessToken, TokenGrantError } from './shopify-token.js';

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
  | 'network_error'
  | 'token_grant';

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

export interface MutationResult {
  attempts: number;
  inventoryAdjustmentGroup: unknown;
}

/**
 * A compare-and-set Shopify found stale applied nothing, and the same request (the same key) can
 * only be answered the same: the caller reads again and decides anew, so it is never retried here.
 */
export const STALE_COMPARE = 'CHANGE_FROM_QUANTITY_STALE';

/** Whether a failure is a stale compare-and-set (and only that). */
export function isStale(error: ShopifyCallError): boolean {
  return error.outcome === 'user_errors' && error.userErrors.length > 0 && error.userErrors.every((e) => e.code === STALE_COMPARE);
}

export interface ShopifyClientMetrics {
  observeShopifyCall(outcome: ShopifyCallOutcome, seconds: number): void;
  countShopifyRetry(outcome: ShopifyCallOutcome): void;
  addThrottleWait(seconds: number): void;
}

export interface ShopifyClientOptions {
  baseUrl: string;
  apiVersion: string;
  /** A static token; or `tokens`, which renews one (the client-credentials grant, clients/shopify-token.ts). */
  accessToken?: string;
  tokens?: AccessTokenSource;
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
  /** Sends the compare-and-set, retrying failures with the same request (so the same idempotency key); a stale compare is not retried. */
  setInventoryQuantities(request: SetRequest, options?: CallOptions): Promise<MutationResult>;
  /** Sends the deltas, retrying failures with the same request (so the same idempotency key). */
  adjustInventoryQuantities(request: AdjustRequest, options?: CallOptions): Promise<MutationResult>;
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

type MutationField = 'inventorySetQuantities' | 'inventoryAdjustQuantities';

type MutationData = Partial<Record<MutationField, { inventoryAdjustmentGroup?: unknown; userErrors?: ShopifyUserError[] } | null>>;

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

/** A mutation, or a read of how many ids: what prices the call before Shopify does. */
function shapeOf(request: MutationRequest | GraphqlQuery): { mutation: boolean; ids: number } {
  const { ids } = request.variables as { ids?: unknown };
  return { mutation: /^\s*mutation\b/.test(request.query), ids: Array.isArray(ids) ? ids.length : 1 };
}

/**
 * Shopify's bucket as this process sees it, shared by every call (Shopify's bucket is per app and
 * shop, not per call): waits before a call until the bucket can pay for it, learns from each answer.
 */
function createPacer(metrics: ShopifyClientMetrics, logger: Logger) {
  let bucket: BucketState | undefined;
  const costs: ObservedCosts = { mutation: DEFAULT_CALL_COST };
  let notBefore = 0;
  return {
    /** Waits until the bucket can pay for the call, then counts the call as spent. */
    async waitFor(shape: { mutation: boolean; ids: number }, signal?: AbortSignal): Promise<void> {
      const cost = expectedCost(costs, shape);
      for (;;) {
        const now = Date.now();
        const wait = Math.max(delayBeforeCall(bucket, cost, now), notBefore - now);
        if (wait <= 0) {
          if (bucket) bucket = afterSpending(bucket, cost, now);
          return;
        }
        metrics.addThrottleWait(wait / 1000);
        logger.debug(`waiting ${wait} ms for Shopify's rate limit`, { event: 'shopify.throttle.wait', waitMs: wait });
        // Another call of this client may spend the points meanwhile: the loop checks again.
        await sleep(wait, undefined, { signal });
      }
    },
    observe(extensions: unknown, shape: { mutation: boolean; ids: number }): void {
      const status = readThrottleStatus(extensions);
      if (status) bucket = { status, observedAt: Date.now() };
      const cost = readCallCost(extensions);
      if (cost === undefined) return;
      if (shape.mutation) costs.mutation = cost;
      else costs.query = { cost, ids: shape.ids };
    },
    /** A Retry-After: no call before then. */
    holdUntil(at: number): void {
      notBefore = Math.max(notBefore, at);
    },
  };
}

/** Pure: an HTTP answer as a GraphQL body, or the failure it is for the retry policy (with a 429's wait). */
function readHttp(response: HttpAnswer, retryAfterCapMs: number, now: number): { body: GraphqlResponse } | { error: ShopifyCallError; retryAt?: number } {
  const { text, status } = response;
  if (status === 429) {
    const retryAfter = headerValue(response.headers['retry-after']);
    const wait = retryAfterMs(retryAfter, now, retryAfterCapMs);
    return { error: new ShopifyCallError('http_429', `HTTP 429 (Retry-After ${retryAfter ?? 'absent'})`, true), retryAt: wait === undefined ? undefined : now + wait };
  }
  if (status >= 500) return { error: new ShopifyCallError('http_5xx', `HTTP ${status}`, true) };
  if (status < 200 || status > 299) return { error: new ShopifyCallError('http_4xx', `HTTP ${status}: ${text.slice(0, 200)}`, false) };
  try {
    return { body: JSON.parse(text) as GraphqlResponse };
  } catch {
    return { error: new ShopifyCallError('invalid_response', 'the answer is not JSON', true) };
  }
}

/** Pure: the failure a GraphQL body's top-level `errors` stand for, if any (THROTTLED is retried). */
function graphqlFailure(body: GraphqlResponse): ShopifyCallError | undefined {
  if (!body.errors?.length) return undefined;
  const throttled = body.errors.some((e) => e.extensions?.code === 'THROTTLED');
  const messages = body.errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message ?? ''}`).join('; ');
  return throttled ? new ShopifyCallError('throttled', messages, true) : new ShopifyCallError('graphql_errors', messages, false);
}

/** Pure: a mutation's payload, or its userErrors as a failure (a stale compare-and-set is not retried). */
const readMutation =
  (field: MutationField) =>
  (body: GraphqlResponse): { inventoryAdjustmentGroup: unknown } => {
    const payload = (body.data as MutationData | null | undefined)?.[field];
    if (!payload) throw new ShopifyCallError('invalid_response', `no ${field} in the answer`, true);
    if (payload.userErrors?.length) {
      const messages = payload.userErrors.map((e) => `${e.code ?? 'ERROR'} ${JSON.stringify(e.field ?? [])}: ${e.message}`).join('; ');
      const stale = payload.userErrors.every((e) => e.code === STALE_COMPARE);
      throw new ShopifyCallError('user_errors', messages, !stale, payload.userErrors);
    }
    return { inventoryAdjustmentGroup: payload.inventoryAdjustmentGroup ?? null };
  };

const readQuery = (body: GraphqlResponse): unknown => {
  if (!body.data) throw new ShopifyCallError('invalid_response', 'no data in the answer', true);
  return body.data;
};

interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  metrics: ShopifyClientMetrics;
  logger: Logger;
}

/** Runs `attempt` until it succeeds, fails for good, or runs out of attempts; a retry sends the same request. */
async function withRetries<T>(policy: RetryPolicy, attempt: () => Promise<T>, callOptions: CallOptions): Promise<{ result: T; attempts: number }> {
  const { signal, logMeta = {} } = callOptions;
  const { metrics, logger } = policy;
  let attempts = 0;
  let last: ShopifyCallError | undefined;
  try {
    const result = await pRetry(
      async () => {
        attempts += 1;
        return attempt();
      },
      {
        retries: policy.maxAttempts - 1,
        factor: 2,
        minTimeout: policy.baseDelayMs,
        maxTimeout: policy.maxDelayMs,
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

export function createShopifyClient(options: ShopifyClientOptions): ShopifyClient {
  const { timeoutMs, logger, metrics = noMetrics, retryAfterCapMs = 60_000 } = options;
  const tokens = options.tokens ?? (options.accessToken ? staticAccessToken(options.accessToken) : undefined);
  if (!tokens) throw new Error('createShopifyClient needs an accessToken or a token source');
  const policy: RetryPolicy = { maxAttempts: options.maxAttempts ?? 5, baseDelayMs: options.baseDelayMs ?? 500, maxDelayMs: options.maxDelayMs ?? 10_000, metrics, logger };
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/admin/api/${options.apiVersion}/graphql.json`;
  const pacer = createPacer(metrics, logger);
  const headersWith = (token: string) => ({ 'content-type': 'application/json', accept: 'application/json', 'x-shopify-access-token': token });

  /** One HTTP exchange: the answer's payload, or the failure classified for the retry policy. */
  async function exchange<T>(request: MutationRequest | GraphqlQuery, signal: AbortSignal | undefined, readPayload: (body: GraphqlResponse) => T): Promise<T> {
    const shape = shapeOf(request);
    await pacer.waitFor(shape, signal);
    const started = performance.now();
    const fail = (error: ShopifyCallError): never => {
      metrics.observeShopifyCall(error.outcome, (performance.now() - started) / 1000);
      throw error;
    };
    const body = JSON.stringify(request);
    /** One POST with the token of the moment; a failure to get a token or an answer is thrown classified. */
    const send = async (): Promise<{ response: HttpAnswer; token: string }> => {
      let token: string;
      try {
        token = await tokens!.token(signal);
      } catch (err) {
        if (signal?.aborted || !(err instanceof TokenGrantError)) throw err;
        throw new ShopifyCallError('token_grant', err.message, err.retryable);
      }
      try {
        return { response: await httpRequest(endpoint, { method: 'POST', headers: headersWith(token), body, timeoutMs, signal }), token };
      } catch (err) {
        if (signal?.aborted) throw err;
        const cause = err instanceof Error ? ((err.cause as Error)?.message ?? err.message) : String(err);
        throw isTimeout(err) ? new ShopifyCallError('timeout', `no answer within ${timeoutMs} ms`, true) : new ShopifyCallError('network_error', cause, true);
      }
    };
    let response: HttpAnswer;
    try {
      let sent = await send();
      // An expired or revoked token: a new one, and the same request again at once (once: Shopify applied nothing).
      if (sent.response.status === 401 && tokens!.rejected(sent.token)) sent = await send();
      response = sent.response;
    } catch (err) {
      if (err instanceof ShopifyCallError) return fail(err);
      throw err;
    }
    const answer = readHttp(response, retryAfterCapMs, Date.now());
    if ('error' in answer) {
      if (answer.retryAt !== undefined) pacer.holdUntil(answer.retryAt);
      return fail(answer.error);
    }
    pacer.observe(answer.body.extensions, shape);
    const failure = graphqlFailure(answer.body);
    if (failure) return fail(failure);
    try {
      const payload = readPayload(answer.body);
      metrics.observeShopifyCall('success', (performance.now() - started) / 1000);
      return payload;
    } catch (err) {
      if (err instanceof ShopifyCallError) return fail(err);
      throw err;
    }
  }

  async function mutate(request: MutationRequest, field: MutationField, callOptions: CallOptions): Promise<MutationResult> {
    const { result, attempts } = await withRetries(policy, () => exchange(request, callOptions.signal, readMutation(field)), callOptions);
    return { ...result, attempts };
  }

  return {
    endpoint,
    setInventoryQuantities: (request, callOptions = {}) => mutate(request, 'inventorySetQuantities', callOptions),
    adjustInventoryQuantities: (request, callOptions = {}) => mutate(request, 'inventoryAdjustQuantities', callOptions),
    async query(request, callOptions = {}) {
      return (await withRetries(policy, () => exchange(request, callOptions.signal, readQuery), callOptions)).result;
    },
    async ping() {
      const { status } = await httpRequest(endpoint, { timeoutMs: Math.min(timeoutMs, 1_500) });
      if (status >= 500) throw new Error(`Shopify answered HTTP ${status}`);
    },
  };
}

/** The vocabulary of one Shopify Admin GraphQL call: its outcomes, its failures, its options and what it records. */

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

/**
 * A compare-and-set Shopify found stale applied nothing, and the same request (the same key) can
 * only be answered the same: the caller reads again and decides anew, so it is never retried here.
 */
export const STALE_COMPARE = 'CHANGE_FROM_QUANTITY_STALE';

/** Whether a failure is a stale compare-and-set (and only that). */
export function isStale(error: ShopifyCallError): boolean {
  return error.outcome === 'user_errors' && error.userErrors.length > 0 && error.userErrors.every((e) => e.code === STALE_COMPARE);
}

/** What the client records of its calls (implemented by metrics.ts). */
export interface ShopifyClientMetrics {
  observeShopifyCall(outcome: ShopifyCallOutcome, seconds: number): void;
  countShopifyRetry(outcome: ShopifyCallOutcome): void;
  addThrottleWait(seconds: number): void;
}

export const noMetrics: ShopifyClientMetrics = {
  observeShopifyCall: () => undefined,
  countShopifyRetry: () => undefined,
  addThrottleWait: () => undefined,
};

export interface CallOptions {
  signal?: AbortSignal;
  /** Added to the client's log lines (correlation ids, idempotency key). */
  logMeta?: Record<string, unknown>;
}

/** A read: any query with its variables, answered by its `data`. */
export interface GraphqlQuery {
  query: string;
  variables: Record<string, unknown>;
}

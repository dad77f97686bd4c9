/** Shopify's `extensions.cost.throttleStatus`: a leaky bucket of cost points. */
export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export interface BucketState {
  status: ThrottleStatus;
  /** When Shopify reported the status (ms since epoch). */
  observedAt: number;
}

/** A mutation's cost on Shopify's standard plan until a response tells the real one. */
export const DEFAULT_CALL_COST = 10;

/** The costs Shopify last reported: a mutation's, and a read's with how many ids it asked for. */
export interface ObservedCosts {
  mutation: number;
  query?: { cost: number; ids: number };
}

/**
 * Pure: what a call is expected to cost, so the client waits for that much in the bucket: a
 * mutation what the last one cost; a read of `ids` items in proportion to the last read (a `nodes`
 * query costs about one point per item, plus one), 1 + ids before any read was priced.
 */
export function expectedCost(costs: ObservedCosts, call: { mutation: boolean; ids: number }): number {
  if (call.mutation) return costs.mutation;
  const ids = Math.max(1, call.ids);
  return costs.query ? Math.max(1, Math.ceil((costs.query.cost / Math.max(1, costs.query.ids)) * ids)) : 1 + ids;
}

/** Pure: the points the bucket holds `now`, refilled at restoreRate per second since the observation. */
export function availableAt(state: BucketState, now: number): number {
  const elapsedSeconds = Math.max(0, now - state.observedAt) / 1000;
  const { maximumAvailable, currentlyAvailable, restoreRate } = state.status;
  return Math.min(maximumAvailable, currentlyAvailable + restoreRate * elapsedSeconds);
}

/**
 * Pure: how long to wait before a call of `cost` points so it does not run the bucket dry and get
 * THROTTLED. No observation yet, or a bucket that restores nothing, means no basis to wait.
 */
export function delayBeforeCall(state: BucketState | undefined, cost: number, now: number): number {
  if (!state || state.status.restoreRate <= 0) return 0;
  const needed = Math.min(cost, state.status.maximumAvailable);
  const missing = needed - availableAt(state, now);
  return Math.max(0, Math.ceil((missing / state.status.restoreRate) * 1000));
}

/**
 * Pure: the bucket once a call of `cost` points is sent, before Shopify answers. Counting calls in
 * flight keeps concurrent callers of one client from all spending the same points; Shopify's next
 * throttleStatus replaces the estimate.
 */
export function afterSpending(state: BucketState, cost: number, now: number): BucketState {
  return {
    status: { ...state.status, currentlyAvailable: Math.max(0, availableAt(state, now) - cost) },
    observedAt: now,
  };
}

/** Pure: a throttleStatus from an untrusted response, or undefined when absent or malformed. */
export function readThrottleStatus(extensions: unknown): ThrottleStatus | undefined {
  const status = (extensions as { cost?: { throttleStatus?: Record<string, unknown> } } | undefined)?.cost?.throttleStatus;
  if (!status) return undefined;
  const { maximumAvailable, currentlyAvailable, restoreRate } = status;
  if ([maximumAvailable, currentlyAvailable, restoreRate].some((n) => !Number.isFinite(n))) {
    return undefined;
  }
  return {
    maximumAvailable: maximumAvailable as number,
    currentlyAvailable: currentlyAvailable as number,
    restoreRate: restoreRate as number,
  };
}

/** Pure: the call's cost from the response (actual, else requested), for sizing the next wait. */
export function readCallCost(extensions: unknown): number | undefined {
  const cost = (extensions as { cost?: { actualQueryCost?: unknown; requestedQueryCost?: unknown } } | undefined)?.cost;
  const value = typeof cost?.actualQueryCost === 'number' ? cost.actualQueryCost : cost?.requestedQueryCost;
  return Number.isFinite(value) && (value as number) > 0 ? (value as number) : undefined;
}

/** Pure: a Retry-After header (delta seconds or HTTP date) in milliseconds from `now`, capped. */
export function retryAfterMs(header: string | null | undefined, now: number, capMs: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  const ms = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(capMs, Math.max(0, Math.ceil(ms)));
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@oms/common';
import type { MutationRequest } from '../domain/mutation.js';
import {
  afterSpending,
  DEFAULT_CALL_COST,
  delayBeforeCall,
  expectedCost,
  type ObservedCosts,
  readCallCost,
  readThrottleStatus,
  type BucketState,
} from '../domain/throttle.js';
import type { GraphqlQuery, ShopifyClientMetrics } from './shopify-call.js';

/** A mutation, or a read of how many ids: what prices the call before Shopify does. */
export function shapeOf(request: MutationRequest | GraphqlQuery): { mutation: boolean; ids: number } {
  const { ids } = request.variables as { ids?: unknown };
  return { mutation: /^\s*mutation\b/.test(request.query), ids: Array.isArray(ids) ? ids.length : 1 };
}

/**
 * Shopify's bucket as this process sees it, shared by every call (Shopify's bucket is per app and
 * shop, not per call): waits before a call until the bucket can pay for it, learns from each answer.
 */
export function createPacer(metrics: ShopifyClientMetrics, logger: Logger) {
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

export type Pacer = ReturnType<typeof createPacer>;

import pRetry from 'p-retry';
import type { Logger } from '@oms/common';
import { type CallOptions, ShopifyCallError, type ShopifyClientMetrics, ShopifyGaveUpError } from './shopify-call.js';

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  metrics: ShopifyClientMetrics;
  logger: Logger;
}

/** Runs `attempt` until it succeeds, fails for good, or runs out of attempts; a retry sends the same request. */
export async function withRetries<T>(
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  callOptions: CallOptions,
): Promise<{ result: T; attempts: number }> {
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

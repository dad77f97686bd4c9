import { httpRequest, type Logger } from '@oms/common';
import type { AdjustRequest, MutationRequest, SetRequest } from '../domain/mutation.js';
import { type MutationField, readMutation, readQuery } from './shopify-answer.js';
import { type CallOptions, type GraphqlQuery, noMetrics, type ShopifyClientMetrics } from './shopify-call.js';
import { createExchange } from './shopify-exchange.js';
import { createPacer } from './shopify-pacer.js';
import { type RetryPolicy, withRetries } from './shopify-retry.js';
import { type AccessTokenSource, staticAccessToken } from './shopify-token.js';

export interface MutationResult {
  attempts: number;
  inventoryAdjustmentGroup: unknown;
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

/**
 * The Admin GraphQL client: each call waits for Shopify's bucket (`shopify-pacer.ts`), is one HTTP
 * exchange (`shopify-exchange.ts`) read by `shopify-answer.ts`, and is retried with the same
 * request, so the same idempotency key (`shopify-retry.ts`).
 */
export function createShopifyClient(options: ShopifyClientOptions): ShopifyClient {
  const { timeoutMs, logger, metrics = noMetrics, retryAfterCapMs = 60_000 } = options;
  const tokens = options.tokens ?? (options.accessToken ? staticAccessToken(options.accessToken) : undefined);
  if (!tokens) throw new Error('createShopifyClient needs an accessToken or a token source');
  const policy: RetryPolicy = {
    maxAttempts: options.maxAttempts ?? 5,
    baseDelayMs: options.baseDelayMs ?? 500,
    maxDelayMs: options.maxDelayMs ?? 10_000,
    metrics,
    logger,
  };
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/admin/api/${options.apiVersion}/graphql.json`;
  const exchange = createExchange({ endpoint, tokens, timeoutMs, retryAfterCapMs, pacer: createPacer(metrics, logger), metrics });

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

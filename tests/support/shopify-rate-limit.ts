import { randomUUID } from 'node:crypto';
import { shopifyGraphqlPath } from './shopify.js';
import { stackEnv } from './stack-env.js';

/**
 * The Shopify stand-in's rate limit (wiremock/extension): a stub that opts into the
 * `shopify-leaky-bucket` transformer with a bucket of its own, so a test can drain it without
 * throttling anyone else's calls, and reads of the answers WireMock gave through that stub.
 */

export const LEAKY_BUCKET_TRANSFORMER = 'shopify-leaky-bucket';

export interface ShopifyPlan {
  maximumAvailable?: number;
  restoreRate?: number;
  mutationCost?: number;
}

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

export interface ShopifyCost {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: ThrottleStatus;
}

export interface GraphqlAnswer {
  data?: unknown;
  errors?: Array<{ message: string; extensions?: { code?: string; documentation?: string } }>;
  extensions?: { cost?: ShopifyCost };
}

export interface BucketStub {
  id: string;
  bucket: string;
  remove(): Promise<void>;
}

const admin = (path: string) => `${stackEnv().WIREMOCK_URL.replace(/\/+$/, '')}/__admin${path}`;

/** inventorySetQuantities' success, without `extensions`: the transformer adds the real cost. */
const SUCCESS = {
  data: {
    inventorySetQuantities: {
      inventoryAdjustmentGroup: { createdAt: '2026-11-24T08:00:00Z', reason: 'correction', referenceDocumentUri: null, changes: [] },
      userErrors: [],
    },
  },
};

/**
 * Answers GraphQL calls whose body matches `bodyPattern` (a regex) with success, through a leaky
 * bucket of this stub's own (Shopify's standard plan unless `plan` says otherwise).
 */
export async function stubShopifyWithBucket(bodyPattern: string, plan: ShopifyPlan = {}): Promise<BucketStub> {
  const bucket = `test-${randomUUID()}`;
  const res = await fetch(admin('/mappings'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      priority: 1,
      request: { method: 'POST', urlPath: shopifyGraphqlPath(), bodyPatterns: [{ matches: bodyPattern }] },
      response: {
        status: 200,
        headers: { 'Content-Type': 'application/json' },
        jsonBody: SUCCESS,
        transformers: [LEAKY_BUCKET_TRANSFORMER],
        transformerParameters: { bucket, ...plan },
      },
    }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`WireMock refused the stub: HTTP ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  return {
    id,
    bucket,
    async remove() {
      await fetch(admin(`/mappings/${id}`), { method: 'DELETE', signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
    },
  };
}

export interface ServedCall {
  loggedAt: number;
  status: number;
  answer: GraphqlAnswer;
}

/** The calls WireMock's journal holds for this stub and what it answered each, oldest first. */
export async function servedBy(stubId: string): Promise<ServedCall[]> {
  // Filtered here, not with `?matchingStub=`: WireMock's own filter throws on an unmatched request
  // in the journal (its stub mapping has no id), which any test's stray request can leave there.
  const res = await fetch(admin('/requests'), { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`WireMock journal answered ${res.status}`);
  const { requests } = (await res.json()) as {
    requests: Array<{ request: { loggedDate: number }; response: { status: number; body?: string }; stubMapping?: { id?: string } }>;
  };
  return requests
    .filter((e) => e.stubMapping?.id === stubId)
    .map((e) => ({
      loggedAt: e.request.loggedDate,
      status: e.response.status,
      answer: JSON.parse(e.response.body ?? '{}') as GraphqlAnswer,
    }))
    .sort((a, b) => a.loggedAt - b.loggedAt);
}

export const isThrottled = (answer: GraphqlAnswer) => answer.errors?.some((e) => e.extensions?.code === 'THROTTLED') ?? false;

/** Forgets this stub's calls in WireMock's journal (never anyone else's). */
export async function removeServedBy(bodyPattern: string): Promise<void> {
  await fetch(admin('/requests/remove'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'POST', urlPath: shopifyGraphqlPath(), bodyPatterns: [{ matches: bodyPattern }] }),
    signal: AbortSignal.timeout(10_000),
  }).catch(() => undefined);
}

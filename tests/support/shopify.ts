import { randomUUID } from 'node:crypto';
import { stackEnv } from './stack-env.js';

/**
 * The GraphQL side of the Shopify stand-in on the shared WireMock: the calls it received (its
 * journal), and stubs that answer in its place for a test's own items (a failure, a delay, a
 * bucket of the test's own). What Shopify holds is read and moved through the stand-in's test
 * interface (`./shopify-stand-in.ts`). Every stub and every journal query is scoped to the caller's
 * inventory item ids (random per test), so tests running at the same time never see each other's.
 */

export interface ShopifyReply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  fixedDelayMs?: number;
}

/** The three operations the stream processor sends. */
export type ShopifyOperation = 'inventoryAdjustQuantities' | 'inventorySetQuantities' | 'availableQuantities';

/** What the operation's text starts with, as the processor writes it (services/order-stream-process/src). */
const OPERATION_TEXT: Record<ShopifyOperation, string> = {
  inventoryAdjustQuantities: 'mutation InventoryAdjustQuantities(',
  inventorySetQuantities: 'mutation InventorySetQuantities(',
  availableQuantities: 'query AvailableQuantities(',
};

export interface QuantityVariable {
  inventoryItemId: string;
  locationId: string;
  quantity: number;
  changeFromQuantity: number | null;
}

export interface ChangeVariable {
  inventoryItemId: string;
  locationId: string;
  delta: number;
  changeFromQuantity: number | null;
  ledgerDocumentUri?: string;
}

export interface ReceivedShopifyRequest {
  url: string;
  method: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  operation: ShopifyOperation | 'other';
  body: {
    query: string;
    variables: {
      idempotencyKey?: string;
      input?: {
        name: string;
        reason: string;
        referenceDocumentUri: string;
        quantities?: QuantityVariable[];
        changes?: ChangeVariable[];
      };
      ids?: string[];
      locationId?: string;
    };
  };
  loggedAt: number;
}

export interface ShopifyStub {
  mappingIds: string[];
  remove(): Promise<void>;
}

const env = () => stackEnv();
const admin = (path: string) => `${env().WIREMOCK_URL.replace(/\/+$/, '')}/__admin${path}`;

export function shopifyGraphqlPath(apiVersion: string = env().SHOPIFY_API_VERSION): string {
  return `/admin/api/${apiVersion}/graphql.json`;
}

const throttleStatus = (currentlyAvailable: number) => ({
  maximumAvailable: 2000,
  currentlyAvailable,
  restoreRate: 100,
});

const cost = (currentlyAvailable = 1990) => ({
  cost: { requestedQueryCost: 10, actualQueryCost: 10, throttleStatus: throttleStatus(currentlyAvailable) },
});

type MutationField = 'inventorySetQuantities' | 'inventoryAdjustQuantities';

/** Ready-made answers shaped like Shopify's, for a stub that answers in the stand-in's place. */
export const shopifyReplies = {
  /** A mutation's success, applying nothing (the stand-in applies for real: prefer it). */
  ok(options: { currentlyAvailable?: number; field?: MutationField } = {}): ShopifyReply {
    const group = {
      createdAt: '2026-11-24T08:00:00Z',
      reason: 'correction',
      referenceDocumentUri: 'gid://order-intake/InventoryMovement/1',
      changes: [],
    };
    return {
      status: 200,
      body: {
        data: { [options.field ?? 'inventorySetQuantities']: { inventoryAdjustmentGroup: group, userErrors: [] } },
        extensions: cost(options.currentlyAvailable),
      },
    };
  },
  throttled(): ShopifyReply {
    return {
      status: 200,
      body: {
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }],
        extensions: { cost: { requestedQueryCost: 10, actualQueryCost: null, throttleStatus: throttleStatus(0) } },
      },
    };
  },
  serverError(status = 500): ShopifyReply {
    return { status, body: { errors: 'Internal Server Error' } };
  },
  tooManyRequests(retryAfterSeconds: number): ShopifyReply {
    return { status: 429, headers: { 'Retry-After': String(retryAfterSeconds) }, body: { errors: 'Exceeded 2 calls per second' } };
  },
  userErrors(
    errors: Array<{ code: string; field: string[]; message: string }>,
    field: MutationField = 'inventorySetQuantities',
  ): ShopifyReply {
    return { status: 200, body: { data: { [field]: { inventoryAdjustmentGroup: null, userErrors: errors } }, extensions: cost() } };
  },
};

/** Matches a GraphQL body naming any of the inventory items (as Shopify gids), of one operation or any. */
function requestPattern(
  inventoryItemIds: ReadonlyArray<number | string>,
  options: { apiVersion?: string; operation?: ShopifyOperation } = {},
) {
  if (inventoryItemIds.length === 0) throw new Error('give at least one inventory item id');
  return {
    method: 'POST',
    urlPath: shopifyGraphqlPath(options.apiVersion),
    bodyPatterns: [
      { matches: `(?s).*gid://shopify/InventoryItem/(${inventoryItemIds.join('|')})".*` },
      ...(options.operation ? [{ contains: OPERATION_TEXT[options.operation] }] : []),
    ],
  };
}

function responseOf(reply: ShopifyReply) {
  return {
    status: reply.status ?? 200,
    headers: { 'Content-Type': 'application/json', ...reply.headers },
    ...(reply.body === undefined ? {} : typeof reply.body === 'string' ? { body: reply.body } : { jsonBody: reply.body }),
    ...(reply.fixedDelayMs ? { fixedDelayMilliseconds: reply.fixedDelayMs } : {}),
  };
}

async function adminCall(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(admin(path), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`WireMock ${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export interface StubOptions {
  apiVersion?: string;
  /** Only calls of this operation (default every call naming the items). */
  operation?: ShopifyOperation;
  /** 1 (default) wins over 2 when a call names items of both stubs. */
  priority?: number;
  /** After the replies, the stand-in answers again (default: the last reply repeats forever). */
  thenStandIn?: boolean;
}

/**
 * Answers calls naming these inventory items in the stand-in's place. One reply answers every
 * call; several are a WireMock scenario answered in order, the last repeating forever unless
 * `thenStandIn` hands the calls back to the stand-in after them.
 */
export async function stubShopify(
  inventoryItemIds: ReadonlyArray<number | string>,
  replies: ShopifyReply | ShopifyReply[],
  options: StubOptions = {},
): Promise<ShopifyStub> {
  const sequence = Array.isArray(replies) ? replies : [replies];
  const scenarioName = `shopify-${randomUUID()}`;
  const request = requestPattern(inventoryItemIds, options);
  const scenario = sequence.length > 1 || options.thenStandIn;
  const mappingIds: string[] = [];
  for (const [i, reply] of sequence.entries()) {
    const last = i === sequence.length - 1;
    const state = scenario
      ? {
          scenarioName,
          requiredScenarioState: i === 0 ? 'Started' : `reply-${i}`,
          ...(!last || options.thenStandIn ? { newScenarioState: `reply-${i + 1}` } : {}),
        }
      : {};
    const mapping = (await adminCall('POST', '/mappings', {
      priority: options.priority ?? 1,
      request,
      response: responseOf(reply),
      ...state,
    })) as { id: string };
    mappingIds.push(mapping.id);
  }
  return {
    mappingIds,
    async remove() {
      for (const id of mappingIds) await adminCall('DELETE', `/mappings/${id}`).catch(() => undefined);
    },
  };
}

/**
 * The stand-in itself for calls naming these items, but with a leaky bucket of the test's own
 * (Shopify's standard plan unless `plan` says otherwise), so a test can drain it without
 * throttling anyone else's calls.
 */
export async function stubStandInWithBucket(
  inventoryItemIds: ReadonlyArray<number | string>,
  plan: { maximumAvailable?: number; restoreRate?: number; mutationCost?: number } = {},
): Promise<ShopifyStub & { bucket: string }> {
  const bucket = `test-${randomUUID()}`;
  const mapping = (await adminCall('POST', '/mappings', {
    priority: 1,
    request: { ...requestPattern(inventoryItemIds), headers: { 'X-Shopify-Access-Token': { matches: '.+' } } },
    response: {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      transformers: ['shopify-leaky-bucket'],
      transformerParameters: { standIn: true, bucket, ...plan },
    },
  })) as { id: string };
  return {
    bucket,
    mappingIds: [mapping.id],
    remove: async () => void (await adminCall('DELETE', `/mappings/${mapping.id}`).catch(() => undefined)),
  };
}

const lowerKeys = (headers: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));

const operationOf = (query: string): ReceivedShopifyRequest['operation'] =>
  (Object.entries(OPERATION_TEXT).find(([, text]) => query.includes(text))?.[0] as ShopifyOperation | undefined) ?? 'other';

interface JournalEntry {
  request: { url: string; method: string; headers: Record<string, string>; body: string; loggedDate: number };
  response?: { status: number; body?: string };
}

/** The GraphQL calls WireMock received naming any of these inventory items, oldest first (of one operation, or all). */
export async function shopifyRequests(
  inventoryItemIds: ReadonlyArray<number | string>,
  options: { apiVersion?: string; operation?: ShopifyOperation } = {},
): Promise<ReceivedShopifyRequest[]> {
  const found = (await adminCall('POST', '/requests/find', requestPattern(inventoryItemIds, options))) as {
    requests: Array<JournalEntry['request']>;
  };
  return found.requests
    .map((r) => {
      const body = JSON.parse(r.body) as ReceivedShopifyRequest['body'];
      return {
        url: r.url,
        method: r.method,
        headers: lowerKeys(r.headers),
        operation: operationOf(body.query),
        body,
        loggedAt: r.loggedDate,
      };
    })
    .sort((a, b) => a.loggedAt - b.loggedAt);
}

/** The mutations among `requests`: the writes (a set or an adjustment), not the reads. */
export const writesAmong = (requests: readonly ReceivedShopifyRequest[]) =>
  requests.filter((r) => r.operation === 'inventorySetQuantities' || r.operation === 'inventoryAdjustQuantities');

/** Forgets this test's requests in WireMock's journal (never anyone else's). */
export async function removeShopifyRequests(
  inventoryItemIds: ReadonlyArray<number | string>,
  options: { apiVersion?: string } = {},
): Promise<void> {
  await adminCall('POST', '/requests/remove', requestPattern(inventoryItemIds, options));
}

/**
 * The quantity each inventory item was last set to by the inventorySetQuantities calls WireMock
 * received, by item gid. What Shopify holds is the stand-in's level (`shopifyAvailable` in
 * ./shopify-stand-in.ts): a delta or Shopify's own orders move it without a set.
 */
export function lastQuantities(requests: readonly ReceivedShopifyRequest[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const request of requests) {
    for (const q of request.body.variables.input?.quantities ?? []) last.set(q.inventoryItemId, q.quantity);
  }
  return last;
}

export const inventoryItemGid = (id: number | string) => `gid://shopify/InventoryItem/${id}`;
export const locationGid = (id: number | string) => `gid://shopify/Location/${id}`;

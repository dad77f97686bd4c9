import { randomUUID } from 'node:crypto';
import { stackEnv } from './stack-env.js';

/**
 * Shopify Admin GraphQL stand-in helpers on the shared WireMock. Every stub and every journal
 * query is scoped to the caller's inventory item ids (random per test), so tests running at the
 * same time never see each other's stubs or requests. Remove your stubs with `remove()`.
 */

export interface ShopifyReply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  fixedDelayMs?: number;
}

export interface ReceivedShopifyRequest {
  url: string;
  method: string;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: {
    query: string;
    variables: {
      idempotencyKey: string;
      input: {
        name: string;
        reason: string;
        referenceDocumentUri: string;
        quantities: Array<{ inventoryItemId: string; locationId: string; quantity: number; changeFromQuantity: number | null }>;
      };
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

/** Ready-made answers shaped like Shopify's. */
export const shopifyReplies = {
  ok(options: { currentlyAvailable?: number } = {}): ShopifyReply {
    return {
      status: 200,
      body: {
        data: {
          inventorySetQuantities: {
            inventoryAdjustmentGroup: {
              createdAt: '2026-11-24T08:00:00Z',
              reason: 'correction',
              referenceDocumentUri: 'gid://order-intake/Order/1',
              changes: [],
            },
            userErrors: [],
          },
        },
        extensions: {
          cost: {
            requestedQueryCost: 10,
            actualQueryCost: 10,
            throttleStatus: throttleStatus(options.currentlyAvailable ?? 1990),
          },
        },
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
  userErrors(errors: Array<{ code: string; field: string[]; message: string }>): ShopifyReply {
    return {
      status: 200,
      body: {
        data: { inventorySetQuantities: { inventoryAdjustmentGroup: null, userErrors: errors } },
        extensions: { cost: { requestedQueryCost: 10, actualQueryCost: 10, throttleStatus: throttleStatus(1990) } },
      },
    };
  },
};

/** Matches a GraphQL body naming any of the inventory items (as Shopify gids). */
function requestPattern(inventoryItemIds: ReadonlyArray<number | string>, apiVersion?: string) {
  if (inventoryItemIds.length === 0) throw new Error('give at least one inventory item id');
  return {
    method: 'POST',
    urlPath: shopifyGraphqlPath(apiVersion),
    bodyPatterns: [{ matches: `(?s).*gid://shopify/InventoryItem/(${inventoryItemIds.join('|')})".*` }],
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

/**
 * Stubs the GraphQL endpoint for calls naming these inventory items. One reply answers every
 * call; several are a WireMock scenario answered in order, the last repeating forever.
 */
export async function stubShopify(
  inventoryItemIds: ReadonlyArray<number | string>,
  replies: ShopifyReply | ShopifyReply[],
  options: { apiVersion?: string; /** 1 (default) wins over 2 when a call names items of both stubs. */ priority?: number } = {},
): Promise<ShopifyStub> {
  const sequence = Array.isArray(replies) ? replies : [replies];
  const scenarioName = `shopify-${randomUUID()}`;
  const request = requestPattern(inventoryItemIds, options.apiVersion);
  const mappingIds: string[] = [];
  for (const [i, reply] of sequence.entries()) {
    const scenario =
      sequence.length === 1
        ? {}
        : {
            scenarioName,
            requiredScenarioState: i === 0 ? 'Started' : `reply-${i}`,
            ...(i < sequence.length - 1 ? { newScenarioState: `reply-${i + 1}` } : {}),
          };
    const mapping = (await adminCall('POST', '/mappings', {
      priority: options.priority ?? 1,
      request,
      response: responseOf(reply),
      ...scenario,
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

const lowerKeys = (headers: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));

/** The GraphQL calls WireMock received naming any of these inventory items, oldest first. */
export async function shopifyRequests(
  inventoryItemIds: ReadonlyArray<number | string>,
  options: { apiVersion?: string } = {},
): Promise<ReceivedShopifyRequest[]> {
  const found = (await adminCall('POST', '/requests/find', requestPattern(inventoryItemIds, options.apiVersion))) as {
    requests: Array<{ url: string; method: string; headers: Record<string, string>; body: string; loggedDate: number }>;
  };
  return found.requests
    .map((r) => ({
      url: r.url,
      method: r.method,
      headers: lowerKeys(r.headers),
      body: JSON.parse(r.body) as ReceivedShopifyRequest['body'],
      loggedAt: r.loggedDate,
    }))
    .sort((a, b) => a.loggedAt - b.loggedAt);
}

/** Forgets this test's requests in WireMock's journal (never anyone else's). */
export async function removeShopifyRequests(inventoryItemIds: ReadonlyArray<number | string>, options: { apiVersion?: string } = {}): Promise<void> {
  await adminCall('POST', '/requests/remove', requestPattern(inventoryItemIds, options.apiVersion));
}

/** The quantity each inventory item was last set to in the calls WireMock received, by item gid. */
export function lastQuantities(requests: readonly ReceivedShopifyRequest[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const request of requests) {
    for (const q of request.body.variables.input.quantities) last.set(q.inventoryItemId, q.quantity);
  }
  return last;
}

export const inventoryItemGid = (id: number | string) => `gid://shopify/InventoryItem/${id}`;
export const locationGid = (id: number | string) => `gid://shopify/Location/${id}`;

/**
 * `npm run shopify -- connect --url <https base url>` registers this system's three webhook
 * subscriptions at the shop (docs/spec.md section 12): it first checks that the token holds the
 * access scopes the system needs and that SHOPIFY_LOCATION_ID is a location of the shop, naming
 * what is missing (and registering nothing then); then, per topic, leaves a subscription that
 * already delivers to the address alone, points one that delivered to this system's path elsewhere
 * at the new address (`webhookSubscriptionUpdate`), or creates one (`webhookSubscriptionCreate`).
 * A second run creates nothing. `npm run shopify -- status` lists what is registered.
 *
 * Against SHOPIFY_ADMIN_BASE_URL with SHOPIFY_ACCESS_TOKEN, or SHOPIFY_CLIENT_ID and
 * SHOPIFY_CLIENT_SECRET (the client-credentials grant); the running local stack's `.stack/env`
 * fills in what the environment does not say. Exit code 0 when all is well, 1 when a check or a
 * call failed, 64 on a usage mistake. docs/connect-a-store.md is the runbook.
 */
import { createLogger } from '@oms/common';
import { createShopifyClient, type ShopifyClient } from '../services/order-stream-process/src/clients/shopify.js';
import { ShopifyGaveUpError } from '../services/order-stream-process/src/clients/shopify-call.js';
import { accessTokenSource, toolShopifyCredentials } from '../services/order-stream-process/src/clients/shopify-token.js';
import { parseFlags, required, TOOL_LOG_LEVEL, toolEnv, UsageError, runCommands } from './stack-env.js';

const USAGE = 'usage: npm run shopify -- connect --url <https base url> | status';

/** The webhooks of docs/spec.md section 2: Shopify's topic, and the path under the system's base URL. */
const WEBHOOK_TOPICS = [
  { topic: 'ORDERS_CREATE', path: '/api/shopify/webhooks/orders' },
  { topic: 'ORDERS_CANCELLED', path: '/api/shopify/webhooks/orders-cancelled' },
  { topic: 'REFUNDS_CREATE', path: '/api/shopify/webhooks/refunds' },
] as const;

/** What the system does with the Admin API: read orders and the catalogue, read and write inventory. */
const REQUIRED_SCOPES = ['read_orders', 'read_products', 'read_inventory', 'write_inventory'] as const;

interface Subscription {
  id: string;
  topic: string;
  uri: string;
}

interface UserError {
  field: string[] | null;
  message: string;
}

const SUBSCRIPTIONS = `query Subscriptions($first: Int!, $after: String, $topics: [WebhookSubscriptionTopic!]) {
  webhookSubscriptions(first: $first, after: $after, topics: $topics) {
    pageInfo { hasNextPage endCursor }
    nodes { id topic uri }
  }
}`;

const CHECKS = `query Checks($locationId: ID!) {
  currentAppInstallation { accessScopes { handle } }
  location(id: $locationId) { id name isActive }
}`;

const CREATE = `mutation Create($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}`;

const UPDATE = `mutation Update($id: ID!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}`;

/** Pure: the base URL as given, checked (https, no query) and without a trailing slash. */
function baseUrlOf(given: string): string {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new UsageError(`--url ${given}: not a URL (e.g. https://orders.example.com)`);
  }
  if (url.protocol !== 'https:') throw new UsageError(`--url ${given}: Shopify delivers webhooks only to an https:// address`);
  if (url.search || url.hash) throw new UsageError(`--url ${given}: the base URL takes no query or fragment`);
  return url.toString().replace(/\/+$/, '');
}

/** Pure: the scopes the system needs that the token lacks (a write scope includes its read scope). */
function missingScopes(granted: readonly string[]): string[] {
  const held = new Set(granted);
  return REQUIRED_SCOPES.filter((scope) => !held.has(scope) && !(scope.startsWith('read_') && held.has(scope.replace(/^read_/, 'write_'))));
}

type Step =
  | { action: 'unchanged'; topic: string; uri: string; subscription: Subscription }
  | { action: 'update'; topic: string; uri: string; subscription: Subscription }
  | { action: 'create'; topic: string; uri: string };

/**
 * Pure: per topic, what connect does. A subscription already at the address stays; else one that
 * delivers to this system's path (at an earlier address) is pointed at the new one; else one is created.
 */
function plan(baseUrl: string, existing: readonly Subscription[]): Step[] {
  return WEBHOOK_TOPICS.map(({ topic, path }) => {
    const uri = `${baseUrl}${path}`;
    const ofTopic = existing.filter((s) => s.topic === topic);
    const same = ofTopic.find((s) => s.uri === uri);
    if (same) return { action: 'unchanged', topic, uri, subscription: same };
    const ours = ofTopic.find((s) => pathOf(s.uri) === path);
    if (ours) return { action: 'update', topic, uri, subscription: ours };
    return { action: 'create', topic, uri };
  });
}

function pathOf(uri: string): string | undefined {
  try {
    return new URL(uri).pathname.replace(/\/+$/, '');
  } catch {
    return undefined;
  }
}

async function subscriptions(shopify: ShopifyClient): Promise<Subscription[]> {
  const out: Subscription[] = [];
  let after: string | null = null;
  for (;;) {
    const data = (await shopify.query({
      query: SUBSCRIPTIONS,
      variables: { first: 100, after, topics: WEBHOOK_TOPICS.map((t) => t.topic) },
    })) as {
      webhookSubscriptions: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: Subscription[] };
    };
    out.push(...data.webhookSubscriptions.nodes);
    if (!data.webhookSubscriptions.pageInfo.hasNextPage) return out;
    after = data.webhookSubscriptions.pageInfo.endCursor;
  }
}

const userErrorText = (errors: UserError[]) =>
  errors.map((e) => `${e.message}${e.field?.length ? ` (${e.field.join('.')})` : ''}`).join('; ');

async function apply(shopify: ShopifyClient, step: Exclude<Step, { action: 'unchanged' }>): Promise<Subscription> {
  const webhookSubscription = { uri: step.uri, format: 'JSON' };
  const field = step.action === 'create' ? 'webhookSubscriptionCreate' : 'webhookSubscriptionUpdate';
  const data = (await shopify.query(
    step.action === 'create'
      ? { query: CREATE, variables: { topic: step.topic, webhookSubscription } }
      : { query: UPDATE, variables: { id: step.subscription.id, webhookSubscription } },
  )) as Record<string, { webhookSubscription: Subscription | null; userErrors: UserError[] }>;
  const payload = data[field];
  if (!payload?.webhookSubscription || payload.userErrors.length > 0) {
    throw new Error(`${field} ${step.topic} → ${step.uri}: ${payload ? userErrorText(payload.userErrors) : 'no answer'}`);
  }
  return payload.webhookSubscription;
}

interface Context {
  shopify: ShopifyClient;
  locationId: string;
}

function connectTo(): Context {
  const env = toolEnv();
  const credentials = toolShopifyCredentials(env);
  const logger = createLogger({
    service: 'shopify',
    level: TOOL_LOG_LEVEL,
    secrets: [env('SHOPIFY_ACCESS_TOKEN'), env('SHOPIFY_CLIENT_SECRET')],
  });
  const baseUrl = required(env, 'SHOPIFY_ADMIN_BASE_URL');
  const shopify = createShopifyClient({
    baseUrl,
    apiVersion: required(env, 'SHOPIFY_API_VERSION'),
    tokens: accessTokenSource(credentials, { baseUrl, timeoutMs: 10_000, logger }),
    timeoutMs: 10_000,
    maxAttempts: 4,
    logger,
  });
  const how =
    'accessToken' in credentials
      ? 'the static token SHOPIFY_ACCESS_TOKEN'
      : `the client-credentials grant of SHOPIFY_CLIENT_ID ${credentials.clientId}`;
  console.log(`Shopify Admin API at ${shopify.endpoint}, with ${how}`);
  return { shopify, locationId: env('SHOPIFY_LOCATION_ID') ?? '' };
}

/** The scope and location checks; prints each and returns whether both passed. */
async function check({ shopify, locationId }: Context): Promise<boolean> {
  if (!/^[1-9]\d{0,18}$/.test(locationId))
    throw new UsageError(`SHOPIFY_LOCATION_ID must be the warehouse's location id (digits), got "${locationId}"`);
  const data = (await shopify.query({ query: CHECKS, variables: { locationId: `gid://shopify/Location/${locationId}` } })) as {
    currentAppInstallation: { accessScopes: Array<{ handle: string }> } | null;
    location: { id: string; name: string | null; isActive: boolean | null } | null;
  };
  const granted = (data.currentAppInstallation?.accessScopes ?? []).map((s) => s.handle);
  const missing = missingScopes(granted);
  let ok = true;
  if (missing.length === 0) {
    console.log(`✔ access scopes: ${REQUIRED_SCOPES.join(', ')}`);
  } else {
    ok = false;
    console.log(
      `✖ access scopes: missing ${missing.join(', ')} (the token holds ${granted.length ? granted.join(', ') : 'none'}): ` +
        "add them to the app's scopes, release the app version and approve it on the store, then run connect again",
    );
  }
  if (!data.location) {
    ok = false;
    console.log(`✖ location: SHOPIFY_LOCATION_ID ${locationId} is not a location of this shop (Settings → Locations: the warehouse's id)`);
  } else if (data.location.isActive === false) {
    ok = false;
    console.log(`✖ location: SHOPIFY_LOCATION_ID ${locationId} (${data.location.name ?? 'unnamed'}) is deactivated at the shop`);
  } else {
    console.log(`✔ location: ${locationId}${data.location.name ? ` (${data.location.name})` : ''}`);
  }
  return ok;
}

async function connect(args: string[]): Promise<number> {
  const flags = parseFlags(args, { values: ['url'], switches: [] });
  const given = flags.values.get('url');
  if (!given || given.length !== 1) throw new UsageError('connect needs --url <https base url> once: the address Shopify delivers to');
  const baseUrl = baseUrlOf(given[0]!);
  const context = connectTo();
  if (!(await check(context))) {
    console.log('nothing was registered: fix what is named above, then run connect again');
    return 1;
  }
  const steps = plan(baseUrl, await subscriptions(context.shopify));
  const counts = { created: 0, updated: 0, unchanged: 0 };
  for (const step of steps) {
    if (step.action === 'unchanged') {
      counts.unchanged++;
      console.log(`unchanged  ${step.topic.padEnd(16)} → ${step.uri}  (${step.subscription.id})`);
      continue;
    }
    const done = await apply(context.shopify, step);
    if (step.action === 'create') {
      counts.created++;
      console.log(`created    ${step.topic.padEnd(16)} → ${done.uri}  (${done.id})`);
    } else {
      counts.updated++;
      console.log(`updated    ${step.topic.padEnd(16)} → ${done.uri}  (${done.id}, was ${step.subscription.uri})`);
    }
  }
  console.log(`${steps.length} subscriptions: ${counts.created} created, ${counts.updated} updated, ${counts.unchanged} unchanged`);
  return 0;
}

async function status(args: string[]): Promise<number> {
  parseFlags(args, { values: [], switches: [] });
  const context = connectTo();
  const all = await subscriptions(context.shopify);
  if (all.length === 0) console.log('no webhook subscription: run `npm run shopify -- connect --url <https base url>`');
  for (const s of all) console.log(`${s.topic.padEnd(16)} → ${s.uri}  (${s.id})`);
  const uncovered = WEBHOOK_TOPICS.filter(({ topic }) => !all.some((s) => s.topic === topic)).map((t) => t.topic);
  if (all.length > 0 && uncovered.length > 0) console.log(`not subscribed: ${uncovered.join(', ')}`);
  return 0;
}

runCommands('shopify', USAGE, { connect, status }, (err) =>
  err instanceof ShopifyGaveUpError && err.last.message.startsWith('HTTP 401')
    ? `Shopify refused the access token (401): ${err.message}`
    : err instanceof Error
      ? err.message
      : String(err),
);

/**
 * `npm run shopify -- connect --url …` and `status` (docs/spec.md 12) against the Shopify stand-in:
 * the webhook subscriptions they leave at the shop (read through the stand-in's test interface), the
 * scope and location checks, and the same with a client-credentials token. The stand-in's
 * subscriptions are shared by every test: each test reads them before, compares after, and deletes
 * the subscriptions it created.
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { stackEnv } from '../support/stack-env.js';
import { runCommand } from './command.js';

interface Subscription {
  id: string;
  topic: string;
  uri: string;
}

const TOPICS: Array<[topic: string, path: string]> = [
  ['ORDERS_CREATE', '/api/shopify/webhooks/orders'],
  ['ORDERS_CANCELLED', '/api/shopify/webhooks/orders-cancelled'],
  ['REFUNDS_CREATE', '/api/shopify/webhooks/refunds'],
];

async function atStandIn(): Promise<Subscription[]> {
  const res = await fetch(`${stackEnv().WIREMOCK_URL}/__admin/shopify/webhook-subscriptions`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { subscriptions: Subscription[] }).subscriptions;
}

async function graphql(query: string, variables: Record<string, unknown>): Promise<unknown> {
  const env = stackEnv();
  const res = await fetch(`${env.SHOPIFY_ADMIN_BASE_URL}/admin/api/${env.SHOPIFY_API_VERSION}/graphql.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-shopify-access-token': env.SHOPIFY_ACCESS_TOKEN ?? 'shpat_local_access_token' },
    body: JSON.stringify({ query, variables }),
  });
  assert.equal(res.status, 200);
  return res.json();
}

/** Leaves the stand-in's subscriptions as the test found them: deletes those it created. */
function forgetCreated(t: { after: (fn: () => Promise<void>) => void }, before: Subscription[]): void {
  t.after(async () => {
    const known = new Set(before.map((s) => s.id));
    for (const s of await atStandIn()) {
      if (known.has(s.id)) continue;
      await graphql(
        'mutation Delete($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }',
        {
          id: `gid://shopify/WebhookSubscription/${s.id}`,
        },
      );
    }
  });
}

const uniqueBaseUrl = () => `https://orders-${randomUUID().slice(0, 8)}.example.test`;
const ofTopic = (all: Subscription[], topic: string, uri: string) => all.filter((s) => s.topic === topic && s.uri === uri);

describe('npm run shopify -- connect registers the three webhook subscriptions', () => {
  it('creates one subscription per topic at the address given, and a second run creates nothing', async (t) => {
    const before = await atStandIn();
    forgetCreated(t, before);
    const baseUrl = uniqueBaseUrl();

    const first = await runCommand('shopify', ['connect', '--url', baseUrl]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /✔ access scopes: read_orders, read_products, read_inventory, write_inventory/);
    assert.match(first.stdout, /✔ location: 65432109876/);
    const afterFirst = await atStandIn();
    for (const [topic, path] of TOPICS) {
      assert.equal(ofTopic(afterFirst, topic, `${baseUrl}${path}`).length, 1, `${topic} delivers to ${baseUrl}${path}`);
    }
    assert.match(first.stdout, /3 subscriptions: /);

    const second = await runCommand('shopify', ['connect', '--url', baseUrl]);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /3 subscriptions: 0 created, 0 updated, 3 unchanged/);
    assert.deepEqual(await atStandIn(), afterFirst, 'the second run changed nothing at the shop');
  });

  it('points the existing subscriptions at a new address (webhookSubscriptionUpdate), keeping their ids and creating none', async (t) => {
    const before = await atStandIn();
    forgetCreated(t, before);
    const oldUrl = uniqueBaseUrl();
    const newUrl = `${uniqueBaseUrl()}/`;
    assert.equal((await runCommand('shopify', ['connect', '--url', oldUrl])).code, 0);
    const connected = await atStandIn();
    const ids = TOPICS.map(([topic, path]) => ofTopic(connected, topic, `${oldUrl}${path}`)[0]!.id);

    const moved = await runCommand('shopify', ['connect', '--url', newUrl]);
    assert.equal(moved.code, 0, moved.stdout + moved.stderr);
    assert.match(moved.stdout, /3 subscriptions: 0 created, 3 updated, 0 unchanged/);
    const after = await atStandIn();
    assert.equal(after.length, connected.length, 'no subscription was added');
    TOPICS.forEach(([topic, path], i) => {
      const now = ofTopic(after, topic, `${newUrl.replace(/\/$/, '')}${path}`);
      assert.deepEqual(
        now.map((s) => s.id),
        [ids[i]],
        `${topic}: the same subscription now delivers to the new address`,
      );
      assert.equal(ofTopic(after, topic, `${oldUrl}${path}`).length, 0, `${topic}: nothing delivers to the old address`);
    });
  });

  it('status lists every subscription with its topic and address', async (t) => {
    const before = await atStandIn();
    forgetCreated(t, before);
    const baseUrl = uniqueBaseUrl();
    assert.equal((await runCommand('shopify', ['connect', '--url', baseUrl])).code, 0);

    const status = await runCommand('shopify', ['status']);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    for (const s of await atStandIn()) {
      assert.ok(
        status.stdout.includes(`${s.topic.padEnd(16)} → ${s.uri}  (gid://shopify/WebhookSubscription/${s.id})`),
        `status shows ${s.topic} ${s.uri}:\n${status.stdout}`,
      );
    }
    for (const [topic, path] of TOPICS) assert.ok(status.stdout.includes(`${topic.padEnd(16)} → ${baseUrl}${path}`));
  });

  it('connects with a token of the client-credentials grant as well as with a static one', async (t) => {
    const before = await atStandIn();
    forgetCreated(t, before);
    const clientId = `test-connect-${randomUUID()}`;
    const clientSecret = `secret-${randomUUID()}`;
    const put = await fetch(`${stackEnv().WIREMOCK_URL}/__admin/shopify/oauth`, {
      method: 'PUT',
      body: JSON.stringify({ clientId, clientSecret, expiresInSeconds: 86_399 }),
    });
    assert.equal(put.status, 200);
    const baseUrl = uniqueBaseUrl();

    const run = await runCommand('shopify', ['connect', '--url', baseUrl], {
      SHOPIFY_CLIENT_ID: clientId,
      SHOPIFY_CLIENT_SECRET: clientSecret,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`with the client-credentials grant of SHOPIFY_CLIENT_ID ${clientId}`));
    const after = await atStandIn();
    for (const [topic, path] of TOPICS) assert.equal(ofTopic(after, topic, `${baseUrl}${path}`).length, 1);
    const state = (await (await fetch(`${stackEnv().WIREMOCK_URL}/__admin/shopify/oauth?clientId=${clientId}`)).json()) as {
      clients: Array<{ tokensIssued: number }>;
    };
    assert.equal(state.clients[0]!.tokensIssued, 1, 'one token, obtained once and kept for every call of the run');
  });
});

describe('npm run shopify -- connect checks the app before registering anything', () => {
  it('names the access scopes the token lacks, registers nothing and exits 1', async (t) => {
    const before = await atStandIn();
    forgetCreated(t, before);
    // A token of the test's own whose installation lacks the inventory scopes (the stand-in's own holds all four).
    const token = `shpat_test_scopes_${randomUUID().replaceAll('-', '')}`;
    const wiremockUrl = stackEnv().WIREMOCK_URL;
    const res = await fetch(`${wiremockUrl}/__admin/mappings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        priority: 1,
        request: {
          method: 'POST',
          urlPath: `/admin/api/${stackEnv().SHOPIFY_API_VERSION}/graphql.json`,
          headers: { 'X-Shopify-Access-Token': { equalTo: token } },
          bodyPatterns: [{ contains: 'currentAppInstallation' }],
        },
        response: {
          status: 200,
          headers: { 'Content-Type': 'application/json' },
          jsonBody: {
            data: {
              currentAppInstallation: { accessScopes: [{ handle: 'read_orders' }, { handle: 'read_products' }] },
              location: { id: 'gid://shopify/Location/65432109876', name: 'Demo warehouse', isActive: true },
            },
          },
        },
      }),
    });
    assert.equal(res.status, 201);
    const { id } = (await res.json()) as { id: string };
    t.after(async () => {
      await fetch(`${wiremockUrl}/__admin/mappings/${id}`, { method: 'DELETE' });
    });

    const run = await runCommand('shopify', ['connect', '--url', uniqueBaseUrl()], { SHOPIFY_ACCESS_TOKEN: token });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /✖ access scopes: missing read_inventory, write_inventory \(the token holds read_orders, read_products\)/);
    assert.match(run.stdout, /nothing was registered/);
    assert.deepEqual(await atStandIn(), before);
  });

  it('names a SHOPIFY_LOCATION_ID that is not a location of the shop, registers nothing and exits 1', async (t) => {
    const before = await atStandIn();
    forgetCreated(t, before);
    const stranger = String(90_000_000_000 + randomInt(1, 2 ** 30));

    const run = await runCommand('shopify', ['connect', '--url', uniqueBaseUrl()], { SHOPIFY_LOCATION_ID: stranger });
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, new RegExp(`✖ location: SHOPIFY_LOCATION_ID ${stranger} is not a location of this shop`));
    assert.match(run.stdout, /✔ access scopes/);
    assert.deepEqual(await atStandIn(), before);
  });

  it('refuses an address Shopify cannot deliver to (not https) with a usage error', async () => {
    const before = await atStandIn();
    const run = await runCommand('shopify', ['connect', '--url', 'http://orders.example.test']);
    assert.equal(run.code, 64);
    assert.match(run.stderr, /Shopify delivers webhooks only to an https:\/\/ address/);
    assert.deepEqual(await atStandIn(), before);
  });
});

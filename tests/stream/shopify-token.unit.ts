/**
 * The access token's source (services/order-stream-process/src/clients/shopify-token.ts) against a
 * grant endpoint of the test's own: when a token is obtained and renewed, what a failed renewal does,
 * and which settings are accepted.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@oms/common';
import {
  clientCredentialsAccessToken,
  credentialsProblem,
  readGrant,
  shopifyCredentials,
  staticAccessToken,
  TokenGrantError,
  toolShopifyCredentials,
} from '../../services/order-stream-process/src/clients/shopify-token.js';

const logger = createLogger({ service: 'shopify-token-test', level: 'error' });

/** The grant as Shopify answers it; `answers` decides each reply in turn (default: a token of 100 s). */
let grants: Array<{ client_id: string; client_secret: string; grant_type: string }> = [];
let reply: (n: number) => { status: number; body: unknown; delayMs?: number } = (n) => ({
  status: 200,
  body: { access_token: `token-${n}`, scope: 'read_orders', expires_in: 100 },
});
let baseUrl = '';
const server = http.createServer((req, res) => {
  let text = '';
  req.on('data', (c: Buffer) => (text += c.toString()));
  req.on('end', () => {
    assert.equal(req.url, '/admin/oauth/access_token');
    grants.push(JSON.parse(text) as (typeof grants)[number]);
    const answer = reply(grants.length);
    setTimeout(
      () => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body)),
      answer.delayMs ?? 0,
    );
  });
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function source(clock: { now: number }) {
  grants = [];
  return clientCredentialsAccessToken({
    baseUrl,
    clientId: 'app-1',
    clientSecret: 'secret-1',
    timeoutMs: 2_000,
    logger,
    now: () => clock.now,
  });
}

describe('the client-credentials grant', () => {
  it('obtains a token with the client id, secret and grant type, and keeps it until 90 % of its lifetime', async () => {
    const clock = { now: 1_000_000 };
    const tokens = source(clock);
    assert.equal(await tokens.token(), 'token-1');
    assert.deepEqual(grants, [{ client_id: 'app-1', client_secret: 'secret-1', grant_type: 'client_credentials' }]);
    clock.now += 89_999;
    assert.equal(await tokens.token(), 'token-1', 'kept until 90 s of its 100');
    clock.now += 1;
    assert.equal(await tokens.token(), 'token-2', 'renewed at 90 s, before it expires');
    assert.equal(grants.length, 2);
  });

  it('asks once for everyone waiting at the same time', async () => {
    const clock = { now: 0 };
    const tokens = source(clock);
    reply = (n) => ({ status: 200, body: { access_token: `token-${n}`, expires_in: 100 }, delayMs: 50 });
    const all = await Promise.all(Array.from({ length: 10 }, () => tokens.token()));
    assert.deepEqual(new Set(all), new Set(['token-1']));
    assert.equal(grants.length, 1);
  });

  it('drops a token Shopify refused (401) and obtains another, once for all the calls that held it', async () => {
    const clock = { now: 0 };
    const tokens = source(clock);
    reply = (n) => ({ status: 200, body: { access_token: `token-${n}`, expires_in: 86_399 } });
    const first = await tokens.token();
    assert.equal(tokens.rejected(first), true);
    assert.equal(tokens.rejected(first), true, 'a second call refused with the same token retries too');
    assert.equal(await tokens.token(), 'token-2');
    assert.equal(tokens.rejected(first), true, 'a late 401 for the old token does not throw the new one away');
    assert.equal(await tokens.token(), 'token-2');
    assert.equal(grants.length, 2);
  });

  it('keeps using a token still valid when its renewal fails, and tries the renewal again a second later', async () => {
    const clock = { now: 0 };
    const tokens = source(clock);
    reply = (n) =>
      n === 2 ? { status: 503, body: { errors: 'unavailable' } } : { status: 200, body: { access_token: `token-${n}`, expires_in: 100 } };
    assert.equal(await tokens.token(), 'token-1');
    clock.now = 90_000;
    assert.equal(await tokens.token(), 'token-1', 'the renewal failed: the held token still works for 10 s');
    clock.now = 90_999;
    assert.equal(await tokens.token(), 'token-1', 'no second renewal within the second');
    assert.equal(grants.length, 2);
    clock.now = 91_000;
    assert.equal(await tokens.token(), 'token-3');
  });

  it('fails a call only when no valid token is held: retryable for a 5xx, not for refused credentials', async () => {
    const clock = { now: 0 };
    const tokens = source(clock);
    reply = () => ({ status: 502, body: {} });
    await assert.rejects(tokens.token(), (err: unknown) => err instanceof TokenGrantError && err.retryable && /HTTP 502/.test(err.message));
    reply = () => ({ status: 400, body: { error: 'invalid_client', error_description: 'Client authentication failed' } });
    await assert.rejects(
      tokens.token(),
      (err: unknown) =>
        err instanceof TokenGrantError &&
        !err.retryable &&
        err.message.includes('invalid_client: Client authentication failed') &&
        err.message.includes('SHOPIFY_CLIENT_SECRET'),
    );
  });

  it('reads an answer without expires_in as a token renewed only on a 401', () => {
    assert.deepEqual(readGrant(200, '{"access_token":"t"}', 5, 0.9), { token: 't', renewAt: Infinity, expiresAt: Infinity });
    assert.deepEqual(readGrant(200, '{"access_token":"t","expires_in":2}', 1_000, 0.9), { token: 't', renewAt: 2_800, expiresAt: 3_000 });
    assert.ok(readGrant(200, '{"scope":"x"}', 0, 0.9) instanceof TokenGrantError);
    assert.equal((readGrant(429, '', 0, 0.9) as TokenGrantError).retryable, true);
  });

  it('never renews a static token', async () => {
    const tokens = staticAccessToken('shpat_static');
    assert.equal(await tokens.token(), 'shpat_static');
    assert.equal(tokens.rejected('shpat_static'), false);
  });
});

describe('the token settings', () => {
  it('takes a static token or a client id with its secret, and names what is missing or too much', () => {
    assert.deepEqual(
      shopifyCredentials((n) => ({ SHOPIFY_ACCESS_TOKEN: 'shpat_x' })[n]),
      { accessToken: 'shpat_x' },
    );
    assert.deepEqual(
      shopifyCredentials((n) => ({ SHOPIFY_CLIENT_ID: 'id', SHOPIFY_CLIENT_SECRET: 'secret' })[n]),
      { clientId: 'id', clientSecret: 'secret' },
    );
    assert.equal(credentialsProblem({})?.variable, 'SHOPIFY_ACCESS_TOKEN');
    assert.equal(credentialsProblem({ clientId: 'id' })?.message, 'SHOPIFY_CLIENT_SECRET is required with SHOPIFY_CLIENT_ID');
    assert.equal(credentialsProblem({ clientSecret: 'secret' })?.variable, 'SHOPIFY_CLIENT_ID');
    assert.match(credentialsProblem({ accessToken: 't', clientId: 'id', clientSecret: 's' })?.message ?? '', /not both/);
  });

  it("lets a tool's exported client id and secret replace the stack file's static token as a whole", () => {
    const file = (n: string) =>
      ({ SHOPIFY_ACCESS_TOKEN: 'shpat_local_access_token', SHOPIFY_CLIENT_ID: 'exported-id', SHOPIFY_CLIENT_SECRET: 'exported' })[n];
    assert.deepEqual(toolShopifyCredentials(file, { SHOPIFY_CLIENT_ID: 'exported-id', SHOPIFY_CLIENT_SECRET: 'exported' }), {
      clientId: 'exported-id',
      clientSecret: 'exported',
    });
    assert.deepEqual(
      toolShopifyCredentials((n) => ({ SHOPIFY_ACCESS_TOKEN: 'shpat_local_access_token' })[n], {}),
      { accessToken: 'shpat_local_access_token' },
    );
  });
});

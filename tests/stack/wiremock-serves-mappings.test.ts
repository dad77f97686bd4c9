import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEMO_CATALOGUE } from '../../db/catalogue.js';
import { eventually } from '../support/eventually.js';
import { stackEnv } from '../support/stack-env.js';

/** The running stack's WireMock answers from the mappings tests/stack/wiremock-mappings.unit.ts checks offline. */
describe("the stack's WireMock serves the default mappings", () => {
  const base = stackEnv().WIREMOCK_URL;

  it('answers a demo product with the catalogue quantity and an unknown product with 404', async () => {
    const product = DEMO_CATALOGUE.find((p) => p.availableQuantity < 5) ?? DEMO_CATALOGUE[0]!;
    const known = await fetch(`${base}/api/v1/products/${product.productId}/inventory`, {
      headers: { authorization: 'Bearer local-wms-key' },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(known.status, 200);
    const body = (await known.json()) as Record<string, unknown>;
    assert.equal(body.availableQuantity, product.availableQuantity);
    assert.ok(!Number.isNaN(Date.parse(String(body.lastUpdated))), 'lastUpdated is a timestamp');

    const unknownId = 9_000_000_000_000 + Math.floor(Math.random() * 1_000_000);
    const unknown = await fetch(`${base}/api/v1/products/${unknownId}/inventory`, {
      headers: { authorization: 'Bearer local-wms-key' },
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { message: string }).message, new RegExp(String(unknownId)));
  });

  it("answers Shopify's inventorySetQuantities with success and the cost of Shopify's standard plan", async () => {
    type Answer = {
      data?: { inventorySetQuantities: { userErrors: unknown[] } };
      errors?: Array<{ extensions?: { code?: string } }>;
      extensions: { cost: { throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number } } };
    };
    // The store's bucket is shared with every test: after a load test it may be dry for a few seconds.
    const body = await eventually(async () => {
      const res = await fetch(`${base}/admin/api/2026-10/graphql.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-shopify-access-token': 'shpat_local_access_token' },
        body: JSON.stringify({ query: 'mutation { inventorySetQuantities(input: {}) { userErrors { message } } }' }),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(res.status, 200);
      const answer = (await res.json()) as Answer;
      assert.notEqual(answer.errors?.[0]?.extensions?.code, 'THROTTLED', 'the shared bucket is dry: asking again');
      return answer;
    }, 30_000, 1000);
    assert.deepEqual(body.data?.inventorySetQuantities.userErrors, []);
    const { maximumAvailable, currentlyAvailable, restoreRate } = body.extensions.cost.throttleStatus;
    assert.deepEqual({ maximumAvailable, restoreRate }, { maximumAvailable: 2000, restoreRate: 100 });
    assert.ok(currentlyAvailable >= 0 && currentlyAvailable <= 1990, `a mutation costs 10 of 2,000 points: ${currentlyAvailable} left`);
  });
});

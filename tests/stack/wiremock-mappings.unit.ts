import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DEMO_CATALOGUE } from '../../db/catalogue.js';
import { defaultMappings, MAPPINGS_DIR, type Mapping } from '../../wiremock/generate.js';
import { stackEnv } from '../support/stack-env.js';

function committed(): Map<string, Mapping> {
  return new Map(
    readdirSync(MAPPINGS_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => [f, JSON.parse(readFileSync(path.join(MAPPINGS_DIR, f), 'utf8')) as Mapping]),
  );
}

describe("WireMock's default mappings agree with the demo catalogue", () => {
  it('the committed mappings are exactly what wiremock/generate.ts writes (run it after changing db/catalogue.ts)', () => {
    assert.deepEqual(Object.fromEntries(committed()), Object.fromEntries(defaultMappings()));
  });

  it('every catalogue product has a WMS answer with its SKU and available quantity, behind a bearer token', () => {
    const byUrl = new Map([...committed().values()].map((m) => [m.request.urlPath, m]));
    for (const product of DEMO_CATALOGUE) {
      const mapping = byUrl.get(`/api/v1/products/${product.productId}/inventory`);
      assert.ok(mapping, `a mapping for ${product.sku}`);
      assert.deepEqual(mapping.request.headers, { Authorization: { matches: 'Bearer .+' } });
      const body = mapping.response.jsonBody as Record<string, unknown>;
      assert.equal(body.productId, product.productId);
      assert.equal(body.sku, product.sku);
      assert.equal(body.availableQuantity, product.availableQuantity);
      assert.equal(body.totalQuantity, product.availableQuantity);
      assert.equal(body.reservedQuantity, 0);
    }
  });
});

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
    let body: Answer | undefined;
    for (let attempt = 0; attempt < 30; attempt++) {
      const res = await fetch(`${base}/admin/api/2026-10/graphql.json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-shopify-access-token': 'shpat_local_access_token' },
        body: JSON.stringify({ query: 'mutation { inventorySetQuantities(input: {}) { userErrors { message } } }' }),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(res.status, 200);
      body = (await res.json()) as Answer;
      if (body.errors?.[0]?.extensions?.code !== 'THROTTLED') break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    assert.deepEqual(body?.data?.inventorySetQuantities.userErrors, []);
    const { maximumAvailable, currentlyAvailable, restoreRate } = body!.extensions.cost.throttleStatus;
    assert.deepEqual({ maximumAvailable, restoreRate }, { maximumAvailable: 2000, restoreRate: 100 });
    assert.ok(currentlyAvailable >= 0 && currentlyAvailable <= 1990, `a mutation costs 10 of 2,000 points: ${currentlyAvailable} left`);
  });
});

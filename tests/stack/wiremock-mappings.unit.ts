import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DEMO_CATALOGUE } from '../../db/catalogue.js';
import { defaultMappings, MAPPINGS_DIR, type Mapping } from '../../wiremock/generate.js';

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

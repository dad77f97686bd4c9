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

/** docs/spec.md section 3: the WMS's item, the same in the per-SKU answer and in the list. */
function assertWmsItem(item: Record<string, unknown>, variant: (typeof DEMO_CATALOGUE)[number]): void {
  assert.equal(item.sku, variant.sku);
  assert.equal(item.availableQuantity, variant.availableQuantity, `${variant.sku}: available`);
  assert.equal(item.totalQuantity, variant.availableQuantity, `${variant.sku}: total`);
  assert.equal(item.reservedQuantity, 0);
  assert.equal(typeof item.locationId, 'string');
  assert.equal(item.lastUpdated, '{{now}}', 'lastUpdated is the time of the answer');
}

const BEARER = { Authorization: { matches: 'Bearer .+' } };

describe("WireMock's default mappings agree with the demo catalogue", () => {
  it('the committed mappings are exactly what wiremock/generate.ts writes (run it after changing db/catalogue.ts)', () => {
    assert.deepEqual(Object.fromEntries(committed()), Object.fromEntries(defaultMappings()));
  });

  it('every catalogue variant has a WMS answer at /api/v1/inventory/{sku} with its available quantity, behind a bearer token', () => {
    const byUrl = new Map([...committed().values()].map((m) => [m.request.urlPath, m]));
    for (const variant of DEMO_CATALOGUE) {
      const mapping = byUrl.get(`/api/v1/inventory/${encodeURIComponent(variant.sku)}`);
      assert.ok(mapping, `a mapping for ${variant.sku}`);
      assert.equal(mapping.request.method, 'GET');
      assert.deepEqual(mapping.request.headers, BEARER);
      assert.equal(mapping.response.status, 200);
      assertWmsItem(mapping.response.jsonBody as Record<string, unknown>, variant);
    }
  });

  it('the WMS list at /api/v1/inventory holds every catalogue SKU once, on one last page', () => {
    const list = committed().get('wms-inventory-list.json');
    assert.ok(list, 'wms-inventory-list.json');
    assert.deepEqual(
      { method: list.request.method, urlPath: list.request.urlPath, headers: list.request.headers },
      { method: 'GET', urlPath: '/api/v1/inventory', headers: BEARER },
    );
    const body = list.response.jsonBody as { items: Array<Record<string, unknown>>; nextCursor: unknown };
    assert.equal(body.nextCursor, null, 'the last page');
    assert.deepEqual(
      body.items.map((i) => i.sku),
      DEMO_CATALOGUE.map((v) => v.sku),
    );
    for (const variant of DEMO_CATALOGUE)
      assertWmsItem(
        body.items.find((i) => i.sku === variant.sku)!,
        variant,
      );
  });

  it('any other SKU is a 404 behind every catalogue answer, and a call without a token a 401 before any', () => {
    const all = committed();
    const unknown = all.get('wms-unknown-sku.json');
    assert.ok(unknown, 'wms-unknown-sku.json');
    assert.equal(unknown.request.urlPathPattern, '/api/v1/inventory/[^/]+');
    assert.equal(unknown.response.status, 404);
    const missingAuth = all.get('wms-missing-auth.json');
    assert.ok(missingAuth, 'wms-missing-auth.json');
    assert.deepEqual(missingAuth.request.headers, { Authorization: { absent: true } });
    assert.equal(missingAuth.response.status, 401);
    // WireMock answers from the matching mapping with the lowest priority number: a known SKU's
    // answer (which needs the token) and the 401 (which needs its absence) both win over the 404.
    assert.ok(missingAuth.priority < unknown.priority, 'no token: 401, not 404');
    const known = [...all.values()].filter((m) => String(m.request.urlPath ?? '').startsWith('/api/v1/inventory'));
    assert.equal(known.length, DEMO_CATALOGUE.length + 1, 'one answer per SKU, and the list');
    for (const m of known) assert.ok(m.priority < unknown.priority, m.name);
  });
});

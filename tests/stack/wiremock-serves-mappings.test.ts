import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { DEMO_CATALOGUE } from '../../db/catalogue.js';
import { INVENTORY_SET_QUANTITIES } from '../../services/order-stream-process/src/domain/mutation.js';
import { eventually } from '../support/eventually.js';
import { setShopifyLevels, shopifyAvailable } from '../support/shopify-stand-in.js';
import { stackEnv } from '../support/stack-env.js';

/** The running stack's WireMock answers from the mappings tests/stack/wiremock-mappings.unit.ts checks offline. */
describe("the stack's WireMock serves the default mappings", () => {
  const base = stackEnv().WIREMOCK_URL;
  const wms = (path: string, authorization: string | null = 'Bearer local-wms-key') =>
    fetch(`${base}/api/v1/inventory${path}`, { headers: authorization ? { authorization } : {}, signal: AbortSignal.timeout(5000) });

  it('answers a demo SKU with the catalogue quantity, an unknown SKU with 404, and a call without a token with 401', async () => {
    const variant = DEMO_CATALOGUE.find((v) => v.availableQuantity < 5) ?? DEMO_CATALOGUE[0]!;
    const known = await wms(`/${encodeURIComponent(variant.sku)}`);
    assert.equal(known.status, 200);
    const body = (await known.json()) as Record<string, unknown>;
    assert.equal(body.sku, variant.sku);
    assert.equal(body.availableQuantity, variant.availableQuantity);
    assert.ok(!Number.isNaN(Date.parse(String(body.lastUpdated))), 'lastUpdated is a timestamp');

    const unknownSku = `NO-SUCH-SKU-${randomInt(1, 1_000_000)}`;
    const unknown = await wms(`/${unknownSku}`);
    assert.equal(unknown.status, 404);
    assert.match(((await unknown.json()) as { message: string }).message, new RegExp(unknownSku));

    const anonymous = await wms(`/${encodeURIComponent(variant.sku)}`, null);
    assert.equal(anonymous.status, 401);
    await anonymous.arrayBuffer();
  });

  it('lists every demo SKU with its quantity on one page, nextCursor null', async () => {
    const res = await wms('?limit=250');
    assert.equal(res.status, 200);
    const { items, nextCursor } = (await res.json()) as { items: Array<{ sku: string; availableQuantity: number }>; nextCursor: unknown };
    assert.equal(nextCursor, null);
    assert.deepEqual(
      items.map((i) => [i.sku, i.availableQuantity]),
      DEMO_CATALOGUE.map((v) => [v.sku, v.availableQuantity]),
    );
  });

  it("applies Shopify's inventorySetQuantities to the level the stand-in keeps, compare-and-set, at the cost of Shopify's standard plan", async () => {
    type Answer = {
      data?: { inventorySetQuantities: { userErrors: unknown[] } };
      errors?: Array<{ extensions?: { code?: string } }>;
      extensions: { cost: { throttleStatus: { maximumAvailable: number; currentlyAvailable: number; restoreRate: number } } };
    };
    // An inventory item and location of this test's own: the stand-in is shared with every test.
    const item = String(47_000_000_000_000 + randomInt(1, 2 ** 40));
    const location = String(71_000_000_000 + randomInt(1, 2 ** 30));
    await setShopifyLevels([{ inventoryItemId: item, locationId: location, available: 10 }]);
    const set = (from: number, to: number) => ({
      query: INVENTORY_SET_QUANTITIES,
      variables: {
        idempotencyKey: randomUUID(),
        input: {
          name: 'available',
          reason: 'correction',
          referenceDocumentUri: 'gid://order-intake/Test/wiremock-serves-mappings',
          quantities: [
            {
              inventoryItemId: `gid://shopify/InventoryItem/${item}`,
              locationId: `gid://shopify/Location/${location}`,
              quantity: to,
              changeFromQuantity: from,
            },
          ],
        },
      },
    });
    const send = (request: unknown) =>
      // The store's bucket is shared with every test: after a load test it may be dry for a few seconds.
      eventually(
        async () => {
          const res = await fetch(`${base}/admin/api/2026-10/graphql.json`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-shopify-access-token': 'shpat_local_access_token' },
            body: JSON.stringify(request),
            signal: AbortSignal.timeout(5000),
          });
          assert.equal(res.status, 200);
          const answer = (await res.json()) as Answer;
          assert.notEqual(answer.errors?.[0]?.extensions?.code, 'THROTTLED', 'the shared bucket is dry: asking again');
          return answer;
        },
        30_000,
        1000,
      );

    const applied = await send(set(10, 7));
    assert.deepEqual(applied.errors, undefined);
    assert.deepEqual(applied.data?.inventorySetQuantities.userErrors, []);
    assert.equal(await shopifyAvailable(item, location), 7, 'the stand-in holds the new figure');
    const { maximumAvailable, currentlyAvailable, restoreRate } = applied.extensions.cost.throttleStatus;
    assert.deepEqual({ maximumAvailable, restoreRate }, { maximumAvailable: 2000, restoreRate: 100 });
    assert.ok(currentlyAvailable >= 0 && currentlyAvailable <= 1990, `a mutation costs 10 of 2,000 points: ${currentlyAvailable} left`);

    const stale = await send(set(10, 5));
    assert.deepEqual(
      (stale.data?.inventorySetQuantities.userErrors as Array<{ code?: string }>).map((e) => e.code),
      ['CHANGE_FROM_QUANTITY_STALE'],
      'a compare against a figure Shopify no longer holds is refused',
    );
    assert.equal(await shopifyAvailable(item, location), 7, 'and applies nothing');
  });
});

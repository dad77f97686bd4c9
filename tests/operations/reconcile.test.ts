import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { closeDb, createTestProduct, readInventory } from '../support/db.js';
import { inventoryItemGid, locationGid, removeShopifyRequests, shopifyGraphqlPath, shopifyRequests } from '../support/shopify.js';
import { stackEnv } from '../support/stack-env.js';
import { RECONCILE_QUERY_NAME } from '../../wiremock/generate.js';
import { eventually } from '../stream/harness.js';
import { runTool } from './run-tool.js';

/**
 * `npm run reconcile` through the running stack: Shopify's quantity of a product drifted (stubbed
 * per item in WireMock); a dry run reports it and changes nothing, a real run sets the database's.
 */

/**
 * Drift for one item: Shopify's answer to reconciliation's read names this quantity. Only the read
 * is stubbed, so the repair reaches the stand-in's default inventorySetQuantities success.
 */
async function stubShopifyHolds(inventoryItemId: number, quantity: number): Promise<{ remove(): Promise<void> }> {
  const admin = `${stackEnv().WIREMOCK_URL}/__admin/mappings`;
  const response = await fetch(admin, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(5_000),
    body: JSON.stringify({
      priority: 1,
      request: {
        method: 'POST',
        urlPath: shopifyGraphqlPath(),
        bodyPatterns: [{ contains: `query ${RECONCILE_QUERY_NAME}` }, { contains: `"${inventoryItemGid(inventoryItemId)}"` }],
      },
      response: {
        status: 200,
        headers: { 'Content-Type': 'application/json' },
        jsonBody: {
          data: { nodes: [{ id: inventoryItemGid(inventoryItemId), inventoryLevel: { quantities: [{ name: 'available', quantity }] } }] },
          extensions: { cost: { requestedQueryCost: 2, actualQueryCost: 2, throttleStatus: { maximumAvailable: 2000, currentlyAvailable: 1998, restoreRate: 100 } } },
        },
      },
    }),
  });
  const { id } = (await response.json()) as { id: string };
  return { remove: async () => void (await fetch(`${admin}/${id}`, { method: 'DELETE', signal: AbortSignal.timeout(5_000) })) };
}

const isWrite = (query: string) => /^\s*mutation\b/.test(query);

after(closeDb);

describe('npm run reconcile repairs drift between Shopify and the database (SPEC.md section 10)', () => {
  it('--dry-run reports the drift of a product edited in Shopify and sends no write; a real run sets Shopify to the database quantity', async (t) => {
    const product = await createTestProduct({ availableQuantity: 7 });
    const read = await stubShopifyHolds(product.inventoryItemId, 3);
    t.after(async () => {
      await read.remove();
      await removeShopifyRequests([product.inventoryItemId]);
    });
    const writes = async () => (await shopifyRequests([product.inventoryItemId])).filter((r) => isWrite(r.body.query));

    const dry = await runTool('reconcile', ['--dry-run', '--product', String(product.productId)]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`drift  product ${product.productId} TEST-${product.productId} .*Shopify 3, database 7  → would set 7`));
    assert.match(dry.stdout, /1 checked, 0 in sync, 1 drifted \(1 to repair\)/);
    const asked = (await shopifyRequests([product.inventoryItemId]))[0]!.body as unknown as { query: string; variables: Record<string, unknown> };
    assert.match(asked.query, /nodes\(ids: \$ids\)[\s\S]*inventoryLevel\(locationId: \$locationId\)[\s\S]*quantities\(names: \["available"\]\)/);
    assert.deepEqual(asked.variables, { ids: [inventoryItemGid(product.inventoryItemId)], locationId: locationGid(product.locationId) });
    assert.deepEqual(await writes(), []);

    const real = await runTool('reconcile', ['--product', String(product.productId)]);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /Shopify 3, database 7 {2}→ set 7/);
    assert.match(real.stdout, /1 drifted \(1 repaired, 0 skipped, 0 failed\)/);
    const [write] = await eventually(async () => {
      const found = await writes();
      assert.equal(found.length, 1);
      return found;
    }, 10_000);
    assert.match(write!.body.query, /inventorySetQuantities\(input: \$input\) @idempotent\(key: \$idempotencyKey\)/);
    assert.deepEqual(write!.body.variables.input.quantities, [
      { inventoryItemId: inventoryItemGid(product.inventoryItemId), locationId: locationGid(product.locationId), quantity: 7, changeFromQuantity: null },
    ]);
    assert.equal(write!.body.variables.input.name, 'available');
    assert.equal(write!.body.variables.input.reason, 'correction');
    assert.match(write!.body.variables.input.referenceDocumentUri, /^gid:\/\/order-intake\/Reconciliation\/[0-9a-f-]{36}$/);
    assert.match(write!.body.variables.idempotencyKey, /^[0-9a-f-]{36}$/);
    assert.equal((await readInventory(product.productId))?.availableQuantity, 7, 'the database is the source of truth and stays as it was');
  });

  it('a product in sync is left alone, and one Shopify does not know is reported, never written', async (t) => {
    const inSync = await createTestProduct({ availableQuantity: 12 });
    const unknown = await createTestProduct({ availableQuantity: 4 });
    const read = await stubShopifyHolds(inSync.inventoryItemId, 12);
    t.after(async () => {
      await read.remove();
      await removeShopifyRequests([inSync.inventoryItemId, unknown.inventoryItemId]);
    });
    const run = await runTool('reconcile', ['--product', `${inSync.productId},${unknown.productId}`]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`skip   product ${unknown.productId} .*Shopify does not know this inventory item \\(database 4\\)`));
    assert.match(run.stdout, /2 checked, 1 in sync, 0 drifted .* 1 not comparable/);
    const written = (await shopifyRequests([inSync.inventoryItemId, unknown.inventoryItemId])).filter((r) => isWrite(r.body.query));
    assert.deepEqual(written, []);
  });

  it('refuses a malformed product id with a usage error', async () => {
    const run = await runTool('reconcile', ['--product', '12abc']);
    assert.equal(run.code, 64);
    assert.match(run.stderr, /--product 12abc: must be a positive integer below 2\^63/);
  });
});

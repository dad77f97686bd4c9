import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createLogger } from '@oms/common';
import { createShopifyClient } from '../../services/order-stream-process/src/clients/shopify.js';
import { createStockSource } from '../../services/order-stream-process/src/clients/stock.js';
import { createReconciler } from '../../services/order-stream-process/src/use-cases/reconcile/reconcile.js';
import { closeDb, createTestProduct, readInventory, type TestProduct } from '../support/db.js';
import { inventoryItemGid, locationGid, removeShopifyRequests, shopifyRequests, stubShopify, writesAmong } from '../support/shopify.js';
import { setShopifyLevels, shopifyLevels } from '../support/shopify-stand-in.js';
import { stackEnv } from '../support/stack-env.js';
import { runTool } from './run-tool.js';

/**
 * `npm run reconcile` through the running stack: Shopify's figure of a variant drifted (a merchant
 * edited it in the Shopify admin, at the stand-in); a dry run reports it and changes nothing, a real
 * run sets Shopify to the database's figure with a compare-and-set from the figure it read.
 */

after(closeDb);

async function variant(t: { after: (fn: () => Promise<void>) => void }, database: number, shopify: number | 'none'): Promise<TestProduct> {
  const v = await createTestProduct({ availableQuantity: database, atShopify: false });
  if (shopify !== 'none') await setShopifyLevels([{ inventoryItemId: v.inventoryItemId, locationId: v.locationId, available: shopify }]);
  t.after(() => removeShopifyRequests([v.inventoryItemId]));
  return v;
}

const history = async (v: TestProduct) => (await shopifyLevels(v.inventoryItemId))[0]!.history.map((h) => [h.cause, h.available]);

describe('npm run reconcile repairs drift between Shopify and the database with compare-and-set (docs/spec.md sections 6, 10)', () => {
  it('--dry-run reports the drift of variants edited in Shopify and writes nothing; a real run sets each from the figure it read', async (t) => {
    const below = await variant(t, 7, 3);
    const above = await variant(t, 7, 12);
    const ids = `${below.variantId},${above.variantId}`;

    const dry = await runTool('reconcile', ['--dry-run', '--variant', ids]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`drift  variant ${below.variantId} ${below.sku} .*Shopify 3, database 7  → would set 7`));
    assert.match(dry.stdout, new RegExp(`drift  variant ${above.variantId} ${above.sku} .*Shopify 12, database 7  → would set 7`));
    assert.match(dry.stdout, /2 checked, 0 in sync, 2 drifted \(2 to repair\)/);
    const [read] = await shopifyRequests([below.inventoryItemId], { operation: 'availableQuantities' });
    assert.match(
      read!.body.query,
      /nodes\(ids: \$ids\)[\s\S]*inventoryLevel\(locationId: \$locationId\)[\s\S]*quantities\(names: \["available"\]\)/,
    );
    assert.deepEqual(writesAmong(await shopifyRequests([below.inventoryItemId, above.inventoryItemId])), []);

    const real = await runTool('reconcile', ['--variant', ids]);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /Shopify 3, database 7 {2}→ set 7/);
    assert.match(real.stdout, /2 drifted \(2 repaired, 0 skipped, 0 failed\)/);
    const sets = await shopifyRequests([below.inventoryItemId, above.inventoryItemId], { operation: 'inventorySetQuantities' });
    const quantities = sets.flatMap((s) => s.body.variables.input!.quantities!);
    assert.deepEqual(
      quantities.map((q) => [q.inventoryItemId, q.locationId, q.changeFromQuantity, q.quantity]).sort(),
      [
        [inventoryItemGid(below.inventoryItemId), locationGid(below.locationId), 3, 7],
        [inventoryItemGid(above.inventoryItemId), locationGid(above.locationId), 12, 7],
      ].sort(),
      'compare-and-set from the figure read, never blind',
    );
    for (const s of sets) {
      assert.match(s.body.variables.input!.referenceDocumentUri, /^gid:\/\/order-intake\/Reconciliation\/[0-9a-f-]{36}$/);
      assert.match(s.body.variables.idempotencyKey!, /^[0-9a-f-]{36}$/);
    }
    assert.deepEqual(await history(below), [
      ['seed', 3],
      ['set', 7],
    ]);
    assert.deepEqual(await history(above), [
      ['seed', 12],
      ['set', 7],
    ]);
    assert.equal((await readInventory(below.variantId))?.availableQuantity, 7, 'the database is the source of truth and stays as it was');
  });

  it('leaves a variant in sync alone, and reports one Shopify does not stock without writing', async (t) => {
    const inSync = await variant(t, 12, 12);
    const unstocked = await variant(t, 4, 'none');
    const run = await runTool('reconcile', ['--variant', `${inSync.variantId},${unstocked.variantId}`]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(`skip   variant ${unstocked.variantId} ${unstocked.sku} .*Shopify does not (know|stock) this .*\\(database 4\\)`),
    );
    assert.match(run.stdout, /2 checked, 1 in sync, 0 drifted .* 1 not comparable/);
    assert.deepEqual(writesAmong(await shopifyRequests([inSync.inventoryItemId, unstocked.inventoryItemId])), []);
  });

  it('skips a repair Shopify finds stale (it moved since the read) and changes nothing', async (t) => {
    const drifted = await variant(t, 7, 10);
    // The read sees 12, the figure a moment before a sale at Shopify: the compare-and-set from 12 is stale.
    const read = await stubShopify(
      [drifted.inventoryItemId],
      {
        status: 200,
        body: {
          data: {
            nodes: [
              { id: inventoryItemGid(drifted.inventoryItemId), inventoryLevel: { quantities: [{ name: 'available', quantity: 12 }] } },
            ],
          },
        },
      },
      { operation: 'availableQuantities' },
    );
    t.after(() => read.remove());
    const env = stackEnv();
    const logger = createLogger({ service: 'reconcile-test', level: 'error' });
    const reconciler = createReconciler({
      stock: createStockSource({ baseUrl: env.DATA_API_URL, token: env.INTERNAL_API_TOKEN, timeoutMs: 5_000 }),
      shopify: createShopifyClient({
        baseUrl: env.SHOPIFY_ADMIN_BASE_URL,
        apiVersion: env.SHOPIFY_API_VERSION,
        accessToken: 'shpat_test',
        timeoutMs: 5_000,
        logger,
      }),
      logger,
    });

    const report = await reconciler.run({ variantIds: [String(drifted.variantId)] });
    assert.deepEqual(
      report.drifts.map((d) => [d.variantId, d.sku, d.shopify, d.database, d.action]),
      [[String(drifted.variantId), drifted.sku, 12, 7, 'skipped_changed']],
    );
    assert.match(report.drifts[0]!.reason ?? '', /CHANGE_FROM_QUANTITY_STALE/);
    assert.deepEqual(await history(drifted), [['seed', 10]], 'nothing applied');
  });

  it('refuses a malformed variant id with a usage error', async () => {
    const run = await runTool('reconcile', ['--variant', '12abc']);
    assert.equal(run.code, 64);
    assert.match(run.stderr, /--variant 12abc: must be a positive integer below 2\^63/);
  });
});

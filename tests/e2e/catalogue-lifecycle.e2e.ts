/**
 * Issue 26's "done when", against the whole running stack: a shop whose inventory is empty is filled
 * from the Shopify stand-in and the WMS with `npm run catalogue -- import`, then lives: orders
 * (Shopify takes each first, as it does), a cancellation, a refund with a return and one without
 * restock, a restock from the warehouse through the adjustments API. At the end Shopify equals the
 * database for every variant, and every variant's stock equals the sum of its movements.
 *
 * A scratch shop, so the shared demo catalogue is not disturbed: new random products stand in for
 * "the demo catalogue" (a T-shirt in three sizes, a mug, a watch with its last unit), the stand-in's
 * catalogue holds only them (a PUT replaces it), and the WMS list answers only this run's key.
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { httpRequest } from '@oms/common';
import { closeDb } from '../support/db.js';
import { readServiceLog } from '../support/logs.js';
import { eventually } from '../support/eventually.js';
import { buildShopifyOrder, type OrderLine, randomOrderId } from '../support/orders.js';
import { buildCancelledOrder, buildRefund, deliver, lineItemIds } from '../support/refunds.js';
import { setShopifyLevels, shopifyAvailable, shopifyRestocks, shopifyTakesOrder } from '../support/shopify-stand-in.js';
import { stackEnv } from '../support/stack-env.js';
import { stubWmsInventory } from '../support/wiremock.js';
import {
  ledgerMismatches,
  privateWmsKey,
  putShopifyCatalogue,
  readLedger,
  readVariants,
  runCatalogue,
  stubWmsList,
} from '../operations/catalogue-support.js';

const removers: Array<() => Promise<unknown>> = [];

after(async () => {
  for (const remove of removers.splice(0).reverse()) await remove().catch(() => undefined);
  await closeDb();
});

interface ShopVariant {
  variantId: number;
  productId: number;
  sku: string;
  title: string;
  inventoryItemId: number;
  /** The WMS's figure, the stock the import gives it. */
  wms: number;
}

// Shopify-like ids below 2^53 (the order builder writes them as JSON numbers), far from other tests'.
const someId = (base: number) => base + randomInt(1, 2 ** 40);

function scratchShop(tag: string): { products: Array<{ id: number; title: string; variants: ShopVariant[] }> } {
  const variant = (productId: number, sku: string, title: string, wms: number): ShopVariant => ({
    variantId: someId(47_000_000_000_000),
    productId,
    sku: `E2E-${tag}-${sku}`,
    title,
    inventoryItemId: someId(48_000_000_000_000),
    wms,
  });
  const shirt = someId(49_000_000_000_000);
  const mug = someId(49_000_000_000_000);
  const watch = someId(49_000_000_000_000);
  return {
    products: [
      {
        id: shirt,
        title: 'Organic cotton T-shirt, black',
        variants: [variant(shirt, 'TSHIRT-S', 'S', 80), variant(shirt, 'TSHIRT-M', 'M', 120), variant(shirt, 'TSHIRT-L', 'L', 90)],
      },
      { id: mug, title: 'Ceramic mug, 350 ml', variants: [variant(mug, 'MUG', 'Default Title', 150)] },
      { id: watch, title: 'Field watch, 38 mm', variants: [variant(watch, 'WATCH', 'Default Title', 1)] },
    ],
  };
}

const line = (v: ShopVariant, quantity: number): OrderLine => ({
  productId: v.productId,
  variantId: v.variantId,
  sku: v.sku,
  quantity,
  price: '24.90',
});

describe('a shop filled from Shopify and the WMS lives through orders, a cancellation, refunds and a restock, and ends in sync', () => {
  it('catalogue import, then orders, a cancellation, a return, a refund without restock and a warehouse restock: Shopify = database = the sum of the movements', async () => {
    const env = stackEnv();
    const location = Number(env.SHOPIFY_LOCATION_ID);
    const tag = randomUUID().slice(0, 8).toUpperCase();
    const shop = scratchShop(tag);
    const all = shop.products.flatMap((p) => p.variants);
    const [s, m, l, mug, watch] = all as [ShopVariant, ShopVariant, ShopVariant, ShopVariant, ShopVariant];
    const ids = all.map((v) => String(v.variantId));

    // The shop: Shopify's catalogue and its own figures (never the system's), the warehouse's list and per-SKU answers.
    assert.equal((await readVariants(ids)).size, 0, 'the inventory holds none of the shop yet');
    await putShopifyCatalogue(
      shop.products.map((p) => ({
        id: String(p.id),
        title: p.title,
        variants: p.variants.map((v) => ({
          id: String(v.variantId),
          sku: v.sku,
          price: '24.90',
          title: v.title,
          inventoryItemId: String(v.inventoryItemId),
        })),
      })),
    );
    removers.push(() => putShopifyCatalogue([]));
    await setShopifyLevels(all.map((v) => ({ inventoryItemId: v.inventoryItemId, locationId: location, available: 7 })));
    const wmsKey = privateWmsKey();
    removers.push(
      await stubWmsList(
        all.map((v) => ({ sku: v.sku, availableQuantity: v.wms })),
        { apiKey: wmsKey },
      ),
    );
    for (const v of all) removers.push(await stubWmsInventory(v.sku, { availableQuantity: 1_000_000 }));

    // Filled from Shopify and the WMS.
    const imported = await runCatalogue(['import'], { env: { WMS_API_KEY: wmsKey } });
    assert.equal(imported.code, 0, `${imported.stdout}\n${imported.stderr}`);
    assert.match(imported.stdout, /^5 added, 0 refreshed, 0 unchanged, 0 skipped/m);
    const rows = await readVariants(ids);
    assert.deepEqual(
      all.map((v) => [rows.get(String(v.variantId))?.title, rows.get(String(v.variantId))?.availableQuantity]),
      [
        ['Organic cotton T-shirt, black - S', 80],
        ['Organic cotton T-shirt, black - M', 120],
        ['Organic cotton T-shirt, black - L', 90],
        ['Ceramic mug, 350 ml', 150],
        ['Field watch, 38 mm', 1],
      ],
    );
    for (const v of all)
      await eventually(async () => assert.equal(await shopifyAvailable(v.inventoryItemId, location), v.wms, v.sku), 60_000, 250);

    // Orders: Shopify takes each order's units itself, then its webhook arrives.
    const place = async (lines: OrderLine[], variants: ShopVariant[]) => {
      const body = buildShopifyOrder({ orderId: randomOrderId(), lines });
      await shopifyTakesOrder(
        lines.map((ln, i) => ({ inventoryItemId: variants[i]!.inventoryItemId, locationId: location, quantity: ln.quantity })),
      );
      const res = await deliver('orders/create', body);
      assert.equal(res.status, 201, JSON.stringify(res.json));
      return { body, orderId: body.id, lines: lineItemIds(body) };
    };
    const first = await place([line(s, 2), line(m, 1)], [s, m]);
    const second = await place([line(mug, 3), line(l, 1)], [mug, l]);
    await place([line(watch, 1)], [watch]);
    // The merchant acts on orders the system has synced: the stream has confirmed each order's movement
    // at Shopify (its SUCCESS line). A restock made in Shopify before that confirm is lowered by it, and
    // stays below the database until `npm run reconcile` (docs/operations.md section 3).
    const orderMovements = (await readLedger(ids)).filter((mv) => mv.reason === 'order').map((mv) => mv.id);
    assert.equal(orderMovements.length, 5, 'one order movement per variant of each order');
    await eventually(
      () => {
        const confirmed = new Set(
          readServiceLog('order-stream-process')
            .filter((ln) => ln.event === 'shopify.inventory.updated' && ln.msg.startsWith('SUCCESS'))
            .map((ln) => String(ln.movementId)),
        );
        assert.deepEqual(
          orderMovements.filter((id) => !confirmed.has(id)),
          [],
          'order movements the stream has not confirmed yet',
        );
      },
      60_000,
      250,
    );
    const afterOrders = new Map([
      [s, 78],
      [m, 119],
      [l, 89],
      [mug, 147],
      [watch, 0],
    ]);
    const ordered = await readVariants(ids);
    assert.deepEqual(
      all.map((v) => [v.sku, ordered.get(String(v.variantId))?.availableQuantity]),
      all.map((v) => [v.sku, afterOrders.get(v)]),
    );
    for (const v of all) {
      await eventually(
        async () =>
          assert.equal(await shopifyAvailable(v.inventoryItemId, location), afterOrders.get(v), `Shopify's ${v.sku} after the orders`),
        60_000,
        250,
      );
    }

    // The merchant cancels the first order with restock in Shopify: Shopify puts the units back itself, then tells us.
    await shopifyRestocks([
      { inventoryItemId: s.inventoryItemId, locationId: location, quantity: 2 },
      { inventoryItemId: m.inventoryItemId, locationId: location, quantity: 1 },
    ]);
    const cancellation = buildRefund({
      orderId: first.orderId,
      lines: [
        { lineItemId: first.lines[0]!, quantity: 2, restockType: 'cancel', locationId: location },
        { lineItemId: first.lines[1]!, quantity: 1, restockType: 'cancel', locationId: location },
      ],
    });
    const cancelled = await deliver('orders/cancelled', buildCancelledOrder(first.body, [cancellation]));
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.json));

    // Two mugs come back as a return; the T-shirt of that order is refunded without restock.
    await shopifyRestocks([{ inventoryItemId: mug.inventoryItemId, locationId: location, quantity: 2 }]);
    const refund = buildRefund({
      orderId: second.orderId,
      lines: [
        { lineItemId: second.lines[0]!, quantity: 2, restockType: 'return', locationId: location },
        { lineItemId: second.lines[1]!, quantity: 1, restockType: 'no_restock' },
      ],
    });
    const refunded = await deliver('refunds/create', refund);
    assert.equal(refunded.status, 200, JSON.stringify(refunded.json));
    // Shopify redelivers the refund: it counts once.
    assert.equal((await deliver('refunds/create', refund)).status, 200);

    // The warehouse receives ten more L: a restock Shopify cannot know, through the adjustments API.
    const adjusted = await httpRequest(`${env.DATA_API_URL}/api/inventory/adjustments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.INTERNAL_API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sku: l.sku, delta: 10, reason: 'restock', key: `e2e-${tag}-restock-l` }),
      timeoutMs: 10_000,
    });
    assert.equal(adjusted.status, 201, adjusted.text);

    // At rest: the figures the story gives, Shopify equal to the database, the ledger adding up.
    const expected = new Map([
      [s, 80 - 2 + 2],
      [m, 120 - 1 + 1],
      [l, 90 - 1 + 10],
      [mug, 150 - 3 + 2],
      [watch, 1 - 1],
    ]);
    const now = await readVariants(ids);
    assert.deepEqual(
      all.map((v) => [v.sku, now.get(String(v.variantId))?.availableQuantity]),
      all.map((v) => [v.sku, expected.get(v)]),
    );
    for (const v of all) {
      await eventually(
        async () => assert.equal(await shopifyAvailable(v.inventoryItemId, location), expected.get(v), `Shopify's ${v.sku}`),
        90_000,
        250,
      );
    }
    assert.deepEqual(await ledgerMismatches(ids), [], 'every variant: stock = sum of its movements, version = their count');
    assert.deepEqual(
      (await readLedger([String(mug.variantId)])).map((mv) => [mv.reason, mv.delta]),
      [
        ['import', 150],
        ['order', -3],
        ['return', 2],
      ],
      "the mug's ledger tells its story, the redelivered refund once",
    );

    // The shop's catalogue imported again changes nothing: the units sold and returned stay as the ledger says.
    const again = await runCatalogue(['import'], { env: { WMS_API_KEY: wmsKey } });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^0 added, 0 refreshed, 5 unchanged, 0 skipped/m);
    assert.deepEqual(await ledgerMismatches(ids), []);
  });
});

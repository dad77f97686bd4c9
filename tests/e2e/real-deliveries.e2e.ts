/**
 * The nine orders/create bodies Shopify really sent (../shared/shopify-payloads/), each signed and
 * delivered byte for byte to the running stack with its products provisioned: the 201, the rows
 * (ids read back exactly with SQL), the Kafka events and Shopify's update.
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseJsonWithExactIds } from '@oms/common';
import { closeDb, dbPool } from '../support/db.js';
import { readEvents } from '../support/kafka.js';
import { buildShopifyOrder, randomOrderId } from '../support/orders.js';
import { inventoryItemGid, lastQuantities, shopifyRequests } from '../support/shopify.js';
import { REPO_ROOT, stackEnv } from '../support/stack-env.js';
import { stubWmsInventory } from '../support/wiremock.js';
import { postOrder, waitFor } from './support.js';

const PAYLOADS_DIR = path.join(REPO_ROOT, '..', 'shared', 'shopify-payloads');
const topic = stackEnv().INVENTORY_TOPIC ?? 'inventory-updates';
const STOCK = 1_000;

interface PayloadLine {
  id: bigint;
  product_id: bigint | null;
  gift_card?: boolean;
  quantity: number;
}

/** What the raw body says, read exactly: the ids as decimal strings, the stock demand per product. */
function readPayload(file: string) {
  const raw = readFileSync(path.join(PAYLOADS_DIR, file), 'utf8');
  const body = parseJsonWithExactIds(raw) as { id: bigint; customer: { id: bigint } | null; line_items: PayloadLine[] };
  const demand = new Map<string, number>();
  const nonStockLineIds: string[] = [];
  for (const line of body.line_items) {
    if (line.product_id === null || line.gift_card === true) nonStockLineIds.push(String(line.id));
    else demand.set(String(line.product_id), (demand.get(String(line.product_id)) ?? 0) + line.quantity);
  }
  return { raw, orderId: String(body.id), customerId: body.customer ? String(body.customer.id) : null, demand, nonStockLineIds };
}

/** Ids above 2^53 on our side too, so the event and Shopify's call prove they stay exact. */
const bigId = () => String(2n ** 60n + BigInt(randomInt(1, 2 ** 47)));

/**
 * Gives each product a stocked inventory row and a WMS answer, and forgets an earlier delivery of
 * the same order (files 01–03 share Shopify's sample order id), so every body meets a fresh stack.
 */
async function provision(orderId: string, productIds: string[]) {
  const db = dbPool();
  await db.query('DELETE FROM outbox_event WHERE order_id = $1', [orderId]);
  await db.query('DELETE FROM orders WHERE order_id = $1', [orderId]);
  const items = new Map<string, string>();
  for (const productId of productIds) {
    const inventoryItemId = bigId();
    items.set(productId, inventoryItemId);
    await db.query(
      `INSERT INTO inventory (product_id, sku, title, price, currency, available_quantity, shopify_inventory_item_id, shopify_location_id)
       VALUES ($1, $2, $3, '10.00', 'USD', $4, $5, $6)
       ON CONFLICT (product_id) DO UPDATE
         SET available_quantity = EXCLUDED.available_quantity, shopify_inventory_item_id = EXCLUDED.shopify_inventory_item_id,
             version = inventory.version + 1`,
      [productId, `REAL-${productId}`, `Real delivery product ${productId}`, STOCK, inventoryItemId, bigId()],
    );
  }
  const removers = await Promise.all(productIds.map((productId) => stubWmsInventory(productId, { availableQuantity: STOCK })));
  return { items, cleanup: () => Promise.all(removers.map((remove) => remove())) };
}

const payloads = readdirSync(PAYLOADS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

after(() => closeDb());

describe("Shopify's real orders/create deliveries", () => {
  it('finds all nine bodies in ../shared/shopify-payloads/', () => {
    assert.equal(payloads.length, 9, payloads.join(', '));
  });

  for (const file of payloads) {
    it(`accepts ${file}: 201, exact ids in the database, one event per stocked product, Shopify updated`, async () => {
      const { raw, orderId, customerId, demand, nonStockLineIds } = readPayload(file);
      const productIds = [...demand.keys()];
      const { items, cleanup } = await provision(orderId, productIds);
      try {
        const since = Date.now() - 1_000;
        const res = await postOrder(raw, { 'x-shopify-webhook-id': `real-${randomUUID()}` });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        assert.deepEqual(res.json, { status: 'success', message: 'Order received and processed', order_id: orderId });

        const { rows: orders } = await dbPool().query<{ order_id: string; customer_id: string | null }>(
          'SELECT order_id::text, customer_id::text FROM orders WHERE order_id = $1',
          [orderId],
        );
        assert.deepEqual(orders, [{ order_id: orderId, customer_id: customerId }]);

        const { rows: details } = await dbPool().query<{ product_id: string | null; line_item_id: string | null; quantity: number }>(
          'SELECT product_id::text, line_item_id::text, quantity FROM order_detail WHERE order_id = $1',
          [orderId],
        );
        const stockRows = details.filter((d) => d.product_id !== null);
        assert.deepEqual(new Map(stockRows.map((d) => [d.product_id, d.quantity])), demand, 'one detail row per product, quantities summed');
        assert.deepEqual(
          details.filter((d) => d.product_id === null).map((d) => d.line_item_id).sort(),
          [...nonStockLineIds].sort(),
          'lines that hold no stock are kept with their line item id',
        );

        const { rows: stock } = await dbPool().query<{ product_id: string; available_quantity: number }>(
          'SELECT product_id::text, available_quantity FROM inventory WHERE product_id = ANY($1::bigint[])',
          [productIds],
        );
        for (const { product_id, available_quantity } of stock) assert.equal(available_quantity, STOCK - demand.get(product_id)!, product_id);

        const events = await readEvents<{ orderId: string; productId: string; inventoryItemId: string; availableAfter: number }>({
          topic,
          count: productIds.length,
          fromTimestamp: since,
          // Files 01-03 share one order id: only this delivery's events name the inventory items just provisioned.
          predicate: (e) => e.value.orderId === orderId && items.get(e.value.productId) === e.value.inventoryItemId,
          timeoutMs: 30_000,
        });
        assert.deepEqual(events.map((e) => e.key).sort(), [...productIds].sort(), 'one event per stocked product, keyed by its exact id');
        for (const event of events) {
          assert.equal(event.value.productId, event.key);
          assert.equal(event.value.inventoryItemId, items.get(event.value.productId));
        }

        await waitFor(
          "Shopify to hold each product's new quantity",
          async () => {
            const held = lastQuantities(await shopifyRequests([...items.values()]));
            return productIds.every((p) => held.get(inventoryItemGid(items.get(p)!)) === STOCK - demand.get(p)!) ? true : undefined;
          },
          30_000,
        );
      } finally {
        await cleanup();
      }
    });
  }

  it('accepts an order of a tip alone with 201, and reserves and publishes nothing', async () => {
    const orderId = randomOrderId();
    const body = buildShopifyOrder({ orderId, lines: [{ productId: 8_000_000_000_001, quantity: 1, price: '4.50', title: 'Tip' }] });
    const [tip] = body.line_items as Array<Record<string, unknown>>;
    tip!.product_id = null;
    tip!.variant_id = null;
    tip!.sku = null;
    const since = Date.now() - 1_000;
    const res = await postOrder(body);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.order_id, String(orderId));
    const { rows } = await dbPool().query('SELECT product_id, line_item_id::text, title, price::text FROM order_detail WHERE order_id = $1', [
      String(orderId),
    ]);
    assert.deepEqual(rows, [{ product_id: null, line_item_id: String(tip!.id), title: 'Tip', price: '4.50' }]);
    const outbox = await dbPool().query('SELECT 1 FROM outbox_event WHERE order_id = $1', [String(orderId)]);
    assert.equal(outbox.rowCount, 0, 'no inventory event');
    const published = await readEvents({ topic, fromTimestamp: since, untilEnd: true, predicate: (e) => e.value.orderId === String(orderId) });
    assert.equal(published.length, 0);
  });
});

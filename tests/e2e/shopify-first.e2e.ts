/**
 * Shopify keeps its own count (docs/spec.md section 6): it takes an order's units when it creates the
 * order, before the webhook leaves. Against the whole running stack and the Shopify stand-in (which
 * keeps every level's history), these tests prove the sync never undoes what Shopify did, brings
 * Shopify down to the database for an order Shopify did not take, and leaves a point-of-sale sale at
 * another shop alone.
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { closeDb, createTestProduct, dbPool, readInventory, readMovements, type TestProduct } from '../support/db.js';
import { readServiceLog } from '../support/logs.js';
import { buildShopifyOrder, lineOf, type OrderLine, randomOrderId } from '../support/orders.js';
import { shopifyRequests } from '../support/shopify.js';
import { raisesBySystem, shopifyAvailable, shopifyLevels, shopifyTakesOrder } from '../support/shopify-stand-in.js';
import { stackEnv } from '../support/stack-env.js';
import { stubWmsInventory, wmsRequestsFor } from '../support/wiremock.js';
import {
  ledgerOf,
  pool,
  postOrder,
  publishedEventsOf,
  Report,
  shopifyMatchesDatabase,
  shuffle,
  waitFor,
  type WebhookAnswer,
} from './support.js';

const report = new Report('e2e: Shopify took the order first');
const removers: Array<() => Promise<void>> = [];

after(async () => {
  report.print();
  await Promise.all(removers.splice(0).map((remove) => remove()));
  await closeDb();
});

/** A variant in our inventory, at Shopify at the same figure, and confirmed by the WMS. */
async function stocked(availableQuantity: number, options: { productId?: number; title?: string } = {}): Promise<TestProduct> {
  const variant = await createTestProduct({ availableQuantity, ...options });
  removers.push(await stubWmsInventory(variant.sku, { availableQuantity: 1_000_000 }));
  return variant;
}

/** Waits until the stream processor has logged its SUCCESS line for each of these movements (Shopify accounts for it). */
async function streamAccountedFor(movementIds: readonly string[], timeoutMs = 120_000): Promise<void> {
  let missing = movementIds.length;
  try {
    await waitFor(
      'the stream to account for every movement at Shopify',
      async () => {
        const done = new Set(
          readServiceLog('order-stream-process')
            .filter((l) => l.event === 'shopify.inventory.updated' && l.msg.startsWith('SUCCESS'))
            .map((l) => String(l.movementId)),
        );
        missing = movementIds.filter((id) => !done.has(id)).length;
        return missing === 0;
      },
      timeoutMs,
      500,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${missing} of ${movementIds.length} movement(s) without a SUCCESS line`, { cause: err });
  }
}

describe('Shopify took the orders first: the sync never undoes its moves', () => {
  it('a burst Shopify took first, whose webhooks arrive late, shuffled, concurrent and partly twice: no raise by the system; at rest Shopify = database = the sum of the movements', async () => {
    const START = 500;
    const productId = 8_000_000_000_000 + randomInt(1, 2 ** 40);
    const sizes = [
      await stocked(START, { productId, title: 'Linen shirt, S' }),
      await stocked(START, { productId, title: 'Linen shirt, M' }),
      await stocked(START, { productId, title: 'Linen shirt, L' }),
    ];
    const mug = await stocked(START, { title: 'Enamel mug' });
    const variants = [...sizes, mug];

    // 40 orders of 1 to 3 variants, 1 to 3 units a line.
    const orders = Array.from({ length: 40 }, () => {
      const picked = shuffle(variants).slice(0, randomInt(1, 4));
      const lines: Array<{ variant: TestProduct; quantity: number }> = picked.map((variant) => ({ variant, quantity: randomInt(1, 4) }));
      const orderId = randomOrderId();
      return {
        orderId,
        lines,
        body: buildShopifyOrder({ orderId, lines: lines.map(({ variant, quantity }): OrderLine => lineOf(variant, quantity)) }),
        webhookId: randomUUID(),
        eventId: randomUUID(),
      };
    });
    const sold = new Map(variants.map((v) => [v.variantId, 0]));
    for (const order of orders)
      for (const { variant, quantity } of order.lines) sold.set(variant.variantId, sold.get(variant.variantId)! + quantity);

    // Shopify creates every order first: it takes the units from `available` before any webhook leaves.
    for (const order of orders) {
      await shopifyTakesOrder(
        order.lines.map(({ variant, quantity }) => ({
          inventoryItemId: variant.inventoryItemId,
          locationId: variant.locationId,
          quantity,
        })),
      );
    }
    for (const v of variants)
      assert.equal(await shopifyAvailable(v.inventoryItemId, v.locationId), START - sold.get(v.variantId)!, `Shopify took ${v.title}`);

    // The webhooks arrive late, shuffled, 8 at a time; every third order is delivered twice (a Shopify retry: same webhook and event id).
    const deliveries = shuffle([...orders, ...orders.filter((_, i) => i % 3 === 0)]);
    const answers: WebhookAnswer[] = await pool(
      deliveries.map(
        (order) => () => postOrder(order.body, { 'x-shopify-webhook-id': order.webhookId, 'x-shopify-event-id': order.eventId }),
      ),
      8,
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(deliveries.length).fill(201),
      JSON.stringify(answers.filter((a) => a.status !== 201).map((a) => a.json)),
    );

    // Each order taken once: one `order` movement per (order, variant), whatever was delivered twice.
    const { rows: movements } = await dbPool().query<{ id: string; reference: string; variant_id: string; delta: number }>(
      `SELECT id::text, reference, variant_id::text, delta FROM inventory_movement
        WHERE variant_id = ANY($1::bigint[]) AND reason = 'order' ORDER BY id`,
      [variants.map((v) => String(v.variantId))],
    );
    assert.equal(
      movements.length,
      orders.reduce((n, o) => n + o.lines.length, 0),
      'one movement per variant of each order',
    );
    assert.equal(new Set(movements.map((m) => `${m.reference}/${m.variant_id}`)).size, movements.length, 'no order taken twice');

    // At rest: every movement accounted for at Shopify by the stream.
    await streamAccountedFor(movements.map((m) => m.id));
    await shopifyMatchesDatabase(variants);
    for (const v of variants) {
      const [level] = (await shopifyLevels(v.inventoryItemId)).filter((l) => l.locationId === String(v.locationId));
      assert.deepEqual(raisesBySystem(level!), [], `no call of the system raised ${v.title} at Shopify`);
      assert.equal(level!.available, START - sold.get(v.variantId)!, `${v.title} at Shopify`);
      assert.equal((await readInventory(v.variantId))!.availableQuantity, START - sold.get(v.variantId)!, `${v.title} in the database`);
    }
    for (const l of await ledgerOf(variants.map((v) => v.variantId))) {
      assert.equal(l.availableQuantity, l.movementSum, `variant ${l.variantId}: stock = the sum of its movements`);
      assert.equal(l.version, l.movementCount, `variant ${l.variantId}: version = the number of its movements`);
    }
    report.add({
      scenario: `${orders.length} orders Shopify took first, ${deliveries.length} late deliveries`,
      requests: deliveries.length,
      faults: 'late, shuffled, concurrent, repeated',
      accepted: answers.filter((a) => a.status === 201).length,
      refused: answers.filter((a) => a.status !== 201).length,
      lost: 0,
      oversold: 0,
    });
  });

  it('a lone order Shopify did not take lowers Shopify to the database, and never above it', async () => {
    const variant = await stocked(50, { title: 'Wool beanie' });
    const orderId = randomOrderId();
    const res = await postOrder(buildShopifyOrder({ orderId, lines: [lineOf(variant, 3)] }));
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal((await readInventory(variant.variantId))!.availableQuantity, 47);
    await waitFor(
      'Shopify to be lowered to 47',
      async () => (await shopifyAvailable(variant.inventoryItemId, variant.locationId)) === 47,
      60_000,
    );
    const [level] = (await shopifyLevels(variant.inventoryItemId)).filter((l) => l.locationId === String(variant.locationId));
    assert.deepEqual(
      level!.history.map((h) => [h.cause, h.available]),
      [
        ['seed', 50],
        ['set', 47],
      ],
      'seeded at 50, then set (compare-and-set) to the database figure once',
    );
    assert.deepEqual(raisesBySystem(level!), []);
    report.add({
      scenario: 'lone order: Shopify lowered to the database',
      requests: 1,
      faults: '-',
      accepted: 1,
      refused: 0,
      lost: 0,
      oversold: 0,
    });
  });

  it('a point-of-sale order at another shop location is stored with nothing reserved: no movement, no event, no WMS call', async () => {
    const variant = await stocked(20, { title: 'Canvas tote' });
    const shopLocation = Number(stackEnv().SHOPIFY_LOCATION_ID) + randomInt(1, 1_000_000);
    const orderId = randomOrderId();
    const since = Date.now() - 1_000;
    const res = await postOrder(buildShopifyOrder({ orderId, lines: [lineOf(variant, 2)], locationId: shopLocation }));
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.deepEqual(res.json, { status: 'success', message: 'Order received and processed', order_id: String(orderId) });

    const { rows: orders } = await dbPool().query<{ status: string; location_id: string }>(
      'SELECT status, location_id::text FROM orders WHERE order_id = $1',
      [String(orderId)],
    );
    assert.deepEqual(orders, [{ status: 'accepted', location_id: String(shopLocation) }]);
    const { rows: details } = await dbPool().query<{ product_id: string; quantity: number; reserved: number }>(
      'SELECT product_id::text, quantity, reserved FROM order_detail WHERE order_id = $1',
      [String(orderId)],
    );
    assert.deepEqual(details, [{ product_id: String(variant.productId), quantity: 2, reserved: 0 }]);

    assert.equal((await readInventory(variant.variantId))!.availableQuantity, 20, 'the warehouse keeps its 20');
    assert.deepEqual(
      (await readMovements(variant.variantId)).map((m) => m.reason),
      ['import'],
      'no movement',
    );
    assert.deepEqual(await publishedEventsOf(orderId, { since }), [], 'no event');
    assert.deepEqual(await wmsRequestsFor(variant.sku), [], 'the WMS was not asked');
    assert.deepEqual(await shopifyRequests([variant.inventoryItemId]), [], 'Shopify was not called');
    assert.equal(await shopifyAvailable(variant.inventoryItemId, variant.locationId), 20);
    report.add({ scenario: 'POS order at another location', requests: 1, faults: '-', accepted: 1, refused: 0, lost: 0, oversold: 0 });
  });
});

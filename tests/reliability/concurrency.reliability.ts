/**
 * Issue 7, contention: many orders at once on a few hot products, against the whole running stack.
 * Run by `npm run test:reliability`, alone, after the other suites.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { closeDb, readOrder, readOrderDetails } from '../support/db.js';
import { buildShopifyOrder, randomOrderId } from '../support/orders.js';
import { availableNow, orderIntegrity, postOrder, Report, shopifyMatchesDatabase, shuffle, stockedProducts } from '../e2e/support.js';
import { startDataApi, startIntake } from '../order-api/intake-harness.js';

const report = new Report('reliability: concurrency');

after(async () => {
  report.print();
  await closeDb();
});

describe('orders racing for the same stock', () => {
  it('200 concurrent orders over 3 hot products, lines in random order: no 5xx, no overselling, Shopify ends at the database figure', async () => {
    const START = 150;
    const { products, cleanup } = await stockedProducts(3, { availableQuantity: START });
    // The burst goes through an api and a data-api of its own, on the stack's PostgreSQL, Redis and
    // WireMock, with a WMS hold key of its own: a hold it might set cannot refuse the next suites' orders.
    // The stack's relay and stream processor still carry its events to Shopify.
    const dataApi = await startDataApi();
    const intake = await startIntake({ dataApiUrl: dataApi.url });
    try {
      const orders = Array.from({ length: 200 }, () => {
        const lines = shuffle(products)
          .slice(0, 1 + Math.floor(Math.random() * 3))
          .map((p) => ({ productId: p.productId, quantity: 1 + Math.floor(Math.random() * 3) }));
        return buildShopifyOrder({ orderId: randomOrderId(), lines });
      });
      const answers = await Promise.all(orders.map((order) => intake.post(order)));

      const statuses = answers.map((a) => a.status);
      assert.deepEqual(statuses.filter((s) => s >= 500), [], `no 5xx: ${JSON.stringify(answers.filter((a) => a.status >= 500).map((a) => a.json))}`);
      for (const a of answers.filter((x) => x.status !== 201)) {
        assert.equal(a.status, 422, JSON.stringify(a.json));
        assert.equal(a.json.code, 'INSUFFICIENT_INVENTORY');
      }
      const accepted = orders.filter((_, i) => statuses[i] === 201);
      const refused = orders.filter((_, i) => statuses[i] !== 201);
      for (const order of refused) assert.equal(await readOrder(order.id), null, `refused order ${order.id} wrote nothing`);

      const state = await orderIntegrity(accepted.map((o) => o.id));
      assert.equal(state.orders, accepted.length, 'every accepted order is stored');
      assert.deepEqual(state.withoutDetails, []);
      assert.deepEqual(state.detailsWithoutOutbox, []);
      const remaining = await availableNow(products.map((p) => p.productId));
      let oversold = 0;
      for (const p of products) {
        const ordered = accepted.reduce(
          (sum, o) => sum + (o.line_items as Array<{ product_id: number; quantity: number }>).filter((l) => l.product_id === p.productId).reduce((s, l) => s + l.quantity, 0),
          0,
        );
        const sold = state.soldByProduct.get(p.productId) ?? 0;
        assert.equal(sold, ordered, `product ${p.productId}: the details hold what the accepted orders asked for`);
        assert.equal(sold + remaining.get(p.productId)!, START, `product ${p.productId}: sold + remaining = start`);
        assert.ok(remaining.get(p.productId)! >= 0);
        oversold += Math.max(0, sold - START);
      }
      const sample = accepted[0]!;
      assert.equal((await readOrderDetails(sample.id)).length, (sample.line_items as unknown[]).length);

      await shopifyMatchesDatabase(products, 120_000);
      report.add({
        scenario: '200 concurrent orders, 3 hot products',
        requests: orders.length,
        faults: 'contention',
        accepted: accepted.length,
        refused: refused.length,
        lost: accepted.length - state.orders,
        oversold,
      });
    } finally {
      await intake.stop();
      await dataApi.stop();
      await cleanup();
    }
  });

  it('10 concurrent deliveries of one order id with different webhook ids: exactly one 201 and nine 409', async () => {
    const { products, cleanup } = await stockedProducts(1, { availableQuantity: 100 });
    try {
      const order = buildShopifyOrder({ lines: [{ productId: products[0]!.productId, quantity: 2 }] });
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => postOrder(order, { 'x-shopify-webhook-id': `dup-${order.id}-${i}` })));
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(statuses, [201, ...Array(9).fill(409)], JSON.stringify(answers.map((a) => a.json)));
      for (const a of answers.filter((x) => x.status === 409)) {
        assert.equal(a.json.code, 'ORDER_ALREADY_EXISTS');
        assert.equal(a.json.orderId, String(order.id));
      }
      const winner = answers.findIndex((a) => a.status === 201);
      assert.equal((await readOrder(order.id))!.webhookId, `dup-${order.id}-${winner}`);
      assert.equal((await availableNow([products[0]!.productId])).get(products[0]!.productId), 98, 'stock taken once');
      const state = await orderIntegrity([order.id]);
      assert.equal(state.events, 1, 'one event');
      report.add({ scenario: 'one order id, 10 different deliveries', requests: 10, faults: 'duplicate race', accepted: 1, refused: 9, lost: 0, oversold: 0 });
    } finally {
      await cleanup();
    }
  });

  it('the same delivery 10 times at once: committed once, all ten answered 201', async () => {
    const { products, cleanup } = await stockedProducts(1, { availableQuantity: 100 });
    try {
      const order = buildShopifyOrder({ lines: [{ productId: products[0]!.productId, quantity: 3 }] });
      const webhookId = `same-${order.id}`;
      const answers = await Promise.all(Array.from({ length: 10 }, () => postOrder(order, { 'x-shopify-webhook-id': webhookId })));
      assert.deepEqual(answers.map((a) => a.status), Array(10).fill(201), JSON.stringify(answers.map((a) => a.json)));
      for (const a of answers) assert.deepEqual(a.json, { status: 'success', message: 'Order received and processed', order_id: String(order.id) });
      const replayed = answers.filter((a) => a.headers.get('idempotent-replayed') === 'true').length;
      assert.equal(replayed, 9, 'nine answers are replays of the one commit');
      assert.equal((await availableNow([products[0]!.productId])).get(products[0]!.productId), 97, 'stock taken once');
      assert.equal((await orderIntegrity([order.id])).events, 1, 'one event');
      report.add({ scenario: 'same delivery 10 times at once', requests: 10, faults: 'redelivery race', accepted: 10, refused: 0, lost: 0, oversold: 0 });
    } finally {
      await cleanup();
    }
  });
});

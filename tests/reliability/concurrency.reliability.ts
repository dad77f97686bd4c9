/**
 * Issue 7, contention: many orders at once on a few hot variants, against the whole running stack.
 * Run by `npm run test:reliability`, alone, after the other suites. At rest every test proves the
 * invariants of docs/spec.md sections 4 and 6 (tests/reliability/support.ts): stock = the sum of the
 * movements, Shopify = the database, and no raise of Shopify's figure by the system.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { closeDb, createTestProduct, readMovements, readOrder, readOrderDetails, type TestProduct } from '../support/db.js';
import { buildShopifyOrder, lineOf, randomOrderId, type OrderLine } from '../support/orders.js';
import { stubWmsInventory } from '../support/wiremock.js';
import { postOrder, Report, shuffle } from '../e2e/support.js';
import { startDataApi, startIntake } from '../order-api/intake-harness.js';
import { assertAtRest, assertWhole, orderIntegrity, stockOf } from './support.js';

const report = new Report('reliability: concurrency');

after(async () => {
  report.print();
  await closeDb();
});

/** `count` variants with `stock` each, plenty at the WMS (each SKU stubbed); `productId` makes them sizes of one product. */
async function hotVariants(
  count: number,
  stock: number,
  productId?: number,
): Promise<{ variants: TestProduct[]; cleanup: () => Promise<void> }> {
  const first = await createTestProduct({ availableQuantity: stock, productId });
  const rest = await Promise.all(
    Array.from({ length: count - 1 }, () => createTestProduct({ availableQuantity: stock, productId: productId ?? first.productId })),
  );
  const variants = [first, ...rest];
  const removers = await Promise.all(variants.map((v) => stubWmsInventory(v.sku, { availableQuantity: 1_000_000 })));
  return { variants, cleanup: async () => void (await Promise.all(removers.map((remove) => remove()))) };
}

/**
 * 1–3 of the variants, 1–3 units each, lines shuffled; a line now and then names its variant by SKU
 * alone (`variant_id` null, as for a deleted variant), or is split in two lines of the same variant.
 */
function randomLines(variants: readonly TestProduct[]): OrderLine[] {
  return shuffle(variants)
    .slice(0, 1 + Math.floor(Math.random() * 3))
    .flatMap((v) => {
      const quantity = 1 + Math.floor(Math.random() * 3);
      const bySku = Math.random() < 0.25 ? { variantId: null } : {};
      return quantity > 1 && Math.random() < 0.25 ? shuffle([lineOf(v, 1, bySku), lineOf(v, quantity - 1)]) : [lineOf(v, quantity, bySku)];
    });
}

/** Units each variant gives up to these orders, summed over their lines (lines name the variant or its SKU). */
function unitsAsked(orders: ReadonlyArray<ReturnType<typeof buildShopifyOrder>>, variant: TestProduct): number {
  return orders
    .flatMap((o) => o.line_items as Array<{ variant_id: number | null; sku: string; quantity: number }>)
    .filter((l) => l.variant_id === variant.variantId || (l.variant_id === null && l.sku === variant.sku))
    .reduce((sum, l) => sum + l.quantity, 0);
}

describe('orders racing for the same stock', () => {
  it('200 concurrent orders over three sizes of one product: no 5xx, no size oversold, each size counted apart, and at rest Shopify equals the database', async () => {
    const START = 150;
    const { variants, cleanup } = await hotVariants(3, START);
    // The burst goes through an api and a data-api of its own, on the stack's PostgreSQL, Redis and
    // WireMock, with a WMS hold key of its own: a hold it might set cannot refuse the next suites' orders.
    // The stack's relay and stream processor still carry its events to Shopify.
    const dataApi = await startDataApi();
    const intake = await startIntake({ dataApiUrl: dataApi.url });
    try {
      const orders = Array.from({ length: 200 }, () => buildShopifyOrder({ orderId: randomOrderId(), lines: randomLines(variants) }));
      const answers = await Promise.all(orders.map((order) => intake.post(order)));

      const statuses = answers.map((a) => a.status);
      assert.deepEqual(
        statuses.filter((s) => s >= 500),
        [],
        `no 5xx: ${JSON.stringify(answers.filter((a) => a.status >= 500).map((a) => a.json))}`,
      );
      for (const a of answers.filter((x) => x.status !== 201)) {
        assert.equal(a.status, 422, JSON.stringify(a.json));
        assert.equal(a.json.code, 'INSUFFICIENT_INVENTORY');
        for (const item of a.json.items as Array<{ variantId: string; sku: string; requested: number; available: number }>) {
          assert.ok(
            variants.some((v) => String(v.variantId) === item.variantId && v.sku === item.sku),
            `a short item names one of the sizes: ${JSON.stringify(item)}`,
          );
          assert.ok(item.requested > item.available, JSON.stringify(item));
        }
      }
      const accepted = orders.filter((_, i) => statuses[i] === 201);
      const refused = orders.filter((_, i) => statuses[i] !== 201);
      assert.ok(
        accepted.length > 0 && refused.length > 0,
        `the stock runs out during the burst (${accepted.length} accepted, ${refused.length} refused)`,
      );
      for (const order of refused) assert.equal(await readOrder(order.id), null, `refused order ${order.id} wrote nothing`);

      const state = await orderIntegrity([...accepted, ...refused].map((o) => o.id));
      assertWhole(state, accepted.length);
      const remaining = await stockOf(variants.map((v) => v.variantId));
      let oversold = 0;
      for (const v of variants) {
        const sold = state.reservedByVariant.get(v.variantId) ?? 0;
        assert.equal(sold, unitsAsked(accepted, v), `${v.sku}: the lines reserved what the accepted orders asked of this size`);
        assert.equal(sold + remaining.get(v.variantId)!, START, `${v.sku}: sold + remaining = start`);
        assert.ok(remaining.get(v.variantId)! >= 0);
        oversold += Math.max(0, sold - START);
        const movements = await readMovements(v.variantId);
        assert.deepEqual(
          movements
            .filter((m) => m.reason === 'order')
            .map((m) => m.reference)
            .sort(),
          accepted
            .filter((o) => unitsAsked([o], v) > 0)
            .map((o) => String(o.id))
            .sort(),
          `${v.sku}: one movement per accepted order that asked for it, none for a refused one`,
        );
      }
      const sample = accepted[0]!;
      assert.equal((await readOrderDetails(sample.id)).length, (sample.line_items as unknown[]).length, 'one stored line per line item');

      await assertAtRest(variants);
      report.add({
        scenario: '200 concurrent orders, 3 sizes of one product',
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

  it('200 concurrent orders for one hot variant with 50 units: sold out, never oversold, and at rest Shopify equals the database', async () => {
    const START = 50;
    const { variants, cleanup } = await hotVariants(1, START);
    const hot = variants[0]!;
    const dataApi = await startDataApi();
    const intake = await startIntake({ dataApiUrl: dataApi.url });
    try {
      // 1 or 2 units each: 300 units asked of 50, so the last units go to whichever commit locks first.
      const orders = Array.from({ length: 200 }, (_, i) =>
        buildShopifyOrder({ orderId: randomOrderId(), lines: [lineOf(hot, 1 + (i % 2))] }),
      );
      const answers = await Promise.all(orders.map((order) => intake.post(order)));
      assert.deepEqual(
        answers.filter((a) => a.status !== 201 && a.status !== 422).map((a) => a.json),
        [],
        'only 201 or 422',
      );
      for (const a of answers.filter((x) => x.status === 422)) assert.equal(a.json.code, 'INSUFFICIENT_INVENTORY');
      const accepted = orders.filter((_, i) => answers[i]!.status === 201);
      const sold = unitsAsked(accepted, hot);
      const state = await orderIntegrity(orders.map((o) => o.id));
      assertWhole(state, accepted.length);
      const left = (await stockOf([hot.variantId])).get(hot.variantId)!;
      assert.ok(sold <= START, `never oversold: ${sold} of ${START}`);
      assert.equal(sold + left, START, 'sold + remaining = start');
      assert.ok(left <= 1, `the burst sells the variant out, but for at most one unit no 2-unit order fits (${left} left)`);
      assert.equal(state.reservedByVariant.get(hot.variantId), sold);
      await assertAtRest([hot]);
      report.add({
        scenario: '200 concurrent orders, 1 hot variant, 50 units',
        requests: 200,
        faults: 'contention',
        accepted: accepted.length,
        refused: 200 - accepted.length,
        lost: accepted.length - state.orders,
        oversold: Math.max(0, sold - START),
      });
    } finally {
      await intake.stop();
      await dataApi.stop();
      await cleanup();
    }
  });

  it('10 concurrent deliveries of one order id with different webhook and event ids: exactly one 201 and nine 409', async () => {
    const { variants, cleanup } = await hotVariants(1, 100);
    const variant = variants[0]!;
    try {
      const order = buildShopifyOrder({ lines: [lineOf(variant, 2)] });
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => postOrder(order, { 'x-shopify-webhook-id': `dup-${order.id}-${i}` })),
      );
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(statuses, [201, ...Array(9).fill(409)], JSON.stringify(answers.map((a) => a.json)));
      for (const a of answers.filter((x) => x.status === 409)) {
        assert.equal(a.json.code, 'ORDER_ALREADY_EXISTS');
        assert.equal(a.json.orderId, String(order.id));
      }
      const winner = answers.findIndex((a) => a.status === 201);
      assert.equal((await readOrder(order.id))!.webhookId, `dup-${order.id}-${winner}`);
      assert.equal((await stockOf([variant.variantId])).get(variant.variantId), 98, 'stock taken once');
      const state = await orderIntegrity([order.id]);
      assertWhole(state, 1);
      assert.equal(state.events, 1, 'one event');
      await assertAtRest([variant]);
      report.add({
        scenario: 'one order id, 10 different deliveries',
        requests: 10,
        faults: 'duplicate race',
        accepted: 1,
        refused: 9,
        lost: 0,
        oversold: 0,
      });
    } finally {
      await cleanup();
    }
  });

  it('the same delivery 10 times at once: committed once, all ten answered 201', async () => {
    const { variants, cleanup } = await hotVariants(1, 100);
    const variant = variants[0]!;
    try {
      const order = buildShopifyOrder({ lines: [lineOf(variant, 3)] });
      const delivery = { 'x-shopify-webhook-id': `same-${order.id}`, 'x-shopify-event-id': `same-event-${order.id}` };
      const answers = await Promise.all(Array.from({ length: 10 }, () => postOrder(order, delivery)));
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(10).fill(201),
        JSON.stringify(answers.map((a) => a.json)),
      );
      for (const a of answers)
        assert.deepEqual(a.json, { status: 'success', message: 'Order received and processed', order_id: String(order.id) });
      const replayed = answers.filter((a) => a.headers.get('idempotent-replayed') === 'true').length;
      assert.equal(replayed, 9, 'nine answers are replays of the one commit');
      assert.equal((await stockOf([variant.variantId])).get(variant.variantId), 97, 'stock taken once');
      const state = await orderIntegrity([order.id]);
      assertWhole(state, 1);
      assert.equal(state.events, 1, 'one event');
      await assertAtRest([variant]);
      report.add({
        scenario: 'same delivery 10 times at once',
        requests: 10,
        faults: 'redelivery race',
        accepted: 10,
        refused: 0,
        lost: 0,
        oversold: 0,
      });
    } finally {
      await cleanup();
    }
  });
});

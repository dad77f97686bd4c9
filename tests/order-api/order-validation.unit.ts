import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { findShortages, sumDemands, validateOrder } from '../../services/order-manage-api/src/domain/order.js';
import { buildShopifyOrder } from '../support/orders.js';

const order = (lines = [{ productId: 8_000_000_000_101, quantity: 2, price: '24.90' }]) => buildShopifyOrder({ orderId: 6_000_000_000_001, lines });

const errorsOf = (body: unknown) => {
  const result = validateOrder(body);
  assert.equal(result.ok, false, 'expected the order to be refused');
  return result.ok ? [] : result.errors;
};

describe('order validation (webhook body rules)', () => {
  it('accepts a realistic Shopify order and maps the fields intake uses', () => {
    const result = validateOrder(order());
    assert.ok(result.ok);
    assert.deepEqual(result.intake.demands, [
      { productId: '8000000000101', sku: 'TEST-8000000000101', title: 'Test product 8000000000101', quantity: 2, price: '24.90' },
    ]);
    assert.deepEqual(result.intake.nonStockLines, []);
    assert.equal(result.intake.order.orderId, '6000000000001');
    assert.equal(result.intake.order.totalPrice, '49.80');
    assert.equal(result.intake.order.currency, 'USD');
    assert.equal(result.intake.order.financialStatus, 'paid');
    assert.match(result.intake.order.customerId ?? '', /^[1-9]\d+$/);
  });

  it('accepts a guest checkout (customer null) and a line item with an empty sku', () => {
    const body = buildShopifyOrder({ lines: [{ productId: 8_000_000_000_102, quantity: 1, sku: '' }], customer: null });
    const result = validateOrder(body);
    assert.ok(result.ok);
    assert.equal(result.intake.order.customerId, null);
    assert.equal(result.intake.demands[0]!.sku, '');
  });

  it('refuses an id that is not a positive integer, naming the path', () => {
    for (const id of [0, -5, 1.5, '6000000000001', null, 2 ** 53 + 2, 0n, 2n ** 63n]) {
      assert.deepEqual(
        errorsOf({ ...order(), id }).map((e) => e.path),
        ['id'],
        `id ${String(id)}`,
      );
    }
    assert.deepEqual(errorsOf({ ...order(), id: undefined }).map((e) => e.path), ['id']);
  });

  it('refuses an order without line items', () => {
    assert.deepEqual(errorsOf({ ...order(), line_items: [] }), [{ path: 'line_items', reason: 'line_items must not be empty' }]);
    assert.deepEqual(errorsOf({ ...order(), line_items: undefined }).map((e) => e.path), ['line_items']);
  });

  it('refuses a quantity that is not an integer of at least 1', () => {
    for (const quantity of [0, -1, 1.5, '2', null]) {
      const body = order();
      (body.line_items as Array<Record<string, unknown>>)[0]!.quantity = quantity;
      assert.deepEqual(errorsOf(body), [{ path: 'line_items[0].quantity', reason: 'quantity must be an integer of at least 1' }], `quantity ${String(quantity)}`);
    }
  });

  it('keeps a line with product_id null (a tip, a custom item) or a gift card as part of the order, but not as a demand', () => {
    const body = order([
      { productId: 8_000_000_000_107, quantity: 1, price: '5.00' },
      { productId: 8_000_000_000_108, quantity: 2, price: '25.00' },
      { productId: 8_000_000_000_109, quantity: 1, price: '3.00' },
    ]);
    const items = body.line_items as Array<Record<string, unknown>>;
    items[0]!.product_id = null;
    items[0]!.title = 'Tip';
    items[1]!.gift_card = true;
    const result = validateOrder(body);
    assert.ok(result.ok);
    assert.deepEqual(result.intake.demands.map((d) => d.productId), ['8000000000109']);
    assert.deepEqual(
      result.intake.nonStockLines.map((l) => [l.lineItemId, l.title, l.quantity, l.price]),
      [
        [String(items[0]!.id), 'Tip', 1, '5.00'],
        [String(items[1]!.id), 'Test product 8000000000108', 2, '25.00'],
      ],
    );
  });

  it('refuses a line item whose product_id is missing rather than null', () => {
    const body = order();
    delete (body.line_items as Array<Record<string, unknown>>)[0]!.product_id;
    assert.deepEqual(errorsOf(body).map((e) => e.path), ['line_items[0].product_id']);
  });

  it('refuses more line items than both services accept in one order', () => {
    const lines = Array.from({ length: 501 }, (_, i) => ({ productId: 8_000_000_001_000 + i, quantity: 1, price: '1.00' }));
    assert.deepEqual(errorsOf(order(lines)), [{ path: 'line_items', reason: 'line_items must hold at most 500 lines' }]);
  });

  it('lists every field error at once', () => {
    const body = order([
      { productId: 8_000_000_000_103, quantity: 1, price: '1.00' },
      { productId: 8_000_000_000_104, quantity: 1, price: '1.00' },
    ]);
    body.id = -1;
    const items = body.line_items as Array<Record<string, unknown>>;
    items[0]!.quantity = 0;
    items[1]!.product_id = 'not a number';
    items[1]!.price = 12.5;
    assert.deepEqual(errorsOf(body).map((e) => e.path).sort(), ['id', 'line_items[0].quantity', 'line_items[1].price', 'line_items[1].product_id']);
  });

  it('keeps the order id of an invalid order so the problem can name it', () => {
    const result = validateOrder({ ...order(), line_items: [] });
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.orderId, '6000000000001');
  });

  it('refuses money that is not a decimal string', () => {
    assert.deepEqual(errorsOf({ ...order(), total_price: 49.8 }).map((e) => e.path), ['total_price']);
    assert.deepEqual(errorsOf({ ...order(), total_price: '49.805' }).map((e) => e.path), ['total_price']);
  });

  it('refuses text longer than the database keeps (a 100 KB title) before anything else is asked', () => {
    const body = order();
    const lineItems = body.line_items as Array<Record<string, unknown>>;
    lineItems[0]!.title = 'x'.repeat(100_000);
    assert.deepEqual(errorsOf(body), [{ path: 'line_items[0].title', reason: 'title must be at most 1000 characters' }]);
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, [], 'order', 42]) assert.ok(errorsOf(body).length > 0);
  });
});

describe('sumDemands', () => {
  it('sums line items of one product into one demand, keeping first-seen order', () => {
    const demands = sumDemands([
      { productId: '2', quantity: 1, sku: '', title: 'B', price: '5.00' },
      { productId: '1', quantity: 2, sku: 'A-1', title: 'A', price: '3.00' },
      { productId: '2', quantity: 3, sku: 'B-1', title: 'B (variant)', price: '6.00' },
    ]);
    assert.deepEqual(demands, [
      { productId: '2', quantity: 4, sku: 'B-1', title: 'B', price: '5.00' },
      { productId: '1', quantity: 2, sku: 'A-1', title: 'A', price: '3.00' },
    ]);
  });

  it('keeps every product and its total quantity, one demand per product, whatever the line items', () => {
    const lines = fc.array(
      fc.record({ productId: fc.integer({ min: 1, max: 5 }).map(String), quantity: fc.integer({ min: 1, max: 1000 }), title: fc.constant('t'), price: fc.constant('1.00') }),
      { minLength: 1, maxLength: 20 },
    );
    fc.assert(
      fc.property(lines, (items) => {
        const demands = sumDemands(items);
        assert.equal(new Set(demands.map((d) => d.productId)).size, demands.length);
        for (const d of demands) {
          assert.equal(d.quantity, items.filter((l) => l.productId === d.productId).reduce((sum, l) => sum + l.quantity, 0));
        }
        assert.deepEqual(demands.map((d) => d.productId).sort(), [...new Set(items.map((l) => l.productId))].sort());
      }),
    );
  });

  it('gives a validated order with two line items of one product a single summed demand', () => {
    const result = validateOrder(
      order([
        { productId: 8_000_000_000_105, quantity: 2, price: '1.00' },
        { productId: 8_000_000_000_105, quantity: 3, price: '1.00' },
      ]),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.intake.demands.map((d) => [d.productId, d.quantity]), [['8000000000105', 5]]);
  });

  it('refuses a product whose summed quantity exceeds what one line may hold', () => {
    const errors = errorsOf(
      order([
        { productId: 8_000_000_000_106, quantity: 600_000, price: '1.00' },
        { productId: 8_000_000_000_106, quantity: 600_000, price: '1.00' },
      ]),
    );
    assert.deepEqual(errors.map((e) => e.path), ['line_items']);
  });
});

describe('findShortages', () => {
  it('lists the products with less stock than demanded, unknown stock counting as 0', () => {
    const demands = sumDemands([
      { productId: '1', quantity: 5, title: 'A', price: '1.00' },
      { productId: '2', quantity: 1, title: 'B', price: '1.00' },
      { productId: '3', quantity: 2, title: 'C', price: '1.00' },
    ]);
    const shortages = findShortages(demands, new Map([['1', 4], ['2', 1]]));
    assert.deepEqual(shortages, [
      { productId: '1', requested: 5, available: 4 },
      { productId: '3', requested: 2, available: 0 },
    ]);
  });
});

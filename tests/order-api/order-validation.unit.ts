import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findShortages, reservingLines, validateOrder } from '../../services/order-manage-api/src/domain/order.js';
import { buildShopifyOrder } from '../support/orders.js';

const order = (
  lines: Parameters<typeof buildShopifyOrder>[0]['lines'] = [
    { productId: 8_000_000_000_101, variantId: 9_000_000_000_101, quantity: 2, price: '24.90' },
  ],
) => buildShopifyOrder({ orderId: 6_000_000_000_001, lines });

const errorsOf = (body: unknown) => {
  const result = validateOrder(body);
  assert.equal(result.ok, false, 'expected the order to be refused');
  return result.ok ? [] : result.errors;
};

/** The validated intake of a body that must pass. */
const intakeOf = (body: unknown) => {
  const result = validateOrder(body);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.intake;
};

describe('order validation (webhook body rules)', () => {
  it('accepts a realistic Shopify order and maps the fields intake uses', () => {
    const body = order();
    const intake = intakeOf(body);
    assert.deepEqual(intake.lines, [
      {
        lineItemId: String((body.line_items as Array<{ id: number }>)[0]!.id),
        productId: '8000000000101',
        variantId: '9000000000101',
        sku: 'TEST-9000000000101',
        title: 'Test product 8000000000101',
        quantity: 2,
        price: '24.90',
        holdsStock: true,
      },
    ]);
    assert.equal(intake.order.orderId, '6000000000001');
    assert.equal(intake.order.totalPrice, '49.80');
    assert.equal(intake.order.currency, 'USD');
    assert.equal(intake.order.financialStatus, 'paid');
    assert.equal(intake.order.locationId, null, 'an online order has no location');
    assert.match(intake.order.customerId ?? '', /^[1-9]\d+$/);
  });

  it('accepts a guest checkout (customer null) and a line item with an empty sku', () => {
    const body = buildShopifyOrder({
      lines: [{ productId: 8_000_000_000_102, variantId: 9_000_000_000_102, quantity: 1, sku: '' }],
      customer: null,
    });
    const intake = intakeOf(body);
    assert.equal(intake.order.customerId, null);
    assert.equal(intake.lines[0]!.sku, '');
  });

  it('keeps a line with variant_id null (a deleted variant) with its product and SKU, to be found by them', () => {
    const intake = intakeOf(order([{ productId: 8_000_000_000_110, quantity: 1, sku: 'SHIRT-RED-M' }]));
    assert.deepEqual(
      intake.lines.map(({ productId, variantId, sku, holdsStock }) => ({ productId, variantId, sku, holdsStock })),
      [{ productId: '8000000000110', variantId: null, sku: 'SHIRT-RED-M', holdsStock: true }],
    );
  });

  it("reads a point-of-sale order's location_id, and refuses one that is not an id", () => {
    assert.equal(
      intakeOf(buildShopifyOrder({ lines: [{ productId: 8_000_000_000_111, quantity: 1 }], locationId: 65_432_109_876 })).order.locationId,
      '65432109876',
    );
    assert.deepEqual(errorsOf({ ...order(), location_id: 'shop' }), [
      { path: 'location_id', reason: 'location_id must be a positive integer below 2^63' },
    ]);
  });

  it('refuses an id that is not a positive integer, naming the path', () => {
    for (const id of [0, -5, 1.5, '6000000000001', null, 2 ** 53 + 2, 0n, 2n ** 63n]) {
      assert.deepEqual(
        errorsOf({ ...order(), id }).map((e) => e.path),
        ['id'],
        `id ${String(id)}`,
      );
    }
    assert.deepEqual(
      errorsOf({ ...order(), id: undefined }).map((e) => e.path),
      ['id'],
    );
  });

  it('refuses an order without line items', () => {
    assert.deepEqual(errorsOf({ ...order(), line_items: [] }), [{ path: 'line_items', reason: 'line_items must not be empty' }]);
    assert.deepEqual(
      errorsOf({ ...order(), line_items: undefined }).map((e) => e.path),
      ['line_items'],
    );
  });

  it('refuses a quantity that is not an integer of at least 1', () => {
    for (const quantity of [0, -1, 1.5, '2', null]) {
      const body = order();
      (body.line_items as Array<Record<string, unknown>>)[0]!.quantity = quantity;
      assert.deepEqual(
        errorsOf(body),
        [{ path: 'line_items[0].quantity', reason: 'quantity must be an integer of at least 1' }],
        `quantity ${String(quantity)}`,
      );
    }
  });

  it('keeps a line with product_id null (a tip, a custom item), a gift card or one that ships nothing as part of the order, holding no stock', () => {
    const body = order([
      { productId: 8_000_000_000_107, quantity: 1, price: '5.00' },
      { productId: 8_000_000_000_108, variantId: 9_000_000_000_108, quantity: 2, price: '25.00' },
      { productId: 8_000_000_000_109, variantId: 9_000_000_000_109, quantity: 1, price: '3.00' },
      { productId: 8_000_000_000_112, variantId: 9_000_000_000_112, quantity: 1, price: '9.00' },
    ]);
    const items = body.line_items as Array<Record<string, unknown>>;
    items[0]!.product_id = null;
    items[0]!.title = 'Tip';
    items[1]!.gift_card = true;
    items[3]!.requires_shipping = false;
    const intake = intakeOf(body);
    assert.deepEqual(
      intake.lines.map((l) => [l.lineItemId, l.productId, l.title, l.quantity, l.price, l.holdsStock]),
      [
        [String(items[0]!.id), null, 'Tip', 1, '5.00', false],
        [String(items[1]!.id), '8000000000108', 'Test product 8000000000108', 2, '25.00', false],
        [String(items[2]!.id), '8000000000109', 'Test product 8000000000109', 1, '3.00', true],
        [String(items[3]!.id), '8000000000112', 'Test product 8000000000112', 1, '9.00', false],
      ],
    );
  });

  it('a line that says requires_shipping true, or says nothing, holds stock', () => {
    const body = order([
      { productId: 8_000_000_000_113, variantId: 9_000_000_000_113, quantity: 1 },
      { productId: 8_000_000_000_114, variantId: 9_000_000_000_114, quantity: 1 },
    ]);
    delete (body.line_items as Array<Record<string, unknown>>)[1]!.requires_shipping;
    assert.deepEqual(
      intakeOf(body).lines.map((l) => l.holdsStock),
      [true, true],
    );
  });

  it('refuses a line item whose product_id is missing rather than null', () => {
    const body = order();
    delete (body.line_items as Array<Record<string, unknown>>)[0]!.product_id;
    assert.deepEqual(
      errorsOf(body).map((e) => e.path),
      ['line_items[0].product_id'],
    );
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
    assert.deepEqual(
      errorsOf(body)
        .map((e) => e.path)
        .sort(),
      ['id', 'line_items[0].quantity', 'line_items[1].price', 'line_items[1].product_id'],
    );
  });

  it('keeps the order id of an invalid order so the problem can name it', () => {
    const result = validateOrder({ ...order(), line_items: [] });
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.orderId, '6000000000001');
  });

  it('refuses money that is not a decimal string', () => {
    assert.deepEqual(
      errorsOf({ ...order(), total_price: 49.8 }).map((e) => e.path),
      ['total_price'],
    );
    assert.deepEqual(
      errorsOf({ ...order(), total_price: '49.805' }).map((e) => e.path),
      ['total_price'],
    );
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

describe('lines of one variant', () => {
  it('are all kept as they came, one line each', () => {
    const intake = intakeOf(
      order([
        { productId: 8_000_000_000_105, variantId: 9_000_000_000_105, quantity: 2, price: '1.00' },
        { productId: 8_000_000_000_105, variantId: 9_000_000_000_105, quantity: 3, price: '1.00' },
      ]),
    );
    assert.deepEqual(
      intake.lines.map((l) => [l.variantId, l.quantity]),
      [
        ['9000000000105', 2],
        ['9000000000105', 3],
      ],
    );
  });

  it('are refused when their summed quantity exceeds what one line may hold, naming the variant', () => {
    const errors = errorsOf(
      order([
        { productId: 8_000_000_000_106, variantId: 9_000_000_000_106, quantity: 600_000, price: '1.00' },
        { productId: 8_000_000_000_106, variantId: 9_000_000_000_106, quantity: 600_000, price: '1.00' },
      ]),
    );
    assert.deepEqual(errors, [{ path: 'line_items', reason: 'summed quantity of variant 9000000000106 exceeds 1000000' }]);
  });

  it('of different variants of one product are not summed against that limit', () => {
    const intake = intakeOf(
      order([
        { productId: 8_000_000_000_106, variantId: 9_000_000_000_106, quantity: 600_000, price: '1.00' },
        { productId: 8_000_000_000_106, variantId: 9_000_000_000_107, quantity: 600_000, price: '1.00' },
      ]),
    );
    assert.equal(intake.lines.length, 2);
  });

  it('without a variant id are summed by SKU within their product, and named by them', () => {
    const errors = errorsOf(
      order([
        { productId: 8_000_000_000_106, quantity: 600_000, sku: 'SHIRT-M', price: '1.00' },
        { productId: 8_000_000_000_106, quantity: 600_000, sku: 'SHIRT-M', price: '1.00' },
        { productId: 8_000_000_000_106, quantity: 600_000, sku: 'SHIRT-L', price: '1.00' },
      ]),
    );
    assert.deepEqual(errors, [{ path: 'line_items', reason: 'summed quantity of SKU "SHIRT-M" of product 8000000000106 exceeds 1000000' }]);
  });

  it('without a variant id, of other SKUs or other products, are not summed against that limit', () => {
    const intake = intakeOf(
      order([
        { productId: 8_000_000_000_106, quantity: 600_000, sku: 'SHIRT-M', price: '1.00' },
        { productId: 8_000_000_000_106, quantity: 600_000, sku: 'SHIRT-L', price: '1.00' },
        { productId: 8_000_000_000_107, quantity: 600_000, sku: 'SHIRT-M', price: '1.00' },
      ]),
    );
    assert.equal(intake.lines.length, 3);
  });

  it('that hold no stock are not summed against that limit', () => {
    const body = order([
      { productId: 8_000_000_000_106, variantId: 9_000_000_000_106, quantity: 600_000, price: '1.00' },
      { productId: 8_000_000_000_106, variantId: 9_000_000_000_106, quantity: 600_000, price: '1.00' },
    ]);
    (body.line_items as Array<Record<string, unknown>>)[1]!.requires_shipping = false;
    assert.equal(intakeOf(body).lines.length, 2);
  });
});

describe('reservingLines: the lines the warehouse gives up units for', () => {
  const WAREHOUSE = '65432109876';
  const body = (locationId?: number) => {
    const b = buildShopifyOrder({
      locationId,
      lines: [
        { productId: 8_000_000_000_120, variantId: 9_000_000_000_120, quantity: 1 },
        { productId: 8_000_000_000_121, variantId: 9_000_000_000_121, quantity: 1 },
      ],
    });
    (b.line_items as Array<Record<string, unknown>>)[1]!.gift_card = true;
    return b;
  };

  it('of an online order are its stock lines', () => {
    assert.deepEqual(
      reservingLines(intakeOf(body()), WAREHOUSE).map((l) => l.variantId),
      ['9000000000120'],
    );
  });

  it("of a point-of-sale order at the warehouse's location are its stock lines", () => {
    assert.deepEqual(
      reservingLines(intakeOf(body(65_432_109_876)), WAREHOUSE).map((l) => l.variantId),
      ['9000000000120'],
    );
  });

  it("of a point-of-sale order at another location are none: that shop's shelf sold them", () => {
    assert.deepEqual(reservingLines(intakeOf(body(65_432_100_001)), WAREHOUSE), []);
  });
});

describe('findShortages', () => {
  it('lists the variants with less stock than demanded, unknown stock counting as 0, with their SKU', () => {
    const demands = [
      { variantId: '1', productId: '10', sku: 'A', quantity: 5 },
      { variantId: '2', productId: '10', sku: 'B', quantity: 1 },
      { variantId: '3', productId: '11', sku: 'C', quantity: 2 },
    ];
    const shortages = findShortages(
      demands,
      new Map([
        ['1', 4],
        ['2', 1],
      ]),
    );
    assert.deepEqual(shortages, [
      { variantId: '1', sku: 'A', requested: 5, available: 4 },
      { variantId: '3', sku: 'C', requested: 2, available: 0 },
    ]);
  });
});

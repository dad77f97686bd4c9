import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateOrder } from '../../services/order-manage-api/src/domain/order.js';

/** A valid order as the webhook reads it (ids as bigints, from parseJsonWithExactIds). */
const order = (fields: Record<string, unknown> = {}) => ({
  id: 1001n,
  order_number: 1,
  name: '#1001',
  created_at: '2026-11-24T08:00:00Z',
  currency: 'USD',
  total_price: '10.00',
  financial_status: 'paid',
  customer: { id: 5n },
  line_items: [{ id: 11n, product_id: 21n, variant_id: 31n, gift_card: false, quantity: 1, sku: 'S', title: 'T', price: '10.00' }],
  ...fields,
});
const line = (fields: Record<string, unknown>) => ({ id: 11n, product_id: 21n, quantity: 1, title: 'T', price: '10.00', ...fields });
const errorsOf = (body: unknown) => {
  const result = validateOrder(body);
  assert.equal(result.ok, false, 'refused');
  return result.ok ? [] : result.errors;
};
const ID_RULE = 'must be a positive integer below 2^63';

describe('order validation: the exact errors[] a merchant reads (SPEC section 2, 400 INVALID_PAYLOAD)', () => {
  it('names each wrong order field with its path and reason', () => {
    const body = order({
      id: 'x',
      order_number: 'x',
      name: 5,
      created_at: 'x',
      currency: 5,
      total_price: 5,
      financial_status: 5,
      customer: { id: 0n },
      location_id: 2n ** 63n,
      line_items: 'x',
    });
    assert.deepEqual(errorsOf(body), [
      { path: 'id', reason: `id ${ID_RULE}` },
      { path: 'order_number', reason: 'order_number must be a positive integer' },
      { path: 'name', reason: 'name must be a string' },
      { path: 'created_at', reason: 'created_at must be an ISO-8601 date-time' },
      { path: 'currency', reason: 'currency must be a 3-letter code' },
      { path: 'total_price', reason: 'total_price must be a decimal string such as "24.90"' },
      { path: 'financial_status', reason: 'financial_status must be a string' },
      { path: 'customer.id', reason: `customer.id ${ID_RULE}` },
      { path: 'location_id', reason: `location_id ${ID_RULE}` },
      { path: 'line_items', reason: 'line_items must be an array' },
    ]);
  });

  it('refuses an order number that is a fraction, zero, or beyond 2^53, an empty name, and a currency not of 3 capitals', () => {
    assert.deepEqual(errorsOf(order({ order_number: 1.5, name: '', currency: 'usd' })), [
      { path: 'order_number', reason: 'order_number must be a positive integer' },
      { path: 'name', reason: 'name must not be empty' },
      { path: 'currency', reason: 'currency must be a 3-letter code' },
    ]);
    assert.deepEqual(errorsOf(order({ order_number: 0, currency: 'USDX' })), [
      { path: 'order_number', reason: 'order_number must be a positive integer' },
      { path: 'currency', reason: 'currency must be a 3-letter code' },
    ]);
    assert.deepEqual(errorsOf(order({ order_number: 2 ** 53, currency: 'XUSD' })), [
      { path: 'order_number', reason: 'order_number must be a positive integer' },
      { path: 'order_number', reason: 'order_number must be below 2^53' },
      { path: 'currency', reason: 'currency must be a 3-letter code' },
    ]);
  });

  it('names each wrong line item field under line_items[i]', () => {
    const body = order({
      line_items: [
        { id: 'x', product_id: 'x', variant_id: 'x', gift_card: 'x', requires_shipping: 'x', quantity: 'x', sku: 5, title: 5, price: 5 },
      ],
    });
    assert.deepEqual(errorsOf(body), [
      { path: 'line_items[0].id', reason: `id ${ID_RULE}` },
      { path: 'line_items[0].product_id', reason: `product_id ${ID_RULE}` },
      { path: 'line_items[0].variant_id', reason: `variant_id ${ID_RULE}` },
      { path: 'line_items[0].gift_card', reason: 'gift_card must be true or false' },
      { path: 'line_items[0].requires_shipping', reason: 'requires_shipping must be true or false' },
      { path: 'line_items[0].quantity', reason: 'quantity must be an integer of at least 1' },
      { path: 'line_items[0].sku', reason: 'sku must be a string' },
      { path: 'line_items[0].title', reason: 'title must be a string' },
      { path: 'line_items[0].price', reason: 'price must be a decimal string such as "24.90"' },
    ]);
  });

  it('refuses ids of 0 and of 2^63, quantities of 0, 1.5 and over a million, a NUL in text, and three decimals', () => {
    assert.deepEqual(errorsOf(order({ id: 0n, line_items: [line({ quantity: 0, sku: 'a\u0000b', price: '10.001' })] })), [
      { path: 'id', reason: `id ${ID_RULE}` },
      { path: 'line_items[0].quantity', reason: 'quantity must be an integer of at least 1' },
      { path: 'line_items[0].sku', reason: 'sku must not contain a NUL character' },
      { path: 'line_items[0].price', reason: 'price must be a decimal string with at most 2 decimals, such as "24.90"' },
    ]);
    assert.deepEqual(errorsOf(order({ id: 2n ** 63n, line_items: [line({ quantity: 1.5 })] })), [
      { path: 'id', reason: `id ${ID_RULE}` },
      { path: 'line_items[0].quantity', reason: 'quantity must be an integer of at least 1' },
    ]);
    assert.deepEqual(errorsOf(order({ line_items: [line({ quantity: 1_000_001 })] })), [
      { path: 'line_items[0].quantity', reason: 'quantity must be at most 1000000' },
    ]);
  });

  it('names the body itself when it is not an object', () => {
    assert.deepEqual(
      errorsOf(5).map((e) => e.path),
      ['(body)'],
    );
  });

  it('accepts money without decimals, and a variant summed to exactly the maximum; refuses one summed past it, naming it', () => {
    assert.equal(validateOrder(order({ total_price: '10', line_items: [line({ price: '10' })] })).ok, true);
    const atMax = order({
      line_items: [line({ variant_id: 31n, quantity: 600_000 }), line({ id: 12n, variant_id: 31n, quantity: 400_000 })],
    });
    assert.equal(validateOrder(atMax).ok, true);
    const past = order({
      line_items: [line({ variant_id: 31n, quantity: 600_000 }), line({ id: 12n, variant_id: 31n, quantity: 400_001 })],
    });
    assert.deepEqual(validateOrder(past), {
      ok: false,
      orderId: '1001',
      errors: [{ path: 'line_items', reason: 'summed quantity of variant 31 exceeds 1000000' }],
    });
  });

  it('names a deleted variant summed past the maximum by its SKU and product, an empty SKU as ""', () => {
    const past = order({ line_items: [line({ quantity: 600_000 }), line({ id: 12n, quantity: 400_001 })] });
    assert.deepEqual(validateOrder(past), {
      ok: false,
      orderId: '1001',
      errors: [{ path: 'line_items', reason: 'summed quantity of SKU "" of product 21 exceeds 1000000' }],
    });
  });

  it('keeps the sku of a non-stock line, and an empty sku when Shopify sends none', () => {
    const result = validateOrder(
      order({ line_items: [line({ product_id: null, sku: 'TIP' }), line({ id: 12n, product_id: null, sku: null })] }),
    );
    assert.ok(result.ok);
    assert.deepEqual(
      result.intake.lines.map((l) => [l.sku, l.holdsStock]),
      [
        ['TIP', false],
        ['', false],
      ],
    );
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareShopifyIds, isShopifyId, parseJsonWithExactIds } from '@oms/common';
import { validateOrder } from '../../services/order-manage-api/src/domain/order.js';
import { buildShopifyOrder } from '../support/orders.js';

/** A signed body as Shopify writes it, with `id` spliced in as raw JSON text (a double could not hold it). */
const bodyWithId = (idText: string) =>
  JSON.stringify(buildShopifyOrder({ orderId: 6_000_000_000_001, lines: [{ productId: 8_000_000_000_201, quantity: 1 }] })).replace(
    '"id":6000000000001,',
    `"id":${idText},`,
  );

const orderIdOf = (raw: string) => {
  const result = validateOrder(parseJsonWithExactIds(raw));
  return result.ok ? result.intake.order.orderId : result.errors;
};

describe('exact 64-bit ids (read from the JSON text, never through a double)', () => {
  it('keeps 2^53 - 1, the largest id a double holds exactly', () => {
    assert.equal(orderIdOf(bodyWithId('9007199254740991')), '9007199254740991');
  });

  it('keeps 2^53 + 1, which JSON.parse alone would read as 2^53', () => {
    assert.equal(JSON.parse('9007199254740993'), 9007199254740992);
    assert.equal(orderIdOf(bodyWithId('9007199254740993')), '9007199254740993');
  });

  it('keeps 2^63 - 1, the largest PostgreSQL bigint', () => {
    assert.equal(orderIdOf(bodyWithId('9223372036854775807')), '9223372036854775807');
  });

  it('refuses 2^63 with the field path, as it cannot be stored', () => {
    assert.deepEqual(orderIdOf(bodyWithId('9223372036854775808')), [{ path: 'id', reason: 'id must be a positive integer below 2^63' }]);
  });

  it("keeps Shopify's own test notification ids exactly: order 820982911946154508, customer 115310627314723954", () => {
    const raw = bodyWithId('820982911946154508').replace(/"customer":\{"id":\d+/, '"customer":{"id":115310627314723954');
    const result = validateOrder(parseJsonWithExactIds(raw));
    assert.ok(result.ok);
    assert.equal(result.intake.order.orderId, '820982911946154508');
    assert.equal(result.intake.order.customerId, '115310627314723954');
  });

  it('keeps the variant, line item and location ids of a line above 2^53 exactly', () => {
    const raw = bodyWithId('6000000000001')
      .replace(/"variant_id":null/, '"variant_id":9007199254740993')
      .replace(/"line_items":\[\{"id":\d+/, '"line_items":[{"id":866550311766439021')
      .replace('"location_id":null', '"location_id":9223372036854775807');
    const result = validateOrder(parseJsonWithExactIds(raw));
    assert.ok(result.ok);
    assert.deepEqual(
      [result.intake.lines[0]!.variantId, result.intake.lines[0]!.lineItemId, result.intake.order.locationId],
      ['9007199254740993', '866550311766439021', '9223372036854775807'],
    );
  });

  it('reads product and line item ids exactly too, and leaves every other number as JSON.parse reads it', () => {
    const parsed = parseJsonWithExactIds(
      '{"line_items":[{"id":866550311766439020,"product_id":788032119674292900,"quantity":2,"grams":1.5}],"total_weight":9007199254740993}',
    ) as {
      line_items: Array<Record<string, unknown>>;
      total_weight: number;
    };
    assert.equal(parsed.line_items[0]!.id, 866550311766439020n);
    assert.equal(parsed.line_items[0]!.product_id, 788032119674292900n);
    assert.equal(parsed.line_items[0]!.quantity, 2);
    assert.equal(parsed.line_items[0]!.grams, 1.5);
    assert.equal(typeof parsed.total_weight, 'number');
  });

  it('refuses an id written as a fraction or a string', () => {
    assert.deepEqual(orderIdOf(bodyWithId('6000000000001.5')), [{ path: 'id', reason: 'id must be a positive integer below 2^63' }]);
    assert.deepEqual(orderIdOf(bodyWithId('"6000000000001"')), [{ path: 'id', reason: 'id must be a positive integer below 2^63' }]);
  });

  it('orders ids numerically, as the inventory rows are locked', () => {
    const ids = ['9223372036854775807', '10', '9007199254740993', '9', '9007199254740992'];
    assert.deepEqual([...ids].sort(compareShopifyIds), ['9', '10', '9007199254740992', '9007199254740993', '9223372036854775807']);
  });

  it('takes only canonical decimal strings below 2^63 as ids in the JSON it writes', () => {
    for (const ok of ['1', '9223372036854775807']) assert.ok(isShopifyId(ok), ok);
    for (const bad of ['0', '01', '-1', '1.0', '9223372036854775808', '', ' 1', 1]) assert.ok(!isShopifyId(bad), String(bad));
  });

  it('takes an escaped key for the id it spells, and a fraction spelt as an integer stays a number', () => {
    assert.deepEqual(parseJsonWithExactIds('{"\\u0069d": 5.0, "x": [{"order_id": 1e1}, {"id": 12}]}'), {
      id: 5,
      x: [{ order_id: 10 }, { id: 12n }],
    });
    assert.deepEqual(parseJsonWithExactIds('{"paid": 1.0, "id": -12345678901234567}'), { paid: 1, id: -12345678901234567n });
  });
});

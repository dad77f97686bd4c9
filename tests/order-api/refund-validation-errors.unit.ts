import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJsonWithExactIds } from '@oms/common';
import { validateRestock } from '../../services/order-manage-api/src/domain/refund.js';

/** What a refused orders/cancelled or refunds/create body is told: each field's own message, the order named when readable. */

const parse = (text: string) => parseJsonWithExactIds(text);
const line = (fields: Record<string, unknown> = {}) => ({
  id: 11,
  line_item_id: 101,
  quantity: 1,
  restock_type: 'return',
  location_id: 24826418,
  ...fields,
});
const refund = (lines: unknown[]) => parse(JSON.stringify({ id: 929361464, order_id: 820982911946154, refund_line_items: lines }));

describe('a refused refunds/create body', () => {
  it("names each refund line item's field with its rule, and the order it is for", () => {
    const result = validateRestock(
      'refunds/create',
      refund([
        line({ quantity: '2' }),
        line({ quantity: 1_000_001 }),
        line({ restock_type: 'r'.repeat(65) }),
        line({ location_id: 0 }),
        line({ id: 0 }),
      ]),
    );
    assert.deepEqual(result, {
      ok: false,
      orderId: '820982911946154',
      errors: [
        { path: 'refund_line_items[0].quantity', reason: 'quantity must be an integer of at least 0' },
        { path: 'refund_line_items[1].quantity', reason: 'quantity must be at most 1000000' },
        { path: 'refund_line_items[2].restock_type', reason: 'restock_type must be at most 64 characters' },
        { path: 'refund_line_items[3].location_id', reason: 'location_id must be a positive integer below 2^63' },
        { path: 'refund_line_items[4].id', reason: 'id must be a positive integer below 2^63' },
      ],
    });
  });

  it('refuses more than 5,000 refund line items (10 per line of a 500-line order)', () => {
    const result = validateRestock('refunds/create', refund(Array.from({ length: 5001 }, () => line())));
    assert.deepEqual(result, {
      ok: false,
      orderId: '820982911946154',
      errors: [{ path: 'refund_line_items', reason: 'refund_line_items must hold at most 5000 lines' }],
    });
    assert.equal(validateRestock('refunds/create', refund(Array.from({ length: 5000 }, () => line()))).ok, true);
  });

  it('names the Refund itself when its id is wrong', () => {
    const result = validateRestock('refunds/create', parse('{"id": 0, "order_id": 7, "refund_line_items": []}'));
    assert.deepEqual(result, { ok: false, orderId: '7', errors: [{ path: 'id', reason: 'id must be a positive integer below 2^63' }] });
  });
});

describe('a refused orders/cancelled body', () => {
  it('names the order by its id, and each refund by its own', () => {
    const result = validateRestock('orders/cancelled', parse('{"id": 450789469, "refunds": [{"id": 0, "refund_line_items": []}]}'));
    assert.deepEqual(result, {
      ok: false,
      orderId: '450789469',
      errors: [{ path: 'refunds[0].id', reason: 'id must be a positive integer below 2^63' }],
    });
  });

  it('says refunds must be an array', () => {
    const result = validateRestock('orders/cancelled', parse('{"id": 450789469, "refunds": "none"}'));
    assert.deepEqual(result, { ok: false, orderId: '450789469', errors: [{ path: 'refunds', reason: 'refunds must be an array' }] });
  });
});

describe('a body that is no object', () => {
  it('is refused as a whole, naming no order, for either topic', () => {
    for (const topic of ['refunds/create', 'orders/cancelled'] as const) {
      const result = validateRestock(topic, null);
      assert.equal(result.ok, false);
      assert.ok(!result.ok);
      assert.equal(result.orderId, undefined);
      assert.deepEqual(
        result.errors.map((e) => e.path),
        ['(body)'],
      );
    }
  });
});

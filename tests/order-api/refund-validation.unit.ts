import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJsonWithExactIds } from '@oms/common';
import { validateRestock } from '../../services/order-manage-api/src/domain/refund.js';

/** What the two restock topics take from Shopify's bodies (docs/spec.md section 2.2); ids read exactly. */

const parse = (text: string) => parseJsonWithExactIds(text);

describe('reading orders/cancelled and refunds/create', () => {
  it('reads a Refund: its order and each refund line item, ids above 2^53 kept exactly', () => {
    const body = parse(`{"id": 929361464, "order_id": 820982911946154508, "note": "damaged", "restock": true,
      "refund_line_items": [{"id": 1058498307, "line_item_id": 866550311766439020, "quantity": 2, "restock_type": "return",
        "location_id": 24826418, "subtotal": 199.0, "line_item": {"id": 866550311766439020, "variant_id": 808950810}}]}`);
    assert.deepEqual(validateRestock('refunds/create', body), {
      ok: true,
      intake: {
        topic: 'refunds/create',
        orderId: '820982911946154508',
        cancelledAt: null,
        refundLines: [{ id: '1058498307', lineItemId: '866550311766439020', quantity: 2, restockType: 'return', locationId: '24826418' }],
      },
    });
  });

  it('reads a cancelled Order: its id, cancelled_at and the refund line items of all its refunds; line_items are not needed', () => {
    const body = parse(`{"id": 450789469, "cancelled_at": "2026-11-24T10:00:00-05:00", "cancel_reason": "customer",
      "line_items": "whatever Shopify sends", "refunds": [
        {"id": 1, "order_id": 450789469, "refund_line_items": [{"id": 11, "line_item_id": 101, "quantity": 1, "restock_type": "cancel", "location_id": null}]},
        {"id": 2, "order_id": 450789469, "refund_line_items": [{"id": 12, "line_item_id": 102, "quantity": 3, "restock_type": "no_restock"}]}]}`);
    assert.deepEqual(validateRestock('orders/cancelled', body), {
      ok: true,
      intake: {
        topic: 'orders/cancelled',
        orderId: '450789469',
        cancelledAt: '2026-11-24T10:00:00-05:00',
        refundLines: [
          { id: '11', lineItemId: '101', quantity: 1, restockType: 'cancel', locationId: null },
          { id: '12', lineItemId: '102', quantity: 3, restockType: 'no_restock', locationId: null },
        ],
      },
    });
  });

  it('takes a cancellation without refunds (nothing was restocked) and a refund line without restock_type as no restock', () => {
    const cancelled = validateRestock('orders/cancelled', parse('{"id": 7, "cancelled_at": null}'));
    assert.deepEqual(cancelled, { ok: true, intake: { topic: 'orders/cancelled', orderId: '7', cancelledAt: null, refundLines: [] } });
    const refund = validateRestock(
      'refunds/create',
      parse('{"id": 8, "order_id": 7, "refund_line_items": [{"id": 9, "line_item_id": 10, "quantity": 1}]}'),
    );
    assert.equal(refund.ok && refund.intake.refundLines[0]!.restockType, 'no_restock');
  });

  it('refuses a body it cannot act on, naming every field and the order when it can be read', () => {
    const refund = validateRestock(
      'refunds/create',
      parse('{"id": 8, "order_id": 7, "refund_line_items": [{"id": -1, "line_item_id": 1.5, "quantity": -2}]}'),
    );
    assert.deepEqual(refund, {
      ok: false,
      orderId: '7',
      errors: [
        { path: 'refund_line_items[0].id', reason: 'id must be a positive integer below 2^63' },
        { path: 'refund_line_items[0].line_item_id', reason: 'line_item_id must be a positive integer below 2^63' },
        { path: 'refund_line_items[0].quantity', reason: 'quantity must be an integer of at least 0' },
      ],
    });
    const order = validateRestock('orders/cancelled', parse('{"id": "x", "cancelled_at": "yesterday"}'));
    assert.deepEqual(order, {
      ok: false,
      errors: [
        { path: 'id', reason: 'id must be a positive integer below 2^63' },
        { path: 'cancelled_at', reason: 'cancelled_at must be an ISO-8601 date-time' },
      ],
    });
    assert.deepEqual(validateRestock('refunds/create', parse('{"id": 8}')), {
      ok: false,
      errors: [
        { path: 'order_id', reason: 'order_id must be a positive integer below 2^63' },
        { path: 'refund_line_items', reason: 'refund_line_items must be an array' },
      ],
    });
  });
});

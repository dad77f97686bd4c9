import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  lockOrderOf,
  planRestocks,
  reasonOf,
  type RefundLine,
  type ReservedLine,
} from '../../services/order-manage-data-api/src/domain/restock.js';

/** The rules of docs/spec.md section 2.2 that need no database: which refund lines put how many units back. */

const WAREHOUSE = '65432109876';
const OTHER_SHOP = '65432100001';

const line = (lineItemId: string, variantId: string, reserved: number, restocked = 0): ReservedLine => ({
  lineItemId,
  variantId,
  reserved,
  restocked,
  locationId: WAREHOUSE,
});
const lines = (...ls: ReservedLine[]) => new Map(ls.map((l) => [l.lineItemId, l]));
const refund = (
  id: string,
  lineItemId: string,
  quantity: number,
  restockType = 'cancel',
  locationId: string | null = WAREHOUSE,
): RefundLine => ({
  id,
  lineItemId,
  quantity,
  restockType,
  locationId,
});

describe('which units a cancellation or a refund puts back', () => {
  it('puts back a cancelled line whole, as a cancel movement keyed by its refund line item', () => {
    assert.deepEqual(planRestocks([refund('900', '1', 3)], lines(line('1', '41', 3)), new Set()), [
      { refundLineItemId: '900', lineItemId: '1', variantId: '41', quantity: 3, reason: 'cancel' },
    ]);
  });

  it('names a return and a legacy restock "return", and restocks nothing for no_restock or a type it does not know', () => {
    assert.deepEqual(['cancel', 'return', 'legacy_restock', 'no_restock', 'RETURN', ''].map(reasonOf), [
      'cancel',
      'return',
      'return',
      undefined,
      undefined,
      undefined,
    ]);
    const planned = planRestocks(
      [
        refund('901', '1', 1, 'return'),
        refund('902', '2', 1, 'legacy_restock'),
        refund('903', '3', 1, 'no_restock', null),
        refund('904', '4', 1, 'exchange'),
      ],
      lines(line('1', '41', 1), line('2', '42', 1), line('3', '43', 1), line('4', '44', 1)),
      new Set(),
    );
    assert.deepEqual(
      planned.map((p) => [p.refundLineItemId, p.reason]),
      [
        ['901', 'return'],
        ['902', 'return'],
      ],
    );
  });

  it('never puts back more than the line reserved: refunds of one line add up in the order Shopify issued them', () => {
    const planned = planRestocks(
      [refund('912', '1', 2, 'return'), refund('911', '1', 2, 'return'), refund('913', '1', 1, 'return')],
      lines(line('1', '41', 3)),
      new Set(),
    );
    assert.deepEqual(
      planned.map((p) => [p.refundLineItemId, p.quantity]),
      [
        ['911', 2],
        ['912', 1],
      ],
    );
  });

  it('counts what came back before: a line with 2 of 3 restocked takes back 1 more at most', () => {
    assert.deepEqual(
      planRestocks([refund('920', '1', 3)], lines(line('1', '41', 3, 2)), new Set()).map((p) => p.quantity),
      [1],
    );
    assert.deepEqual(planRestocks([refund('921', '1', 3)], lines(line('1', '41', 3, 3)), new Set()), []);
  });

  it('skips a refund line already in the ledger and a repeat within the delivery (orders/cancelled and refunds/create carry the same lines)', () => {
    const planned = planRestocks(
      [refund('930', '1', 1), refund('931', '2', 1), refund('931', '2', 1)],
      lines(line('1', '41', 1), line('2', '42', 2)),
      new Set(['930']),
    );
    assert.deepEqual(
      planned.map((p) => [p.refundLineItemId, p.quantity]),
      [['931', 1]],
    );
  });

  it("restocks nothing for a line this system did not reserve (a tip, a gift card, another shop's sale, another order's line)", () => {
    assert.deepEqual(planRestocks([refund('940', 'tip', 1), refund('941', 'elsewhere', 1)], lines(line('1', '41', 1)), new Set()), []);
  });

  it("restocks at the warehouse only: a refund line Shopify restocked at another location is that shop's; no location says nothing against it", () => {
    const planned = planRestocks(
      [refund('950', '1', 1, 'return', OTHER_SHOP), refund('951', '2', 1, 'return', null)],
      lines(line('1', '41', 1), line('2', '42', 1)),
      new Set(),
    );
    assert.deepEqual(
      planned.map((p) => p.refundLineItemId),
      ['951'],
    );
  });

  it('locks each variant once, in ascending numeric id order', () => {
    const planned = planRestocks(
      [refund('960', '1', 1), refund('961', '2', 1), refund('962', '3', 1)],
      lines(line('1', '100', 1), line('2', '99', 1), line('3', '100', 1)),
      new Set(),
    );
    assert.deepEqual(lockOrderOf(planned), ['99', '100']);
  });

  it('for any refunds, in any order and repeated, no line ever gets back more than it reserved, and each refund line counts at most once', () => {
    const reserved = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(
        reserved,
        fc.array(
          fc.record({
            id: fc.integer({ min: 1, max: 30 }),
            line: fc.nat(3),
            quantity: fc.integer({ min: 0, max: 6 }),
            type: fc.constantFrom('cancel', 'return', 'legacy_restock', 'no_restock'),
          }),
          { maxLength: 25 },
        ),
        (reservedByLine, refunds) => {
          const order = lines(...reservedByLine.map((r, i) => line(String(i), String(40 + i), r)));
          // A refund line item id names one line, one quantity, one type, as Shopify's do.
          const byId = new Map(refunds.map((r) => [r.id, r]));
          const sent = refunds
            .map((r) => byId.get(r.id)!)
            .map((r) => refund(String(r.id), String(r.line % reservedByLine.length), r.quantity, r.type));
          const planned = planRestocks(sent, order, new Set());
          assert.equal(new Set(planned.map((p) => p.refundLineItemId)).size, planned.length);
          reservedByLine.forEach((r, i) => {
            const back = planned.filter((p) => p.lineItemId === String(i)).reduce((sum, p) => sum + p.quantity, 0);
            assert.ok(back <= r, `line ${i}: ${back} back of ${r} reserved`);
          });
          assert.ok(planned.every((p) => p.quantity > 0));
        },
      ),
    );
  });
});

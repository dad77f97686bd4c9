import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadlineIn } from '@oms/common';
import { DataApiRefusedError, DataApiUnavailableError } from '../../services/order-manage-api/src/clients/data-api.js';
import type { RestockClient, RestockRequest, RestockResult } from '../../services/order-manage-api/src/clients/restocks.js';
import type { RestockIntake } from '../../services/order-manage-api/src/domain/refund.js';
import { createRestockOrder } from '../../services/order-manage-api/src/use-cases/restock-order.js';

/** The restock use case against a stand-in of the data-api's answer: what each answer means for the webhook. */

const intake: RestockIntake = {
  topic: 'orders/cancelled',
  orderId: '820982911946154508',
  cancelledAt: '2026-11-24T10:00:00-05:00',
  refundLines: [{ id: '1058498307', lineItemId: '866550311766439020', quantity: 2, restockType: 'cancel', locationId: null }],
};
const delivery = { webhookId: 'w-1', eventId: 'e-1', deadline: deadlineIn(4_000) };

function answering(answer: RestockResult | Error): { client: RestockClient; sent: Array<[string, RestockRequest]> } {
  const sent: Array<[string, RestockRequest]> = [];
  const client: RestockClient = {
    async restock(orderId, request) {
      sent.push([orderId, request]);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { client, sent };
}

const stored = (fields: Partial<RestockResult>): RestockResult => ({
  orderStatus: 'cancelled',
  replayed: false,
  restocked: [],
  movements: [],
  ...fields,
});

describe('the restock use case', () => {
  it("asks the data-api once with the delivery's ids and every refund line, and names the units that came back", async () => {
    const { client, sent } = answering(
      stored({
        restocked: [
          { variantId: '41', quantity: 2 },
          { variantId: '42', quantity: 1 },
        ],
      }),
    );
    const outcome = await createRestockOrder({ restocks: client })(intake, delivery);
    assert.deepEqual(outcome, {
      orderId: intake.orderId,
      topic: 'orders/cancelled',
      kind: 'restocked',
      restocked: [
        { variantId: '41', quantity: 2 },
        { variantId: '42', quantity: 1 },
      ],
      units: 3,
    });
    assert.deepEqual(sent, [
      [
        intake.orderId,
        {
          topic: 'orders/cancelled',
          webhookId: 'w-1',
          eventId: 'e-1',
          cancelledAt: intake.cancelledAt,
          refundLineItems: intake.refundLines,
        },
      ],
    ]);
  });

  it('says why nothing came back: the order as the data-api found it', async () => {
    for (const orderStatus of ['unknown', 'refused', 'accepted'] as const) {
      const outcome = await createRestockOrder({ restocks: answering(stored({ orderStatus })).client })(intake, delivery);
      assert.deepEqual([outcome.kind, outcome.kind === 'nothing_restocked' && outcome.orderStatus], ['nothing_restocked', orderStatus]);
    }
  });

  it("passes a replayed event's first answer on as a replay, even an empty one", async () => {
    for (const restocked of [[{ variantId: '41', quantity: 2 }], []]) {
      const outcome = await createRestockOrder({ restocks: answering(stored({ replayed: true, restocked })).client })(intake, delivery);
      assert.deepEqual(outcome, { orderId: intake.orderId, topic: 'orders/cancelled', kind: 'replayed', restocked });
    }
  });

  it('turns an unreachable data-api into a transient outcome and its refusal into a permanent one; any other error is a bug and is thrown', async () => {
    const unavailable = await createRestockOrder({
      restocks: answering(new DataApiUnavailableError('POST …: no answer within 4000 ms')).client,
    })(intake, delivery);
    assert.deepEqual(unavailable, {
      orderId: intake.orderId,
      topic: 'orders/cancelled',
      kind: 'data_api_unavailable',
      detail: 'POST …: no answer within 4000 ms',
    });
    const problem = { status: 400, code: 'INVALID_PAYLOAD', detail: 'bad' };
    const refused = await createRestockOrder({ restocks: answering(new DataApiRefusedError(problem)).client })(intake, delivery);
    assert.deepEqual(refused, { orderId: intake.orderId, topic: 'orders/cancelled', kind: 'refused_by_data_api', problem });
    await assert.rejects(createRestockOrder({ restocks: answering(new TypeError('bug')).client })(intake, delivery), TypeError);
  });
});

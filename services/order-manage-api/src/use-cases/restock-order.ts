import type { Deadline } from '@oms/common';
import { DataApiRefusedError, DataApiUnavailableError } from '../clients/data-api.js';
import type { RestockClient, RestockResult as StoredRestock } from '../clients/restocks.js';
import type { RestockIntake, RestockOutcome, RestockResult } from '../domain/refund.js';

export interface RestockOrderDeps {
  restocks: RestockClient;
}

export interface RestockDelivery {
  webhookId: string;
  /** X-Shopify-Event-Id; null when Shopify sent none (an empty header names no event). */
  eventId: string | null;
  deadline: Deadline;
}

/** Pure: what the data-api's answer means for the webhook. */
function resultOf(stored: StoredRestock): RestockResult {
  if (stored.replayed) return { kind: 'replayed', restocked: stored.restocked };
  if (stored.restocked.length === 0) return { kind: 'nothing_restocked', orderStatus: stored.orderStatus };
  return { kind: 'restocked', restocked: stored.restocked, units: stored.restocked.reduce((sum, v) => sum + v.quantity, 0) };
}

/**
 * docs/spec.md section 2.2: a cancellation or a refund puts back, once, the units of each refund line
 * Shopify restocked for a line this system reserved. Shopify has already put them back in its own
 * count. The data-api decides which units come back and writes them in one transaction, with the
 * event's answer (so a second delivery of the event gets the first answer); what is left here is to
 * ask it and name the outcome. An order the system never accepted restocks nothing: that is an
 * answer, not an error.
 */
export function createRestockOrder(deps: RestockOrderDeps) {
  const { restocks } = deps;

  return async function restockOrder(intake: RestockIntake, delivery: RestockDelivery): Promise<RestockOutcome> {
    const { orderId, topic } = intake;
    try {
      const stored = await restocks.restock(
        orderId,
        {
          topic,
          webhookId: delivery.webhookId,
          eventId: delivery.eventId,
          cancelledAt: intake.cancelledAt,
          refundLineItems: intake.refundLines,
        },
        { deadline: delivery.deadline },
      );
      return { orderId, topic, ...resultOf(stored) };
    } catch (err) {
      if (err instanceof DataApiRefusedError) return { orderId, topic, kind: 'refused_by_data_api', problem: err.problem };
      if (err instanceof DataApiUnavailableError) return { orderId, topic, kind: 'data_api_unavailable', detail: err.message };
      throw err;
    }
  };
}

export type RestockOrder = ReturnType<typeof createRestockOrder>;

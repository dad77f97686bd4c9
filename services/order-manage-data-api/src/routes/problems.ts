import { ProblemError, type Problem } from '@oms/common';
import type { z } from 'zod';
import type { CommitOutcome } from '../use-cases/commit-order.js';
import { validationErrors } from './schemas.js';

export function invalid(error: z.ZodError): ProblemError {
  return new ProblemError({
    status: 400,
    code: 'INVALID_PAYLOAD',
    detail: 'The request failed validation.',
    errors: validationErrors(error),
  });
}

/** The one place a refused commit becomes a problem. */
export function refusalOf(orderId: string, outcome: Exclude<CommitOutcome, { kind: 'committed' }>): Problem {
  switch (outcome.kind) {
    case 'duplicate':
      return {
        status: 409,
        code: 'ORDER_ALREADY_EXISTS',
        detail: `Order ${orderId} was already accepted.`,
        orderId,
        existingWebhookId: outcome.existingWebhookId,
        existingEventId: outcome.existingEventId,
      };
    case 'not_found':
      return {
        status: 422,
        code: 'PRODUCT_NOT_FOUND',
        detail: `Unknown variant(s): ${outcome.variantIds.join(', ')}.`,
        orderId,
        variantIds: outcome.variantIds,
      };
    case 'insufficient':
      return {
        status: 422,
        code: 'INSUFFICIENT_INVENTORY',
        detail: `Not enough stock for variant(s): ${outcome.items.map((i) => i.variantId).join(', ')}.`,
        orderId,
        items: outcome.items,
      };
    case 'line_item_taken':
      return {
        status: 400,
        code: 'INVALID_PAYLOAD',
        detail: `Line item id(s) ${outcome.lineItemIds.join(', ')} already belong to another order.`,
        orderId,
        errors: outcome.lineItemIds.map((id) => ({ path: 'lines', reason: `line item ${id} already belongs to another order` })),
      };
  }
}

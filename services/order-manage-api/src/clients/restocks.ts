import { CORRELATION_HEADER, currentContext, type Deadline, httpRequest, isTimeout, type Problem, type ShopifyId } from '@oms/common';
import type { OrderStatus, RefundLine, RestockedVariant, RestockTopic } from '../domain/refund.js';
import { type DataApiClientOptions, DataApiRefusedError, DataApiUnavailableError } from './data-api.js';

export interface RestockMovement {
  movementId: ShopifyId;
  refundLineItemId: ShopifyId;
  variantId: ShopifyId;
  reason: 'cancel' | 'return';
  delta: number;
  availableAfter: number;
}

export interface RestockRequest {
  topic: RestockTopic;
  webhookId: string;
  eventId: string | null;
  cancelledAt: string | null;
  refundLineItems: RefundLine[];
}

export interface RestockResult {
  orderStatus: OrderStatus;
  /** The event was handled before: its first answer, nothing changed. */
  replayed: boolean;
  restocked: RestockedVariant[];
  movements: RestockMovement[];
}

export interface RestockClient {
  /** `POST /internal/orders/:orderId/restocks`: one transaction on the data-api. */
  restock(orderId: ShopifyId, request: RestockRequest, options?: { deadline?: Deadline }): Promise<RestockResult>;
}

/**
 * order-manage-data-api's restock endpoint, with the same failure vocabulary as the order client
 * (clients/data-api.ts): unreachable, timed out or 5xx is DataApiUnavailableError; a 4xx is the
 * data-api's own permanent verdict, DataApiRefusedError.
 */
export function createRestockClient(options: DataApiClientOptions): RestockClient {
  const base = options.baseUrl.replace(/\/+$/, '');

  return {
    async restock(orderId, request, { deadline } = {}) {
      const path = `/internal/orders/${orderId}/restocks`;
      const timeoutMs = Math.min(options.timeoutMs, deadline?.remainingMs() ?? Infinity);
      if (timeoutMs <= 0) throw new DataApiUnavailableError(`POST ${path}: no time left before the answer deadline`);
      const headers: Record<string, string> = {
        authorization: `Bearer ${options.token}`,
        accept: 'application/json',
        'content-type': 'application/json',
      };
      const correlationId = currentContext()?.correlationId;
      if (correlationId) headers[CORRELATION_HEADER] = correlationId;
      let answer;
      try {
        answer = await httpRequest(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(request), timeoutMs });
      } catch (err) {
        const reason = isTimeout(err) ? `no answer within ${timeoutMs} ms` : `cannot connect (${(err as Error).message})`;
        throw new DataApiUnavailableError(`POST ${path}: ${reason}`, { cause: err });
      }
      let json: Record<string, unknown>;
      try {
        json = answer.text ? (JSON.parse(answer.text) as Record<string, unknown>) : {};
      } catch {
        throw new DataApiUnavailableError(`POST ${path} answered ${answer.status} with a body that is not JSON`);
      }
      if (answer.status === 200) return json as unknown as RestockResult;
      if (answer.status >= 400 && answer.status < 500) {
        const { type: _type, title: _title, status: _status, ...problem } = json;
        throw new DataApiRefusedError({
          ...problem,
          status: answer.status,
          code: typeof json.code === 'string' ? json.code : 'INVALID_PAYLOAD',
          detail: typeof json.detail === 'string' ? json.detail : `POST ${path} answered ${answer.status}.`,
        } as Problem);
      }
      throw new DataApiUnavailableError(`POST ${path} answered ${answer.status} ${typeof json.code === 'string' ? json.code : ''}`.trim());
    },
  };
}

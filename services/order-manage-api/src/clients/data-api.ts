import { CORRELATION_HEADER, currentContext, type Deadline, httpRequest, isTimeout, type Problem, type ShopifyId } from '@oms/common';
import type { Demand, FieldError, NonStockLine, OrderHeader, Shortage } from '../domain/order.js';
import { type CommitOutcome, insufficientInventory, productNotFound } from '../domain/outcome.js';

/** order-manage-data-api could not be reached, timed out, or failed (5xx / an answer outside the contract). */
export class DataApiUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataApiUnavailableError';
  }
}

/**
 * order-manage-data-api refused the request itself (a 4xx outside the commit outcomes): a permanent
 * answer, which the webhook passes on as such so Shopify does not retry it for hours.
 */
export class DataApiRefusedError extends Error {
  constructor(readonly problem: Problem) {
    super(`order-manage-data-api refused the request: ${problem.status} ${problem.code}`);
    this.name = 'DataApiRefusedError';
  }
}

export interface ExistingOrder {
  orderId: ShopifyId;
  webhookId: string;
  status: string;
  receivedAt: string;
}

export interface ProductInfo {
  productId: ShopifyId;
  sku: string;
  title: string;
  price: string;
  currency: string;
  availableQuantity: number;
}

export interface IntakeLookup {
  existingOrder: ExistingOrder | null;
  products: ProductInfo[];
  missingProductIds: ShopifyId[];
}

export interface CommitRequest {
  order: OrderHeader & { webhookId: string; eventId: string | null };
  lines: Demand[];
  nonStockLines: NonStockLine[];
}

/** Each call's timeout is the shorter of the client's own and what the webhook's answer deadline leaves. */
export interface CallOptions {
  deadline?: Deadline;
}

export interface DataApiClient {
  /** The order if it was already accepted, and our stock of its products: one round trip. */
  lookup(orderId: ShopifyId, productIds: ShopifyId[], options?: CallOptions): Promise<IntakeLookup>;
  commitOrder(request: CommitRequest, options?: CallOptions): Promise<CommitOutcome>;
  /** For readiness: resolves when the data-api process answers. */
  ping(): Promise<void>;
}

export interface DataApiClientOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
}

export function createDataApiClient(options: DataApiClientOptions): DataApiClient {
  const base = options.baseUrl.replace(/\/+$/, '');

  async function call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    { deadline }: CallOptions = {},
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const timeoutMs = Math.min(options.timeoutMs, deadline?.remainingMs() ?? Infinity);
    if (timeoutMs <= 0) throw new DataApiUnavailableError(`${method} ${path}: no time left before the answer deadline`);
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' };
    const correlationId = currentContext()?.correlationId;
    if (correlationId) headers[CORRELATION_HEADER] = correlationId;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const response = await httpRequest(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs,
      });
      if (response.status >= 500) throw new DataApiUnavailableError(`${method} ${path} answered ${response.status}`);
      let json: Record<string, unknown> = {};
      try {
        json = response.text ? (JSON.parse(response.text) as Record<string, unknown>) : {};
      } catch {
        throw new DataApiUnavailableError(`${method} ${path} answered ${response.status} with a body that is not JSON`);
      }
      return { status: response.status, json };
    } catch (err) {
      if (err instanceof DataApiUnavailableError) throw err;
      const reason = isTimeout(err) ? `no answer within ${timeoutMs} ms` : `cannot connect (${(err as Error).message})`;
      throw new DataApiUnavailableError(`${method} ${path}: ${reason}`, { cause: err });
    }
  }

  /** A 4xx is the data-api's own verdict on the request; anything else outside the contract is its failure. */
  const unexpected = (what: string, status: number, json: Record<string, unknown>): Error => {
    const code = typeof json.code === 'string' ? json.code : undefined;
    if (status >= 400 && status < 500) {
      const { type: _type, title: _title, status: _status, ...extensions } = json;
      return new DataApiRefusedError({
        ...extensions,
        status,
        code: code ?? 'INVALID_PAYLOAD',
        detail: typeof json.detail === 'string' ? json.detail : `${what} answered ${status}.`,
      });
    }
    return new DataApiUnavailableError(`${what} answered ${status} ${code ?? ''}`.trim());
  };

  return {
    async lookup(orderId, productIds, callOptions) {
      const { status, json } = await call('POST', '/internal/products/lookup', { orderId, productIds }, callOptions);
      if (status !== 200) throw unexpected('POST /internal/products/lookup', status, json);
      return json as unknown as IntakeLookup;
    },

    async commitOrder(request, callOptions) {
      const { status, json } = await call('POST', '/internal/orders', request, callOptions);
      if (status === 201) return { kind: 'committed' };
      if (status === 409) {
        return { kind: 'already_exists', existingWebhookId: typeof json.existingWebhookId === 'string' ? json.existingWebhookId : null };
      }
      if (status === 422 && json.code === 'INSUFFICIENT_INVENTORY') return insufficientInventory((json.items as Shortage[]) ?? [], 'There is');
      if (status === 422 && json.code === 'PRODUCT_NOT_FOUND') return productNotFound((json.productIds as ShopifyId[]) ?? [], 'in inventory');
      if (status === 400 && json.code === 'INVALID_PAYLOAD') {
        return { kind: 'invalid_payload', errors: (json.errors as FieldError[]) ?? [], detail: 'The order failed validation.' };
      }
      throw unexpected('POST /internal/orders', status, json);
    },

    async ping() {
      const { status } = await httpRequest(`${base}/health/live`, { timeoutMs: options.timeoutMs });
      if (status !== 200) throw new Error(`answered ${status}`);
    },
  };
}

import { CORRELATION_HEADER, currentContext, fetchWithTimeout, isTimeout } from '@oms/common';
import type { Demand, FieldError, OrderHeader, Shortage } from '../domain/order.js';

/** order-manage-data-api could not be reached, timed out, or failed (5xx / an answer outside the contract). */
export class DataApiUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataApiUnavailableError';
  }
}

export interface ExistingOrder {
  orderId: number;
  webhookId: string;
  status: string;
  receivedAt: string;
}

export interface ProductInfo {
  productId: number;
  sku: string;
  title: string;
  price: string;
  currency: string;
  availableQuantity: number;
}

export interface CommitRequest {
  order: OrderHeader & { webhookId: string; eventId: string | null };
  lines: Demand[];
}

export interface CommittedItem {
  productId: number;
  availableAfter: number;
  inventoryVersion: number;
}

export type CommitResult =
  | { outcome: 'committed'; items: CommittedItem[] }
  | { outcome: 'already_exists'; existingWebhookId: string | null }
  | { outcome: 'insufficient_inventory'; items: Shortage[] }
  | { outcome: 'product_not_found'; productIds: number[] }
  | { outcome: 'invalid_payload'; errors: FieldError[] };

export interface DataApiClient {
  getOrder(orderId: number): Promise<ExistingOrder | null>;
  lookupProducts(productIds: number[]): Promise<{ products: ProductInfo[]; missingProductIds: number[] }>;
  commitOrder(request: CommitRequest): Promise<CommitResult>;
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

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: 'application/json' };
    const correlationId = currentContext()?.correlationId;
    if (correlationId) headers[CORRELATION_HEADER] = correlationId;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const response = await fetchWithTimeout(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs: options.timeoutMs,
      });
      const text = await response.text();
      if (response.status >= 500) throw new DataApiUnavailableError(`${method} ${path} answered ${response.status}`);
      let json: Record<string, unknown> = {};
      try {
        json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        throw new DataApiUnavailableError(`${method} ${path} answered ${response.status} with a body that is not JSON`);
      }
      return { status: response.status, json };
    } catch (err) {
      if (err instanceof DataApiUnavailableError) throw err;
      const reason = isTimeout(err) ? `no answer within ${options.timeoutMs} ms` : `cannot connect (${(err as Error).message})`;
      throw new DataApiUnavailableError(`${method} ${path}: ${reason}`, { cause: err });
    }
  }

  const unexpected = (what: string, status: number, json: Record<string, unknown>) =>
    new DataApiUnavailableError(`${what} answered ${status} ${typeof json.code === 'string' ? json.code : ''}`.trim());

  return {
    async getOrder(orderId) {
      const { status, json } = await call('GET', `/internal/orders/${orderId}`);
      if (status === 404) return null;
      if (status !== 200) throw unexpected('GET /internal/orders', status, json);
      return json as unknown as ExistingOrder;
    },

    async lookupProducts(productIds) {
      const { status, json } = await call('POST', '/internal/products/lookup', { productIds });
      if (status !== 200) throw unexpected('POST /internal/products/lookup', status, json);
      return json as unknown as { products: ProductInfo[]; missingProductIds: number[] };
    },

    async commitOrder(request) {
      const { status, json } = await call('POST', '/internal/orders', request);
      if (status === 201) {
        return { outcome: 'committed', items: Array.isArray(json.items) ? (json.items as CommittedItem[]) : [] };
      }
      if (status === 409) {
        return { outcome: 'already_exists', existingWebhookId: typeof json.existingWebhookId === 'string' ? json.existingWebhookId : null };
      }
      if (status === 422 && json.code === 'INSUFFICIENT_INVENTORY') {
        return { outcome: 'insufficient_inventory', items: (json.items as Shortage[]) ?? [] };
      }
      if (status === 422 && json.code === 'PRODUCT_NOT_FOUND') {
        return { outcome: 'product_not_found', productIds: (json.productIds as number[]) ?? [] };
      }
      if (status === 400 && json.code === 'INVALID_PAYLOAD') {
        return { outcome: 'invalid_payload', errors: (json.errors as FieldError[]) ?? [] };
      }
      throw unexpected('POST /internal/orders', status, json);
    },

    async ping() {
      const response = await fetchWithTimeout(`${base}/health/live`, { timeoutMs: options.timeoutMs });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`answered ${response.status}`);
    },
  };
}

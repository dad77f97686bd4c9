import { CORRELATION_HEADER, currentContext, type Deadline, httpRequest, isTimeout, type Problem, type ShopifyId } from '@oms/common';
import type { FieldError, OrderHeader, Shortage, StockLine } from '../domain/order.js';
import { type CommitOutcome, insufficientInventory, productNotFound, type UnknownVariant } from '../domain/outcome.js';

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
  eventId: string | null;
  status: string;
  receivedAt: string;
}

/** A line the inventory matched with one of its variants, and that variant's stock. */
export interface ResolvedLine {
  lineItemId: ShopifyId;
  variantId: ShopifyId;
  productId: ShopifyId;
  sku: string;
  availableQuantity: number;
}

export interface Resolution {
  existingOrder: ExistingOrder | null;
  resolved: ResolvedLine[];
  unresolved: Array<{ lineItemId: ShopifyId; productId: ShopifyId; variantId: ShopifyId | null; sku: string }>;
}

/** A line as the commit takes it: `variantId` set only where the line reserves stock. */
export interface CommitLine {
  lineItemId: ShopifyId;
  productId: ShopifyId | null;
  variantId: ShopifyId | null;
  sku: string;
  title: string;
  quantity: number;
  price: string;
}

export interface CommitRequest {
  order: OrderHeader & { webhookId: string; eventId: string | null };
  lines: CommitLine[];
}

/** Each call's timeout is the shorter of the client's own and what the webhook's answer deadline leaves. */
export interface CallOptions {
  deadline?: Deadline;
}

export interface DataApiClient {
  /** The order if it was already accepted, and the variant (with its stock) each stock line draws on: one round trip. */
  resolve(orderId: ShopifyId, lines: StockLine[], options?: CallOptions): Promise<Resolution>;
  commitOrder(request: CommitRequest, options?: CallOptions): Promise<CommitOutcome>;
  /** For readiness: resolves when the data-api process answers. */
  ping(): Promise<void>;
}

export interface DataApiClientOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
}

/** The variants the commit found gone (removed since the intake resolved them), as the order's lines name them. */
function goneVariants(request: CommitRequest, variantIds: unknown): UnknownVariant[] {
  const gone = new Set(Array.isArray(variantIds) ? variantIds : []);
  const lines = request.lines.filter((l) => l.variantId !== null && gone.has(l.variantId));
  return lines.map((l) => ({ productId: l.productId!, variantId: l.variantId, sku: l.sku }));
}

export function createDataApiClient(options: DataApiClientOptions): DataApiClient {
  const call = dataApiCall(options);
  return {
    async resolve(orderId, lines, callOptions) {
      const body = {
        orderId,
        lines: lines.map(({ lineItemId, productId, variantId, sku }) => ({ lineItemId, productId, variantId, sku })),
      };
      const { status, json } = await call('POST', '/internal/variants/resolve', body, callOptions);
      if (status !== 200) throw unexpected('POST /internal/variants/resolve', status, json);
      return json as unknown as Resolution;
    },

    async commitOrder(request, callOptions) {
      const { status, json } = await call('POST', '/internal/orders', request, callOptions);
      return commitOutcome(request, status, json);
    },

    async ping() {
      const { status } = await httpRequest(`${baseOf(options)}/health/live`, { timeoutMs: options.timeoutMs });
      if (status !== 200) throw new Error(`answered ${status}`);
    },
  };
}

const baseOf = (options: DataApiClientOptions) => options.baseUrl.replace(/\/+$/, '');

type DataApiCall = (
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  callOptions?: CallOptions,
) => Promise<{ status: number; json: Record<string, unknown> }>;

/** One JSON call: no answer, a 5xx or a body that is not JSON is DataApiUnavailableError; any other answer is returned. */
function dataApiCall(options: DataApiClientOptions): DataApiCall {
  const base = baseOf(options);
  return async (method, path, body, { deadline } = {}) => {
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
  };
}

/** The commit's answer as its outcome (docs/spec.md section 2); an answer outside them is thrown. */
function commitOutcome(request: CommitRequest, status: number, json: Record<string, unknown>): CommitOutcome {
  if (status === 201) return { kind: 'committed' };
  if (status === 409) {
    const text = (value: unknown) => (typeof value === 'string' ? value : null);
    return { kind: 'already_exists', existingWebhookId: text(json.existingWebhookId), existingEventId: text(json.existingEventId) };
  }
  if (status === 422 && json.code === 'INSUFFICIENT_INVENTORY') return insufficientInventory((json.items as Shortage[]) ?? [], 'There is');
  if (status === 422 && json.code === 'PRODUCT_NOT_FOUND') return productNotFound(goneVariants(request, json.variantIds), 'in inventory');
  if (status === 400 && json.code === 'INVALID_PAYLOAD') {
    const detail = typeof json.detail === 'string' ? json.detail : 'The order failed validation.';
    return { kind: 'invalid_payload', errors: (json.errors as FieldError[]) ?? [], detail };
  }
  throw unexpected('POST /internal/orders', status, json);
}

/** A 4xx is the data-api's own verdict on the request; anything else outside the contract is its failure. */
function unexpected(what: string, status: number, json: Record<string, unknown>): Error {
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
}

import { headerValue, type HttpAnswer } from '@oms/common';
import { retryAfterMs } from '../domain/throttle.js';
import { ShopifyCallError, type ShopifyUserError, STALE_COMPARE } from './shopify-call.js';

/** Pure readings of Shopify's answers: each a payload, or the failure it stands for. */

export type MutationField = 'inventorySetQuantities' | 'inventoryAdjustQuantities';

type MutationData = Partial<Record<MutationField, { inventoryAdjustmentGroup?: unknown; userErrors?: ShopifyUserError[] } | null>>;

export interface GraphqlResponse {
  data?: unknown;
  errors?: Array<{ message?: string; extensions?: { code?: string } }>;
  extensions?: unknown;
}

/** Pure: an HTTP answer as a GraphQL body, or the failure it is for the retry policy (with a 429's wait). */
export function readHttp(
  response: HttpAnswer,
  retryAfterCapMs: number,
  now: number,
): { body: GraphqlResponse } | { error: ShopifyCallError; retryAt?: number } {
  const { text, status } = response;
  if (status === 429) {
    const retryAfter = headerValue(response.headers['retry-after']);
    const wait = retryAfterMs(retryAfter, now, retryAfterCapMs);
    return {
      error: new ShopifyCallError('http_429', `HTTP 429 (Retry-After ${retryAfter ?? 'absent'})`, true),
      retryAt: wait === undefined ? undefined : now + wait,
    };
  }
  if (status >= 500) return { error: new ShopifyCallError('http_5xx', `HTTP ${status}`, true) };
  if (status < 200 || status > 299) return { error: new ShopifyCallError('http_4xx', `HTTP ${status}: ${text.slice(0, 200)}`, false) };
  try {
    return { body: JSON.parse(text) as GraphqlResponse };
  } catch {
    return { error: new ShopifyCallError('invalid_response', 'the answer is not JSON', true) };
  }
}

/** Pure: the failure a GraphQL body's top-level `errors` stand for, if any (THROTTLED is retried). */
export function graphqlFailure(body: GraphqlResponse): ShopifyCallError | undefined {
  if (!body.errors?.length) return undefined;
  const throttled = body.errors.some((e) => e.extensions?.code === 'THROTTLED');
  const messages = body.errors.map((e) => `${e.extensions?.code ?? 'ERROR'}: ${e.message ?? ''}`).join('; ');
  return throttled ? new ShopifyCallError('throttled', messages, true) : new ShopifyCallError('graphql_errors', messages, false);
}

/** Pure: a mutation's payload, or its userErrors as a failure (a stale compare-and-set is not retried). */
export const readMutation =
  (field: MutationField) =>
  (body: GraphqlResponse): { inventoryAdjustmentGroup: unknown } => {
    const payload = (body.data as MutationData | null | undefined)?.[field];
    if (!payload) throw new ShopifyCallError('invalid_response', `no ${field} in the answer`, true);
    if (payload.userErrors?.length) {
      const messages = payload.userErrors.map((e) => `${e.code ?? 'ERROR'} ${JSON.stringify(e.field ?? [])}: ${e.message}`).join('; ');
      const stale = payload.userErrors.every((e) => e.code === STALE_COMPARE);
      throw new ShopifyCallError('user_errors', messages, !stale, payload.userErrors);
    }
    return { inventoryAdjustmentGroup: payload.inventoryAdjustmentGroup ?? null };
  };

export const readQuery = (body: GraphqlResponse): unknown => {
  if (!body.data) throw new ShopifyCallError('invalid_response', 'no data in the answer', true);
  return body.data;
};

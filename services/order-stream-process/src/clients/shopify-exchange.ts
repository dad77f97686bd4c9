import { type HttpAnswer, httpRequest, isTimeout } from '@oms/common';
import type { MutationRequest } from '../domain/mutation.js';
import { graphqlFailure, type GraphqlResponse, readHttp } from './shopify-answer.js';
import { type GraphqlQuery, ShopifyCallError, type ShopifyClientMetrics } from './shopify-call.js';
import { type Pacer, shapeOf } from './shopify-pacer.js';
import { type AccessTokenSource, TokenGrantError } from './shopify-token.js';

export interface ExchangeDeps {
  endpoint: string;
  tokens: AccessTokenSource;
  timeoutMs: number;
  retryAfterCapMs: number;
  pacer: Pacer;
  metrics: ShopifyClientMetrics;
}

/** One HTTP exchange: the answer's payload, or the failure classified for the retry policy. */
export type Exchange = <T>(
  request: MutationRequest | GraphqlQuery,
  signal: AbortSignal | undefined,
  readPayload: (body: GraphqlResponse) => T,
) => Promise<T>;

const headersWith = (token: string) => ({
  'content-type': 'application/json',
  accept: 'application/json',
  'x-shopify-access-token': token,
});

/** One POST with the token of the moment; a failure to get a token or an answer is thrown classified. */
async function send(deps: ExchangeDeps, body: string, signal: AbortSignal | undefined): Promise<{ response: HttpAnswer; token: string }> {
  const { endpoint, tokens, timeoutMs } = deps;
  let token: string;
  try {
    token = await tokens.token(signal);
  } catch (err) {
    if (signal?.aborted || !(err instanceof TokenGrantError)) throw err;
    throw new ShopifyCallError('token_grant', err.message, err.retryable);
  }
  try {
    return { response: await httpRequest(endpoint, { method: 'POST', headers: headersWith(token), body, timeoutMs, signal }), token };
  } catch (err) {
    if (signal?.aborted) throw err;
    const cause = err instanceof Error ? ((err.cause as Error)?.message ?? err.message) : String(err);
    throw isTimeout(err)
      ? new ShopifyCallError('timeout', `no answer within ${timeoutMs} ms`, true)
      : new ShopifyCallError('network_error', cause, true);
  }
}

/** The answer to the request, sent again at once (once: Shopify applied nothing) when an expired or revoked token earned a 401. */
async function post(deps: ExchangeDeps, body: string, signal: AbortSignal | undefined): Promise<HttpAnswer> {
  let sent = await send(deps, body, signal);
  if (sent.response.status === 401 && deps.tokens.rejected(sent.token)) sent = await send(deps, body, signal);
  return sent.response;
}

export function createExchange(deps: ExchangeDeps): Exchange {
  const { pacer, metrics, retryAfterCapMs } = deps;
  return async function exchange<T>(
    request: MutationRequest | GraphqlQuery,
    signal: AbortSignal | undefined,
    readPayload: (body: GraphqlResponse) => T,
  ): Promise<T> {
    const shape = shapeOf(request);
    await pacer.waitFor(shape, signal);
    const started = performance.now();
    const fail = (error: ShopifyCallError): never => {
      metrics.observeShopifyCall(error.outcome, (performance.now() - started) / 1000);
      throw error;
    };
    let response: HttpAnswer;
    try {
      response = await post(deps, JSON.stringify(request), signal);
    } catch (err) {
      if (err instanceof ShopifyCallError) return fail(err);
      throw err;
    }
    const answer = readHttp(response, retryAfterCapMs, Date.now());
    if ('error' in answer) {
      if (answer.retryAt !== undefined) pacer.holdUntil(answer.retryAt);
      return fail(answer.error);
    }
    pacer.observe(answer.body.extensions, shape);
    const failure = graphqlFailure(answer.body);
    if (failure) return fail(failure);
    try {
      const payload = readPayload(answer.body);
      metrics.observeShopifyCall('success', (performance.now() - started) / 1000);
      return payload;
    } catch (err) {
      if (err instanceof ShopifyCallError) return fail(err);
      throw err;
    }
  };
}

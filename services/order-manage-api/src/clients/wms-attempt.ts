import { type Deadline, type HttpAnswer, httpRequest, isTimeout } from '@oms/common';
import pRetry, { AbortError } from 'p-retry';

/** `deadline`: no answer within an attempt the answer deadline had cut shorter than WMS_TIMEOUT_MS. */
export type WmsCallOutcome = 'ok' | 'not_found' | 'server_error' | 'timeout' | 'deadline' | 'connection_error' | 'bad_response';

/** A failure a retry may heal: no answer, no connection, a 5xx or a 429. */
export class TransientWmsError extends Error {
  constructor(
    message: string,
    readonly outcome: WmsCallOutcome,
  ) {
    super(message);
    this.name = 'TransientWmsError';
  }
}

/** What an answer the WMS gave means: a value, or the error the attempt ends with. */
export type WmsVerdict<T> = { outcome: WmsCallOutcome; value: T } | { outcome: WmsCallOutcome; error: Error };

export interface WmsConnection {
  base: string;
  /** WMS_TIMEOUT_MS: an attempt cut shorter than this ran into the answer deadline, not the WMS's slowness. */
  timeoutMs: number;
  onCall: (outcome: WmsCallOutcome, seconds: number) => void;
}

export interface WmsRequest {
  path: string;
  headers: Record<string, string>;
}

export interface WmsRetryPolicy {
  timeoutMs: number;
  /** Total attempts. */
  attempts: number;
  /** First backoff; doubles after each failure. */
  backoffMs: number;
}

/**
 * One HTTP attempt, its outcome and duration reported to `onCall` once. No answer, a 5xx or a 429 is
 * transient; `judge` reads any other answer (the body is read within the same timeout).
 */
export async function attemptWms<T>(
  wms: WmsConnection,
  request: WmsRequest,
  attemptTimeoutMs: number,
  judge: (response: HttpAnswer) => WmsVerdict<T>,
): Promise<T> {
  const started = performance.now();
  const verdict = await verdictOf(wms, request, attemptTimeoutMs, judge);
  wms.onCall(verdict.outcome, (performance.now() - started) / 1000);
  if ('error' in verdict) throw verdict.error;
  return verdict.value;
}

async function verdictOf<T>(
  wms: WmsConnection,
  request: WmsRequest,
  attemptTimeoutMs: number,
  judge: (response: HttpAnswer) => WmsVerdict<T>,
): Promise<WmsVerdict<T>> {
  let response: HttpAnswer;
  try {
    response = await httpRequest(`${wms.base}${request.path}`, { headers: request.headers, timeoutMs: attemptTimeoutMs });
  } catch (err) {
    const outcome = !isTimeout(err) ? 'connection_error' : attemptTimeoutMs < wms.timeoutMs ? 'deadline' : 'timeout';
    const message = outcome === 'connection_error' ? 'cannot connect' : `no answer within ${attemptTimeoutMs} ms`;
    return { outcome, error: new TransientWmsError(message, outcome) };
  }
  // 429 is the WMS shedding load: as transient as a 5xx.
  if (response.status >= 500 || response.status === 429) {
    return { outcome: 'server_error', error: new TransientWmsError(`answered ${response.status}`, 'server_error') };
  }
  return judge(response);
}

/**
 * Attempts with a doubling, randomised backoff, each timed out at the shorter of WMS_TIMEOUT_MS and
 * what the deadline leaves; once the deadline has run out no attempt starts.
 */
export function retryWithinDeadline<T>(
  policy: WmsRetryPolicy,
  deadline: Deadline | undefined,
  noTimeLeft: string,
  attempt: (attemptTimeoutMs: number) => Promise<T>,
): Promise<T> {
  return pRetry(
    async () => {
      const attemptTimeoutMs = Math.min(policy.timeoutMs, deadline?.remainingMs() ?? Infinity);
      if (attemptTimeoutMs <= 0) throw new AbortError(noTimeLeft);
      return await attempt(attemptTimeoutMs);
    },
    { retries: policy.attempts - 1, minTimeout: policy.backoffMs, factor: 2, randomize: true },
  );
}

/** The body as JSON, or undefined when it is not JSON. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

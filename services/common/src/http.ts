import { Agent, type Dispatcher } from 'undici';

export function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

/** One keep-alive pool per process for the calls made on every order. */
const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 128 });

export interface HttpAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * A request whose whole exchange, body included, ends within `timeoutMs`; rejects as `isTimeout`
 * when it does not, and with the signal's reason when `signal` aborts first.
 *
 * It goes through undici's `dispatch` with a handler that keeps the answer's chunks, because every
 * answer here is a small JSON body read whole, which `request` would wrap in a stream and an
 * AbortSignal per call. The timer is cleared when the exchange ends: an `AbortSignal.timeout` would
 * still fire long after the answer and build its DOMException.
 */
export function httpRequest(
  url: string,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; timeoutMs: number; signal?: AbortSignal },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const { origin, pathname, search } = new URL(url);
    let controller: Dispatcher.DispatchController | undefined;
    let abortedWith: unknown;
    let settled = false;
    let answer: Omit<HttpAnswer, 'text'> = { status: 0, headers: {} };
    const chunks: Buffer[] = [];

    const settle = (err: unknown, text?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      init.signal?.removeEventListener('abort', callerAborted);
      if (text === undefined) reject(err);
      else resolve({ ...answer, text });
    };
    // Rejects at once; a request still waiting for a connection is dropped when it gets one.
    const abort = (reason: unknown) => {
      abortedWith = reason;
      controller?.abort(reason as Error);
      settle(reason);
    };
    const timer = setTimeout(() => abort(new DOMException(`no answer within ${init.timeoutMs} ms`, 'TimeoutError')), init.timeoutMs);
    const callerAborted = () => abort(init.signal!.reason);
    if (init.signal?.aborted) return callerAborted();
    init.signal?.addEventListener('abort', callerAborted, { once: true });

    dispatcher.dispatch(
      { origin, path: pathname + search, method: init.method ?? 'GET', headers: init.headers, body: init.body },
      {
        onRequestStart(started) {
          controller = started;
          if (abortedWith !== undefined) started.abort(abortedWith as Error);
        },
        onResponseStart(_controller, status, headers) {
          answer = { status, headers: headers as HttpAnswer['headers'] };
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          settle(undefined, chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
        },
        onResponseError(_controller, err) {
          settle(err);
        },
      },
    );
  });
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A point in time that every step of one request shares, so their timeouts add up to one budget. */
export interface Deadline {
  remainingMs(): number;
}

export function deadlineIn(ms: number, now: () => number = performance.now.bind(performance)): Deadline {
  const end = now() + ms;
  return { remainingMs: () => Math.max(0, Math.floor(end - now())) };
}

import { type Deadline, type HttpAnswer, httpRequest, isTimeout } from '@oms/common';
import pRetry, { AbortError } from 'p-retry';

/** The warehouse knows its items by SKU (docs/spec.md section 3). */
export interface WmsInventory {
  sku: string;
  availableQuantity: number;
}

/**
 * The WMS could not answer a check: its attempts failed (timeout, connection error, 5xx), its answer
 * was unusable, or the answer deadline ran out first. `wmsFailed` tells the WMS's own failures from
 * a budget our load cut short: only those are evidence for holding WMS calls.
 */
export class WmsUnavailableError extends Error {
  constructor(
    readonly sku: string,
    readonly attempts: number,
    readonly wmsFailed: boolean,
    cause: unknown,
  ) {
    super(`WMS check of SKU ${sku} failed ${attempts} attempts: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'WmsUnavailableError';
  }
}

/** `deadline`: no answer within an attempt the answer deadline had cut shorter than WMS_TIMEOUT_MS. */
export type WmsCallOutcome = 'ok' | 'not_found' | 'server_error' | 'timeout' | 'deadline' | 'connection_error' | 'bad_response';

export interface WmsClientOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
  /** Total attempts per check, docs/spec.md section 3: 3. */
  attempts?: number;
  /** First backoff; doubles after each failure. Short: Shopify waits at most 5 s for the whole webhook. */
  backoffMs?: number;
  /** Called once per HTTP attempt, for metrics. */
  onCall?: (outcome: WmsCallOutcome, seconds: number) => void;
}

/** One SKU of the WMS list (docs/spec.md section 3): the same object as the per-SKU answer. */
export interface WmsListItem extends WmsInventory {
  reservedQuantity?: number;
  totalQuantity?: number;
  locationId?: string;
  lastUpdated?: string;
}

export interface WmsInventoryPage {
  items: WmsListItem[];
  /** null on the last page. */
  nextCursor: string | null;
}

/** A page of the WMS list could not be read: its attempts failed, or its answer was unusable. */
export class WmsListUnavailableError extends Error {
  constructor(
    readonly cursor: string | null,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(
      `WMS list page ${cursor === null ? '(first)' : `at cursor ${cursor}`} failed ${attempts} attempts: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'WmsListUnavailableError';
  }
}

export interface WmsClient {
  /**
   * The SKU's stock as the WMS sees it; null when the WMS does not know the SKU. With a deadline,
   * attempts and backoff stop when it comes: each attempt's timeout is cut to what is left.
   */
  checkInventory(sku: string, options?: { deadline?: Deadline }): Promise<WmsInventory | null>;
}

/** The WMS list (the catalogue import and the stock sync read it); apart so an order-only fake need not serve it. */
export interface WmsListClient {
  /**
   * One page of every SKU the warehouse holds, `GET /api/v1/inventory?cursor=&limit=` (docs/spec.md
   * section 3): the same timeout, attempts and backoff as `checkInventory`. Start with cursor null
   * (or omitted) and follow `nextCursor` until it is null. Throws WmsListUnavailableError.
   */
  listInventory(options?: { cursor?: string | null; limit?: number; deadline?: Deadline }): Promise<WmsInventoryPage>;
}

class TransientWmsError extends Error {
  constructor(
    message: string,
    readonly outcome: WmsCallOutcome,
  ) {
    super(message);
    this.name = 'TransientWmsError';
  }
}

export function createWmsClient(options: WmsClientOptions): WmsClient & WmsListClient {
  const { baseUrl, apiKey, timeoutMs, attempts = 3, backoffMs = 50, onCall = () => undefined } = options;
  const base = baseUrl.replace(/\/+$/, '');

  async function attempt(sku: string, attemptTimeoutMs: number): Promise<WmsInventory | null> {
    const started = performance.now();
    const done = (outcome: WmsCallOutcome) => onCall(outcome, (performance.now() - started) / 1000);
    let response: HttpAnswer;
    try {
      // The body is read within the same timeout: one cut off by it is as transient as no answer.
      response = await httpRequest(`${base}/api/v1/inventory/${encodeURIComponent(sku)}`, {
        // A WMS answer is a few hundred bytes: compressing it costs both sides more CPU than it saves.
        headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json', 'accept-encoding': 'identity' },
        timeoutMs: attemptTimeoutMs,
      });
    } catch (err) {
      const outcome = !isTimeout(err) ? 'connection_error' : attemptTimeoutMs < timeoutMs ? 'deadline' : 'timeout';
      done(outcome);
      throw new TransientWmsError(outcome === 'connection_error' ? 'cannot connect' : `no answer within ${attemptTimeoutMs} ms`, outcome);
    }
    if (response.status === 404) {
      done('not_found');
      return null;
    }
    // 429 is the WMS shedding load: as transient as a 5xx.
    if (response.status >= 500 || response.status === 429) {
      done('server_error');
      throw new TransientWmsError(`answered ${response.status}`, 'server_error');
    }
    if (response.status < 200 || response.status >= 300) {
      done('bad_response');
      // Any other 4xx (our key refused, say) will not heal on a retry.
      throw new AbortError(`WMS answered ${response.status} for SKU ${sku}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      body = undefined;
    }
    const available = (body as { availableQuantity?: unknown } | undefined)?.availableQuantity;
    if (typeof available !== 'number' || !Number.isInteger(available)) {
      done('bad_response');
      throw new AbortError(`WMS answered without a usable availableQuantity for SKU ${sku}`);
    }
    done('ok');
    return { sku, availableQuantity: available };
  }

  async function listAttempt(cursor: string | null, limit: number | undefined, attemptTimeoutMs: number): Promise<WmsInventoryPage> {
    const started = performance.now();
    const done = (outcome: WmsCallOutcome) => onCall(outcome, (performance.now() - started) / 1000);
    const query = new URLSearchParams();
    if (cursor !== null) query.set('cursor', cursor);
    if (limit !== undefined) query.set('limit', String(limit));
    const search = query.size > 0 ? `?${query.toString()}` : '';
    let response: HttpAnswer;
    try {
      response = await httpRequest(`${base}/api/v1/inventory${search}`, {
        headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
        timeoutMs: attemptTimeoutMs,
      });
    } catch (err) {
      const outcome = !isTimeout(err) ? 'connection_error' : attemptTimeoutMs < timeoutMs ? 'deadline' : 'timeout';
      done(outcome);
      throw new TransientWmsError(outcome === 'connection_error' ? 'cannot connect' : `no answer within ${attemptTimeoutMs} ms`, outcome);
    }
    if (response.status >= 500 || response.status === 429) {
      done('server_error');
      throw new TransientWmsError(`answered ${response.status}`, 'server_error');
    }
    if (response.status < 200 || response.status >= 300) {
      done('bad_response');
      throw new AbortError(`WMS list answered ${response.status}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      body = undefined;
    }
    const page = parseListPage(body);
    if (typeof page === 'string') {
      done('bad_response');
      throw new AbortError(`WMS list answered an unusable page: ${page}`);
    }
    done('ok');
    return page;
  }

  return {
    async listInventory({ cursor = null, limit, deadline } = {}) {
      let made = 0;
      try {
        return await pRetry(async () => {
          const attemptTimeoutMs = Math.min(timeoutMs, deadline?.remainingMs() ?? Infinity);
          if (attemptTimeoutMs <= 0) throw new AbortError('the deadline left no time for another attempt');
          made++;
          return await listAttempt(cursor, limit, attemptTimeoutMs);
        }, {
          retries: attempts - 1,
          minTimeout: backoffMs,
          factor: 2,
          randomize: true,
        });
      } catch (err) {
        throw new WmsListUnavailableError(cursor, made, err);
      }
    },

    async checkInventory(sku, { deadline } = {}) {
      let made = 0;
      let wmsFailed = false;
      try {
        return await pRetry(async () => {
          const attemptTimeoutMs = Math.min(timeoutMs, deadline?.remainingMs() ?? Infinity);
          if (attemptTimeoutMs <= 0) throw new AbortError('the answer deadline left no time for another attempt');
          made++;
          try {
            return await attempt(sku, attemptTimeoutMs);
          } catch (err) {
            if (!(err instanceof TransientWmsError) || err.outcome !== 'deadline') wmsFailed = true;
            throw err;
          }
        }, {
          retries: attempts - 1,
          minTimeout: backoffMs,
          factor: 2,
          randomize: true,
        });
      } catch (err) {
        throw new WmsUnavailableError(sku, made, wmsFailed, err);
      }
    },
  };
}

/** The page, or why it is unusable: every item needs a non-empty SKU and an integer availableQuantity. */
function parseListPage(body: unknown): WmsInventoryPage | string {
  if (typeof body !== 'object' || body === null) return 'not a JSON object';
  const { items, nextCursor } = body as { items?: unknown; nextCursor?: unknown };
  if (!Array.isArray(items)) return 'no items array';
  if (nextCursor !== null && nextCursor !== undefined && typeof nextCursor !== 'string' && typeof nextCursor !== 'number') {
    return 'nextCursor is neither a string nor null';
  }
  const parsed: WmsListItem[] = [];
  for (const [index, item] of items.entries()) {
    const { sku, availableQuantity } = (item ?? {}) as { sku?: unknown; availableQuantity?: unknown };
    if (typeof sku !== 'string' || sku.length === 0) return `item ${index} has no SKU`;
    if (typeof availableQuantity !== 'number' || !Number.isInteger(availableQuantity)) {
      return `item ${index} (${sku}) has no integer availableQuantity`;
    }
    parsed.push({ ...(item as WmsListItem), sku, availableQuantity });
  }
  return { items: parsed, nextCursor: nextCursor === null || nextCursor === undefined ? null : String(nextCursor) };
}

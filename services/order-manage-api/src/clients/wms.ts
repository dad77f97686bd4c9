import type { Deadline, HttpAnswer } from '@oms/common';
import { AbortError } from 'p-retry';
import {
  attemptWms,
  jsonOrUndefined,
  retryWithinDeadline,
  TransientWmsError,
  type WmsCallOutcome,
  type WmsConnection,
  type WmsRetryPolicy,
  type WmsVerdict,
} from './wms-attempt.js';

export type { WmsCallOutcome } from './wms-attempt.js';

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

export function createWmsClient(options: WmsClientOptions): WmsClient & WmsListClient {
  const { apiKey, timeoutMs, attempts = 3, backoffMs = 50, onCall = () => undefined } = options;
  const wms: WmsConnection = { base: options.baseUrl.replace(/\/+$/, ''), timeoutMs, onCall };
  const policy: WmsRetryPolicy = { timeoutMs, attempts, backoffMs };
  return {
    checkInventory: checkInventoryOf(wms, policy, apiKey),
    listInventory: listInventoryOf(wms, policy, apiKey),
  };
}

function checkInventoryOf(wms: WmsConnection, policy: WmsRetryPolicy, apiKey: string): WmsClient['checkInventory'] {
  return async (sku, { deadline } = {}) => {
    const request = {
      path: `/api/v1/inventory/${encodeURIComponent(sku)}`,
      // A WMS answer is a few hundred bytes: compressing it costs both sides more CPU than it saves.
      headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json', 'accept-encoding': 'identity' },
    };
    let made = 0;
    let wmsFailed = false;
    try {
      return await retryWithinDeadline(
        policy,
        deadline,
        'the answer deadline left no time for another attempt',
        async (attemptTimeoutMs) => {
          made++;
          try {
            return await attemptWms(wms, request, attemptTimeoutMs, (response) => readInventory(sku, response));
          } catch (err) {
            if (!(err instanceof TransientWmsError) || err.outcome !== 'deadline') wmsFailed = true;
            throw err;
          }
        },
      );
    } catch (err) {
      throw new WmsUnavailableError(sku, made, wmsFailed, err);
    }
  };
}

function listInventoryOf(wms: WmsConnection, policy: WmsRetryPolicy, apiKey: string): WmsListClient['listInventory'] {
  return async ({ cursor = null, limit, deadline } = {}) => {
    const query = new URLSearchParams();
    if (cursor !== null) query.set('cursor', cursor);
    if (limit !== undefined) query.set('limit', String(limit));
    const request = {
      path: `/api/v1/inventory${query.size > 0 ? `?${query.toString()}` : ''}`,
      headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
    };
    let made = 0;
    try {
      return await retryWithinDeadline(policy, deadline, 'the deadline left no time for another attempt', (attemptTimeoutMs) => {
        made++;
        return attemptWms(wms, request, attemptTimeoutMs, readListPage);
      });
    } catch (err) {
      throw new WmsListUnavailableError(cursor, made, err);
    }
  };
}

/** The per-SKU answer: 404 is a SKU the WMS does not know; a non-integer figure is unusable. */
function readInventory(sku: string, response: HttpAnswer): WmsVerdict<WmsInventory | null> {
  if (response.status === 404) return { outcome: 'not_found', value: null };
  if (response.status < 200 || response.status >= 300) {
    // Any other 4xx (our key refused, say) will not heal on a retry.
    return { outcome: 'bad_response', error: new AbortError(`WMS answered ${response.status} for SKU ${sku}`) };
  }
  const available = (jsonOrUndefined(response.text) as { availableQuantity?: unknown } | undefined)?.availableQuantity;
  if (typeof available !== 'number' || !Number.isInteger(available)) {
    return { outcome: 'bad_response', error: new AbortError(`WMS answered without a usable availableQuantity for SKU ${sku}`) };
  }
  return { outcome: 'ok', value: { sku, availableQuantity: available } };
}

function readListPage(response: HttpAnswer): WmsVerdict<WmsInventoryPage> {
  if (response.status < 200 || response.status >= 300) {
    return { outcome: 'bad_response', error: new AbortError(`WMS list answered ${response.status}`) };
  }
  const page = parseListPage(jsonOrUndefined(response.text));
  if (typeof page === 'string') return { outcome: 'bad_response', error: new AbortError(`WMS list answered an unusable page: ${page}`) };
  return { outcome: 'ok', value: page };
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

import { httpRequest, isTimeout, type ShopifyId } from '@oms/common';
import pRetry, { AbortError } from 'p-retry';

/** A variant whose stock differed from the WMS's figure, as the data-api answers. */
export interface WmsDifference {
  variantId: ShopifyId;
  sku: string;
  before: number;
  wms: number;
  delta: number;
  /** The movement written; null in a dry run. */
  movementId: string | null;
}

/** The data-api's answer to one page of the stock sync. */
export interface WmsSyncPageResult {
  changed: WmsDifference[];
  unchanged: number;
  alreadySynced: Array<{ variantId: ShopifyId; sku: string }>;
  unknownSkus: string[];
}

export interface WmsSyncPage {
  runId: string;
  dryRun: boolean;
  items: Array<{ sku: string; availableQuantity: number }>;
}

export interface InventoryVariant {
  variantId: ShopifyId;
  sku: string;
  availableQuantity: number;
}

/** The data-api's side of the stock sync (docs/spec.md section 10). */
export interface WmsSyncDataApi {
  /** Brings each known variant of the page to the WMS's figure (or, in a dry run, only says which differ). */
  syncPage(page: WmsSyncPage): Promise<WmsSyncPageResult>;
  /** Every variant of the inventory, paged by variant id. */
  inventory(): AsyncGenerator<InventoryVariant>;
}

export interface WmsSyncDataApiOptions {
  baseUrl: string;
  token: string;
  /** Per call. */
  timeoutMs: number;
}

/** The data-api failed transiently (no answer, 5xx): the call is made again, which the sync's keys make safe. */
class TransientDataApiError extends Error {}

export function createWmsSyncDataApi(options: WmsSyncDataApiOptions): WmsSyncDataApi {
  const call = retryingCall(options);
  return {
    syncPage: (page) => call<WmsSyncPageResult>('/internal/inventory/wms-sync', { method: 'POST', body: page }),
    async *inventory() {
      let after: string | null = null;
      do {
        const query: string = after === null ? '' : `&after=${after}`;
        const page: { items: InventoryVariant[]; nextAfter: string | null } = await call(`/internal/inventory?limit=500${query}`, {
          method: 'GET',
        });
        yield* page.items;
        after = page.nextAfter;
      } while (after !== null);
    },
  };
}

/** A JSON call to the data-api, made again (up to 3 in all) while it fails transiently. */
function retryingCall({ baseUrl, token, timeoutMs }: WmsSyncDataApiOptions) {
  const base = baseUrl.replace(/\/+$/, '');
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' };
  return <T>(path: string, init: { method: 'GET' | 'POST'; body?: unknown }): Promise<T> =>
    pRetry(
      async () => {
        let answer;
        try {
          answer = await httpRequest(`${base}${path}`, {
            method: init.method,
            headers,
            body: init.body === undefined ? undefined : JSON.stringify(init.body),
            timeoutMs,
          });
        } catch (err) {
          throw new TransientDataApiError(
            isTimeout(err) ? `no answer within ${timeoutMs} ms` : `cannot connect: ${(err as Error).message}`,
          );
        }
        if (answer.status >= 500 || answer.status === 429) throw new TransientDataApiError(`answered ${answer.status}`);
        if (answer.status !== 200)
          throw new AbortError(`order-manage-data-api answered ${answer.status} to ${init.method} ${path}: ${answer.text.slice(0, 500)}`);
        return JSON.parse(answer.text) as T;
      },
      { retries: 2, minTimeout: 200, factor: 2 },
    );
}

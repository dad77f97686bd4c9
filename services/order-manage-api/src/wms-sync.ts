import { randomBytes } from 'node:crypto';
import { httpRequest, isTimeout, type Logger, type ShopifyId } from '@oms/common';
import pRetry, { AbortError } from 'p-retry';
import type { WmsListClient, WmsListItem } from './clients/wms.js';

/**
 * The stock sync (docs/spec.md section 10): pages through the WMS list and sends each page to the
 * data-api, which brings every known variant whose stock differs to the WMS's `availableQuantity`
 * with one `wms_sync` movement (under its row lock; the stream then sends the delta to Shopify).
 * Run by `npm run stock -- sync-wms` and, every WMS_SYNC_INTERVAL_MS, by order-manage-api.
 */

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

interface PageResult {
  changed: WmsDifference[];
  unchanged: number;
  alreadySynced: Array<{ variantId: ShopifyId; sku: string }>;
  unknownSkus: string[];
}

export interface WmsSyncReport {
  runId: string;
  dryRun: boolean;
  pages: number;
  /** Items the WMS listed. */
  listed: number;
  changed: WmsDifference[];
  unchanged: number;
  /** Variants this run had synced already (a page resent after a lost answer). */
  alreadySynced: Array<{ variantId: ShopifyId; sku: string }>;
  /** SKUs the WMS lists and the inventory does not hold: never inserted (the catalogue import adds variants). */
  unknownSkus: string[];
  /** A SKU listed twice: the first figure counts. */
  duplicateSkus: string[];
  /** Items with a figure no stock can have (below zero, too large): left alone. */
  invalid: Array<{ sku: string; availableQuantity: number }>;
  /** Variants of the inventory the WMS list does not name: left alone. */
  absent: Array<{ variantId: ShopifyId; sku: string; availableQuantity: number }>;
  durationMs: number;
}

export interface WmsSyncDeps {
  wms: WmsListClient;
  dataApiUrl: string;
  token: string;
  /** Per data-api call. */
  timeoutMs?: number;
  logger?: Logger;
}

export interface WmsSyncRunOptions {
  dryRun?: boolean;
  runId?: string;
  /** Items per WMS page (and so per data-api call), at most 500. */
  pageSize?: number;
  onPage?: (page: PageResult & { page: number }) => void;
}

export interface WmsSync {
  run(options?: WmsSyncRunOptions): Promise<WmsSyncReport>;
}

const MAX_STOCK = 2_147_483_647;
export const DEFAULT_WMS_SYNC_PAGE_SIZE = 200;

export const newRunId = (now = new Date()) => `wms-${now.toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;

/** The data-api failed transiently (no answer, 5xx): the page is sent again, which its keys make safe. */
class TransientDataApiError extends Error {}

export function createWmsSync(deps: WmsSyncDeps): WmsSync {
  const base = deps.dataApiUrl.replace(/\/+$/, '');
  const timeoutMs = deps.timeoutMs ?? 30_000;
  const headers = { authorization: `Bearer ${deps.token}`, 'content-type': 'application/json', accept: 'application/json' };

  async function call<T>(path: string, init: { method: 'GET' | 'POST'; body?: unknown }): Promise<T> {
    return pRetry(
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
          throw new TransientDataApiError(isTimeout(err) ? `no answer within ${timeoutMs} ms` : `cannot connect: ${(err as Error).message}`);
        }
        if (answer.status >= 500 || answer.status === 429) throw new TransientDataApiError(`answered ${answer.status}`);
        if (answer.status !== 200) throw new AbortError(`order-manage-data-api answered ${answer.status} to ${init.method} ${path}: ${answer.text.slice(0, 500)}`);
        return JSON.parse(answer.text) as T;
      },
      { retries: 2, minTimeout: 200, factor: 2 },
    );
  }

  /** Every variant of the inventory, paged by variant id: to name those the WMS did not list. */
  async function* inventory(): AsyncGenerator<{ variantId: ShopifyId; sku: string; availableQuantity: number }> {
    let after: string | null = null;
    do {
      const query: string = after === null ? '' : `&after=${after}`;
      const page: { items: Array<{ variantId: ShopifyId; sku: string; availableQuantity: number }>; nextAfter: string | null } = await call(
        `/internal/inventory?limit=500${query}`,
        { method: 'GET' },
      );
      yield* page.items;
      after = page.nextAfter;
    } while (after !== null);
  }

  return {
    async run(options = {}) {
      const started = performance.now();
      const dryRun = options.dryRun ?? false;
      const runId = options.runId ?? newRunId();
      const pageSize = Math.min(options.pageSize ?? DEFAULT_WMS_SYNC_PAGE_SIZE, 500);
      const report: WmsSyncReport = {
        runId,
        dryRun,
        pages: 0,
        listed: 0,
        changed: [],
        unchanged: 0,
        alreadySynced: [],
        unknownSkus: [],
        duplicateSkus: [],
        invalid: [],
        absent: [],
        durationMs: 0,
      };
      const seen = new Set<string>();
      let cursor: string | null = null;
      do {
        const page: { items: WmsListItem[]; nextCursor: string | null } = await deps.wms.listInventory({ cursor, limit: pageSize });
        report.pages++;
        report.listed += page.items.length;
        const items: Array<{ sku: string; availableQuantity: number }> = [];
        for (const item of page.items) {
          if (seen.has(item.sku)) {
            report.duplicateSkus.push(item.sku);
            continue;
          }
          seen.add(item.sku);
          if (item.availableQuantity < 0 || item.availableQuantity > MAX_STOCK) report.invalid.push({ sku: item.sku, availableQuantity: item.availableQuantity });
          else items.push({ sku: item.sku, availableQuantity: item.availableQuantity });
        }
        if (items.length > 0) {
          const result = await call<PageResult>('/internal/inventory/wms-sync', { method: 'POST', body: { runId, dryRun, items } });
          report.changed.push(...result.changed);
          report.unchanged += result.unchanged;
          report.alreadySynced.push(...result.alreadySynced);
          report.unknownSkus.push(...result.unknownSkus);
          options.onPage?.({ ...result, page: report.pages });
        }
        if (page.nextCursor !== null && page.nextCursor === cursor) throw new Error(`the WMS list answered the same cursor ${cursor} again`);
        cursor = page.nextCursor;
      } while (cursor !== null);

      for await (const variant of inventory()) if (!seen.has(variant.sku)) report.absent.push(variant);
      report.durationMs = performance.now() - started;
      deps.logger?.info(
        `wms sync ${runId}${dryRun ? ' (dry run)' : ''}: ${report.listed} listed, ${report.changed.length} ${dryRun ? 'differ' : 'changed'}, ` +
          `${report.unchanged} equal, ${report.unknownSkus.length} unknown SKU(s), ${report.absent.length} variant(s) not listed`,
        {
          event: 'wms.sync.completed',
          runId,
          dryRun,
          listed: report.listed,
          changed: report.changed.length,
          unchanged: report.unchanged,
          unknownSkus: report.unknownSkus.length,
          absent: report.absent.length,
          durationMs: Math.round(report.durationMs),
        },
      );
      return report;
    },
  };
}

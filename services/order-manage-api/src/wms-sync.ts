import { randomBytes } from 'node:crypto';
import type { Logger, ShopifyId } from '@oms/common';
import type { WmsInventoryPage, WmsListClient, WmsListItem } from './clients/wms.js';
import { createWmsSyncDataApi, type WmsDifference, type WmsSyncPage, type WmsSyncPageResult } from './clients/wms-sync-data-api.js';

export type { WmsDifference } from './clients/wms-sync-data-api.js';

/**
 * The stock sync (docs/spec.md section 10): pages through the WMS list and sends each page to the
 * data-api, which brings every known variant whose stock differs to the WMS's `availableQuantity`
 * with one `wms_sync` movement (under its row lock; the stream then sends the delta to Shopify).
 * Run by `npm run stock -- sync-wms` and, every WMS_SYNC_INTERVAL_MS, by order-manage-api.
 */

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
  onPage?: (page: WmsSyncPageResult & { page: number }) => void;
}

export interface WmsSync {
  run(options?: WmsSyncRunOptions): Promise<WmsSyncReport>;
}

const MAX_STOCK = 2_147_483_647;
export const DEFAULT_WMS_SYNC_PAGE_SIZE = 200;

export const newRunId = (now = new Date()) => `wms-${now.toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;

export function createWmsSync(deps: WmsSyncDeps): WmsSync {
  const dataApi = createWmsSyncDataApi({ baseUrl: deps.dataApiUrl, token: deps.token, timeoutMs: deps.timeoutMs ?? 30_000 });
  return {
    async run(options = {}) {
      const started = performance.now();
      const report = emptyReport(options.runId ?? newRunId(), options.dryRun ?? false);
      const pageSize = Math.min(options.pageSize ?? DEFAULT_WMS_SYNC_PAGE_SIZE, 500);
      const seen = new Set<string>();
      for await (const page of wmsPages(deps.wms, pageSize)) {
        report.pages++;
        report.listed += page.items.length;
        const items = screen(page.items, seen, report);
        if (items.length > 0) {
          const result = await dataApi.syncPage({ runId: report.runId, dryRun: report.dryRun, items });
          addPageResult(report, result);
          options.onPage?.({ ...result, page: report.pages });
        }
      }
      for await (const variant of dataApi.inventory()) if (!seen.has(variant.sku)) report.absent.push(variant);
      report.durationMs = performance.now() - started;
      logCompleted(deps.logger, report);
      return report;
    },
  };
}

/** Every page of the WMS list, following `nextCursor`; a cursor answered twice in a row would loop forever. */
async function* wmsPages(wms: WmsListClient, pageSize: number): AsyncGenerator<WmsInventoryPage> {
  let cursor: string | null = null;
  do {
    const page: WmsInventoryPage = await wms.listInventory({ cursor, limit: pageSize });
    yield page;
    if (page.nextCursor !== null && page.nextCursor === cursor) throw new Error(`the WMS list answered the same cursor ${cursor} again`);
    cursor = page.nextCursor;
  } while (cursor !== null);
}

/** The page's items worth sending: a SKU seen before and a figure no stock can have are only reported. */
function screen(items: WmsListItem[], seen: Set<string>, report: WmsSyncReport): WmsSyncPage['items'] {
  const sendable: WmsSyncPage['items'] = [];
  for (const item of items) {
    if (seen.has(item.sku)) {
      report.duplicateSkus.push(item.sku);
      continue;
    }
    seen.add(item.sku);
    if (item.availableQuantity < 0 || item.availableQuantity > MAX_STOCK)
      report.invalid.push({ sku: item.sku, availableQuantity: item.availableQuantity });
    else sendable.push({ sku: item.sku, availableQuantity: item.availableQuantity });
  }
  return sendable;
}

function emptyReport(runId: string, dryRun: boolean): WmsSyncReport {
  return {
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
}

function addPageResult(report: WmsSyncReport, result: WmsSyncPageResult): void {
  report.changed.push(...result.changed);
  report.unchanged += result.unchanged;
  report.alreadySynced.push(...result.alreadySynced);
  report.unknownSkus.push(...result.unknownSkus);
}

function logCompleted(logger: Logger | undefined, report: WmsSyncReport): void {
  const { runId, dryRun } = report;
  logger?.info(
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
}

import { httpRequest, isShopifyId, isTimeout, type ShopifyId } from '@oms/common';

/** The database's stock of one variant, as order-manage-data-api reports it. */
export interface StockItem {
  variantId: ShopifyId;
  productId: ShopifyId;
  sku: string;
  inventoryItemId: ShopifyId;
  locationId: ShopifyId;
  availableQuantity: number;
  /** How many movements the variant has had: the inventoryVersion of its newest event. */
  version: number;
  updatedAt: string;
}

export class StockUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StockUnavailableError';
  }
}

/**
 * The database's stock, read through order-manage-data-api (GET /internal/inventory): the data-api
 * owns PostgreSQL, so the processor and reconciliation need no database credentials and see the
 * same rows the commits write.
 */
export interface StockSource {
  /** Every variant, or only `variantIds`, in pages by ascending variant id. */
  pages(options?: { variantIds?: ShopifyId[]; pageSize?: number }): AsyncGenerator<StockItem[]>;
  /** Today's rows of these variants, by variant id (one request per 500). */
  current(variantIds: ShopifyId[], options?: { signal?: AbortSignal }): Promise<Map<ShopifyId, StockItem>>;
  /** Readiness: the data-api answers at all. */
  ping(): Promise<void>;
}

export interface StockSourceOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
}

/** Keeps to the data-api's own bound on a page. */
export const MAX_STOCK_PAGE = 500;

function isStockItem(value: unknown): value is StockItem {
  const item = value as Partial<StockItem> | null;
  return (
    typeof item === 'object' &&
    item !== null &&
    isShopifyId(item.variantId) &&
    isShopifyId(item.inventoryItemId) &&
    isShopifyId(item.locationId) &&
    Number.isInteger(item.availableQuantity) &&
    Number.isInteger(item.version)
  );
}

/** One GET /internal/inventory, checked against its contract. */
async function page(
  options: StockSourceOptions,
  query: URLSearchParams,
  signal?: AbortSignal,
): Promise<{ items: StockItem[]; nextAfter: ShopifyId | null }> {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/internal/inventory?${query}`;
  let answer;
  try {
    answer = await httpRequest(url, {
      headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
      timeoutMs: options.timeoutMs,
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    const reason = isTimeout(err) ? `no answer within ${options.timeoutMs} ms` : `cannot connect (${(err as Error).message})`;
    throw new StockUnavailableError(`GET /internal/inventory: ${reason}`, { cause: err });
  }
  if (answer.status !== 200)
    throw new StockUnavailableError(`GET /internal/inventory answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  let body: { items?: unknown; nextAfter?: unknown };
  try {
    body = JSON.parse(answer.text) as typeof body;
  } catch {
    throw new StockUnavailableError('GET /internal/inventory answered something other than JSON');
  }
  if (!Array.isArray(body.items) || !body.items.every(isStockItem) || !(body.nextAfter === null || isShopifyId(body.nextAfter))) {
    throw new StockUnavailableError('GET /internal/inventory answered outside its contract');
  }
  return { items: body.items, nextAfter: body.nextAfter };
}

export function createStockSource(options: StockSourceOptions): StockSource {
  const base = options.baseUrl.replace(/\/+$/, '');

  return {
    async *pages({ variantIds, pageSize = 100 } = {}) {
      const limit = Math.min(pageSize, MAX_STOCK_PAGE);
      if (variantIds) {
        for (let i = 0; i < variantIds.length; i += limit) {
          const ids = variantIds.slice(i, i + limit);
          const { items } = await page(options, new URLSearchParams({ variantIds: ids.join(','), limit: String(limit) }));
          if (items.length > 0) yield items;
        }
        return;
      }
      let after: ShopifyId | null = null;
      do {
        const query = new URLSearchParams({ limit: String(limit) });
        if (after) query.set('after', after);
        const result = await page(options, query);
        if (result.items.length > 0) yield result.items;
        after = result.nextAfter;
      } while (after);
    },

    async current(variantIds, { signal } = {}) {
      const found = new Map<ShopifyId, StockItem>();
      const distinct = [...new Set(variantIds)];
      for (let i = 0; i < distinct.length; i += MAX_STOCK_PAGE) {
        const ids = distinct.slice(i, i + MAX_STOCK_PAGE);
        const { items } = await page(options, new URLSearchParams({ variantIds: ids.join(','), limit: String(MAX_STOCK_PAGE) }), signal);
        for (const item of items) found.set(item.variantId, item);
      }
      return found;
    },

    async ping() {
      const { status } = await httpRequest(`${base}/health/live`, { timeoutMs: Math.min(options.timeoutMs, 1_500) });
      if (status !== 200) throw new Error(`the data-api answered HTTP ${status}`);
    },
  };
}

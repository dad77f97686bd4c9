import { httpRequest, isShopifyId, isTimeout, type ShopifyId } from '@oms/common';

/** What Shopify should hold for one product, as order-manage-data-api reports it. */
export interface StockItem {
  productId: ShopifyId;
  sku: string;
  inventoryItemId: ShopifyId;
  locationId: ShopifyId;
  availableQuantity: number;
  version: number;
}

export class StockUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StockUnavailableError';
  }
}

/**
 * The database's stock, read through order-manage-data-api (GET /internal/inventory): the data-api
 * owns PostgreSQL, so reconciliation needs no database credentials and sees the same rows the
 * commit writes.
 */
export interface StockSource {
  /** Every product, or only `productIds`, in pages by ascending product id. */
  pages(options?: { productIds?: ShopifyId[]; pageSize?: number }): AsyncGenerator<StockItem[]>;
  /** Today's rows of these products (for the check just before a repair). */
  current(productIds: ShopifyId[]): Promise<Map<ShopifyId, StockItem>>;
}

export interface StockSourceOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
}

/** Keeps to the data-api's own bound on a page. */
export const MAX_STOCK_PAGE = 500;

export function createStockSource(options: StockSourceOptions): StockSource {
  const base = options.baseUrl.replace(/\/+$/, '');

  async function page(query: URLSearchParams): Promise<{ items: StockItem[]; nextAfter: ShopifyId | null }> {
    const url = `${base}/internal/inventory?${query}`;
    let answer;
    try {
      answer = await httpRequest(url, {
        headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
        timeoutMs: options.timeoutMs,
      });
    } catch (err) {
      const reason = isTimeout(err) ? `no answer within ${options.timeoutMs} ms` : `cannot connect (${(err as Error).message})`;
      throw new StockUnavailableError(`GET /internal/inventory: ${reason}`, { cause: err });
    }
    if (answer.status !== 200) throw new StockUnavailableError(`GET /internal/inventory answered ${answer.status}: ${answer.text.slice(0, 200)}`);
    const body = JSON.parse(answer.text) as { items: StockItem[]; nextAfter: ShopifyId | null };
    if (!Array.isArray(body.items) || !(body.nextAfter === null || isShopifyId(body.nextAfter))) {
      throw new StockUnavailableError('GET /internal/inventory answered outside its contract');
    }
    return body;
  }

  return {
    async *pages({ productIds, pageSize = 100 } = {}) {
      const limit = Math.min(pageSize, MAX_STOCK_PAGE);
      if (productIds) {
        for (let i = 0; i < productIds.length; i += limit) {
          const ids = productIds.slice(i, i + limit);
          const { items } = await page(new URLSearchParams({ productIds: ids.join(','), limit: String(limit) }));
          if (items.length > 0) yield items;
        }
        return;
      }
      let after: ShopifyId | null = null;
      do {
        const query = new URLSearchParams({ limit: String(limit) });
        if (after) query.set('after', after);
        const result = await page(query);
        if (result.items.length > 0) yield result.items;
        after = result.nextAfter;
      } while (after);
    },

    async current(productIds) {
      const found = new Map<ShopifyId, StockItem>();
      for await (const items of this.pages({ productIds, pageSize: MAX_STOCK_PAGE })) {
        for (const item of items) found.set(item.productId, item);
      }
      return found;
    },
  };
}

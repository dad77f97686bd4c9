import type { ShopifyId } from '@oms/common';
import type pg from 'pg';

/** What Shopify should hold for one variant: its quantity, where, and how new that figure is. */
export interface StockView {
  variantId: ShopifyId;
  productId: ShopifyId;
  sku: string;
  inventoryItemId: ShopifyId;
  locationId: ShopifyId;
  availableQuantity: number;
  version: number;
  updatedAt: string;
}

export interface StockQuery {
  /** Keyset paging by variant id: variants above this one. */
  after?: ShopifyId;
  /** Only these variants. */
  variantIds?: ShopifyId[];
  limit: number;
}

export async function listStock(pool: pg.Pool, query: StockQuery): Promise<{ items: StockView[]; nextAfter: ShopifyId | null }> {
  const { rows } = await pool.query<{
    variant_id: string;
    product_id: string;
    sku: string;
    shopify_inventory_item_id: string;
    shopify_location_id: string;
    available_quantity: number;
    version: number;
    updated_at: Date;
  }>({
    name: 'list-stock',
    text: `SELECT variant_id, product_id, sku, shopify_inventory_item_id, shopify_location_id, available_quantity, version, updated_at
             FROM inventory
            WHERE ($1::bigint IS NULL OR variant_id > $1)
              AND ($2::bigint[] IS NULL OR variant_id = ANY($2::bigint[]))
            ORDER BY variant_id
            LIMIT $3`,
    values: [query.after ?? null, query.variantIds ?? null, query.limit + 1],
  });
  const items = rows.slice(0, query.limit).map((r) => ({
    variantId: r.variant_id,
    productId: r.product_id,
    sku: r.sku,
    inventoryItemId: r.shopify_inventory_item_id,
    locationId: r.shopify_location_id,
    availableQuantity: r.available_quantity,
    version: r.version,
    updatedAt: r.updated_at.toISOString(),
  }));
  return { items, nextAfter: rows.length > query.limit ? items.at(-1)!.variantId : null };
}

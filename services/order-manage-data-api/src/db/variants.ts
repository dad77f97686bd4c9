import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import type { StockRow } from '../domain/commit.js';
import { type OrderView, orderView, type OrderRow } from './order-view.js';

/** A line item as Shopify sent it, to be matched with a variant of the inventory. */
export interface LineToResolve {
  lineItemId: ShopifyId;
  productId: ShopifyId;
  variantId: ShopifyId | null;
  sku: string;
}

/** A line's variant, with its stock. */
export interface LineVariant {
  variantId: ShopifyId;
  productId: ShopifyId;
  sku: string;
  availableQuantity: number;
}

type Nullable<T> = { [K in keyof T]: T[K] | null };

interface ResolutionRow extends Nullable<OrderRow> {
  n: string;
  variant_id: string | null;
  product_id: string | null;
  sku: string | null;
  available_quantity: number | null;
}

/**
 * docs/spec.md section 2.1: a line's variant is found by its variant_id; a line without one (a deleted
 * variant) by its SKU among its product's variants. One round trip, the order's row beside each line.
 * The variants come in the lines' order, null where none matched.
 */
export async function findLineVariants(
  pool: pg.Pool,
  orderId: ShopifyId | null,
  lines: LineToResolve[],
): Promise<{ existingOrder: OrderView | null; variants: Array<LineVariant | null> }> {
  const { rows } = await pool.query<ResolutionRow>({
    name: 'resolve-lines',
    text: `SELECT l.n::text, o.order_id, o.webhook_id, o.event_id, o.status, o.received_at,
                  v.variant_id::text, v.product_id::text, v.sku, v.available_quantity
             FROM unnest($2::bigint[], $3::bigint[], $4::text[]) WITH ORDINALITY AS l(product_id, variant_id, sku, n)
             LEFT JOIN orders o ON o.order_id = $1::bigint
             LEFT JOIN LATERAL (
               SELECT variant_id, product_id, sku, available_quantity FROM inventory WHERE variant_id = l.variant_id
               UNION ALL
               SELECT variant_id, product_id, sku, available_quantity FROM inventory
                WHERE l.variant_id IS NULL AND sku = l.sku AND product_id = l.product_id
             ) AS v ON true
            ORDER BY l.n`,
    values: [orderId, lines.map((l) => l.productId), lines.map((l) => l.variantId), lines.map((l) => l.sku)],
  });
  const first = rows[0];
  return {
    existingOrder: first && first.order_id !== null ? orderView(first as OrderRow) : null,
    variants: rows.map((r) =>
      r.variant_id === null
        ? null
        : { variantId: r.variant_id, productId: r.product_id!, sku: r.sku!, availableQuantity: r.available_quantity! },
    ),
  };
}

/** Today's stock of these variants (those that exist). */
export async function readStock(pool: pg.Pool, variantIds: ShopifyId[]): Promise<StockRow[]> {
  const { rows } = await pool.query<{ variant_id: string; sku: string; available_quantity: number }>({
    name: 'read-stock',
    text: 'SELECT variant_id::text, sku, available_quantity FROM inventory WHERE variant_id = ANY($1::bigint[]) ORDER BY variant_id',
    values: [variantIds],
  });
  return rows.map((r) => ({ variantId: r.variant_id, sku: r.sku, availableQuantity: r.available_quantity }));
}

import type { ShopifyId } from '@oms/common';
import type pg from 'pg';

/** A variant a WMS page names, with whether this run already wrote its movement. */
export interface SyncedVariant {
  variantId: ShopifyId;
  sku: string;
  availableQuantity: number;
  /** This run's `wms_sync` movement for the variant is in the ledger. */
  synced: boolean;
}

const VARIANTS_BY_SKU = `SELECT variant_id::text, sku, available_quantity,
                         EXISTS (SELECT 1 FROM inventory_movement m
                                  WHERE m.idempotency_key = 'wms_sync:' || $2::text || ':' || inventory.variant_id) AS synced
                    FROM inventory WHERE sku = ANY($1::text[]) ORDER BY variant_id`;

/**
 * The variants holding these SKUs, ascending variant id; `lock` takes their row locks, under which the
 * key check runs: every writer of this run's key for a variant holds its row first.
 */
export async function readWmsVariants(
  client: pg.Pool | pg.PoolClient,
  skus: string[],
  runId: string,
  lock: boolean,
): Promise<SyncedVariant[]> {
  const { rows } = await client.query<{ variant_id: string; sku: string; available_quantity: number; synced: boolean }>(
    lock ? `${VARIANTS_BY_SKU} FOR UPDATE OF inventory` : VARIANTS_BY_SKU,
    [skus, runId],
  );
  return rows.map((r) => ({ variantId: r.variant_id, sku: r.sku, availableQuantity: r.available_quantity, synced: r.synced }));
}

import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { type MovementRow, type MovementView, movementView } from './movement-writer.js';

/** A variant's figures as an adjustment found them (under its row lock) or left them. */
export interface UnchangedStock {
  variantId: ShopifyId;
  sku: string;
  availableQuantity: number;
  version: number;
}

/** What an earlier call with the key recorded: the movement it wrote, or the figures a `set` found equal. */
export interface RecordedAdjustment {
  /** The earlier call's request equals this one. */
  sameRequest: boolean;
  movement: MovementView | null;
  stock: UnchangedStock;
}

/**
 * Claims the key for this transaction: false when an earlier call holds it. A conflicting insert waits
 * for the transaction that holds the key, so false means that one committed.
 */
export async function claimKey(client: pg.PoolClient, key: string, request: Record<string, unknown>): Promise<boolean> {
  const claimed = await client.query(
    `INSERT INTO inventory_adjustment (key, request) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO NOTHING RETURNING key`,
    [key, JSON.stringify(request)],
  );
  return claimed.rowCount !== 0;
}

/** Null when the key is gone (its variant was deleted, and the key with it). */
export async function findAdjustment(
  client: pg.PoolClient,
  key: string,
  request: Record<string, unknown>,
): Promise<RecordedAdjustment | null> {
  const { rows } = await client.query<
    Partial<MovementRow> & {
      same: boolean;
      adjusted_variant_id: string;
      variant_sku: string | null;
      adjusted_available: number;
      adjusted_version: number;
    }
  >({
    text: `SELECT a.request = $2::jsonb AS same, a.variant_id::text AS adjusted_variant_id, v.sku AS variant_sku,
                  a.available_quantity AS adjusted_available, a.version AS adjusted_version,
                  m.id::text AS id, m.variant_id::text AS variant_id, v.sku, m.delta, m.reason, m.reference,
                  m.available_after, m.version_after, m.created_at
             FROM inventory_adjustment a
             LEFT JOIN inventory_movement m ON m.id = a.movement_id
             LEFT JOIN inventory v ON v.variant_id = a.variant_id
            WHERE a.key = $1`,
    values: [key, JSON.stringify(request)],
  });
  const row = rows[0];
  if (!row) return null;
  return {
    sameRequest: row.same,
    movement: row.id ? movementView(row as MovementRow) : null,
    stock: {
      variantId: row.adjusted_variant_id,
      sku: row.variant_sku ?? '',
      availableQuantity: row.adjusted_available,
      version: row.adjusted_version,
    },
  };
}

/** Locks the variant's row, named by exactly one of variant id or SKU; null when the inventory has no such variant. */
export async function lockVariant(client: pg.PoolClient, by: { variantId?: ShopifyId; sku?: string }): Promise<UnchangedStock | null> {
  const { rows } = await client.query<{ variant_id: string; sku: string; available_quantity: number; version: number }>(
    by.variantId !== undefined
      ? {
          text: 'SELECT variant_id::text, sku, available_quantity, version FROM inventory WHERE variant_id = $1 FOR UPDATE',
          values: [by.variantId],
        }
      : { text: 'SELECT variant_id::text, sku, available_quantity, version FROM inventory WHERE sku = $1 FOR UPDATE', values: [by.sku] },
  );
  const row = rows[0];
  return row ? { variantId: row.variant_id, sku: row.sku, availableQuantity: row.available_quantity, version: row.version } : null;
}

/** Records under the key what was done: the movement written, or (movementId null) the figures found already right. */
export async function recordAdjustment(
  client: pg.PoolClient,
  key: string,
  done: { variantId: ShopifyId; movementId: string | null; availableQuantity: number; version: number },
): Promise<void> {
  if (done.movementId === null) {
    await client.query('UPDATE inventory_adjustment SET variant_id = $2, available_quantity = $3, version = $4 WHERE key = $1', [
      key,
      done.variantId,
      done.availableQuantity,
      done.version,
    ]);
    return;
  }
  await client.query(
    'UPDATE inventory_adjustment SET variant_id = $2, movement_id = $3, available_quantity = $4, version = $5 WHERE key = $1',
    [key, done.variantId, done.movementId, done.availableQuantity, done.version],
  );
}

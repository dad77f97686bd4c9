import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { MAX_STOCK, type MovementRow, type MovementView, movementView, writeMovements } from './movement-writer.js';
import { inTransaction } from './pool.js';

/** docs/spec.md section 10: exactly one of sku / variantId, exactly one of delta / set. */
export interface AdjustmentRequest {
  sku?: string;
  variantId?: ShopifyId;
  delta?: number;
  set?: number;
  reason: 'restock' | 'correction';
  key: string;
}

/** The variant's figures when a `set` found them already equal: nothing was written. */
export interface UnchangedStock {
  variantId: ShopifyId;
  sku: string;
  availableQuantity: number;
  version: number;
}

export type AdjustmentOutcome =
  | { kind: 'adjusted'; movement: MovementView }
  | { kind: 'unchanged'; stock: UnchangedStock }
  /** The key was used before with the same request: what that call did. */
  | { kind: 'replayed'; movement: MovementView | null; stock: UnchangedStock | null }
  | { kind: 'key_reused'; key: string }
  | { kind: 'not_found' }
  | { kind: 'insufficient'; item: { variantId: ShopifyId; sku: string; requested: number; available: number } }
  | { kind: 'too_large'; variantId: ShopifyId; sku: string; available: number; delta: number };

/** What a reused key is compared by: the request as the caller named it, key order fixed. */
export function canonicalRequest(request: AdjustmentRequest): Record<string, unknown> {
  return {
    ...(request.sku !== undefined ? { sku: request.sku } : { variantId: request.variantId }),
    ...(request.delta !== undefined ? { delta: request.delta } : { set: request.set }),
    reason: request.reason,
  };
}

interface LockedVariant {
  variant_id: string;
  sku: string;
  available_quantity: number;
  version: number;
}

/** The refusals end the transaction by a throw, so the key's row goes with it and the key stays free. */
class Refusal extends Error {
  constructor(readonly outcome: AdjustmentOutcome) {
    super(outcome.kind);
  }
}

async function readBack(client: pg.PoolClient | pg.Pool, key: string, request: Record<string, unknown>): Promise<AdjustmentOutcome> {
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
  // Gone between the conflict and this read: its variant was deleted, and the key with it.
  if (!row) return { kind: 'not_found' };
  if (!row.same) return { kind: 'key_reused', key };
  if (row.id) return { kind: 'replayed', movement: movementView(row as MovementRow), stock: null };
  return {
    kind: 'replayed',
    movement: null,
    stock: { variantId: row.adjusted_variant_id, sku: row.variant_sku ?? '', availableQuantity: row.adjusted_available, version: row.adjusted_version },
  };
}

export interface AdjustOptions {
  topic: string;
  correlationId: string;
}

/**
 * One adjustment, docs/spec.md section 10. In one transaction: claim the key (its row's primary key makes
 * a concurrent call with the same key wait for this one, then read what it did), lock the variant's
 * row, decide the delta against the stock under the lock, write the movement and its event (reason
 * as given, reference the key, idempotency key `adjustment:<key>`, shopifyKnows false: the stream
 * sends it to Shopify as a delta), and record what was done under the key.
 */
export async function adjustInventory(pool: pg.Pool, request: AdjustmentRequest, options: AdjustOptions): Promise<AdjustmentOutcome> {
  const canonical = canonicalRequest(request);
  try {
    return await inTransaction<AdjustmentOutcome>(pool, async (client) => {
      const claimed = await client.query(
        `INSERT INTO inventory_adjustment (key, request) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO NOTHING RETURNING key`,
        [request.key, JSON.stringify(canonical)],
      );
      // The key's first call has committed (a conflicting insert waits for it): answer as it did.
      if (claimed.rowCount === 0) return readBack(client, request.key, canonical);

      const { rows } = await client.query<LockedVariant>(
        request.variantId !== undefined
          ? {
              text: 'SELECT variant_id::text, sku, available_quantity, version FROM inventory WHERE variant_id = $1 FOR UPDATE',
              values: [request.variantId],
            }
          : { text: 'SELECT variant_id::text, sku, available_quantity, version FROM inventory WHERE sku = $1 FOR UPDATE', values: [request.sku] },
      );
      const variant = rows[0];
      if (!variant) throw new Refusal({ kind: 'not_found' });
      const available = variant.available_quantity;
      const delta = request.delta ?? request.set! - available;
      const stock = { variantId: variant.variant_id, sku: variant.sku, availableQuantity: available, version: variant.version };

      if (delta === 0) {
        await client.query('UPDATE inventory_adjustment SET variant_id = $2, available_quantity = $3, version = $4 WHERE key = $1', [
          request.key,
          variant.variant_id,
          available,
          variant.version,
        ]);
        return { kind: 'unchanged', stock };
      }
      if (available + delta < 0) {
        throw new Refusal({ kind: 'insufficient', item: { variantId: variant.variant_id, sku: variant.sku, requested: -delta, available } });
      }
      if (available + delta > MAX_STOCK) {
        throw new Refusal({ kind: 'too_large', variantId: variant.variant_id, sku: variant.sku, available, delta });
      }
      const [movement] = await writeMovements(
        client,
        [{ variantId: variant.variant_id, delta, reference: request.key, idempotencyKey: `adjustment:${request.key}` }],
        { reason: request.reason, shopifyKnows: false, topic: options.topic, correlationId: options.correlationId },
      );
      await client.query(
        'UPDATE inventory_adjustment SET variant_id = $2, movement_id = $3, available_quantity = $4, version = $5 WHERE key = $1',
        [request.key, variant.variant_id, movement!.id, movement!.availableAfter, movement!.versionAfter],
      );
      return { kind: 'adjusted', movement: movement! };
    });
  } catch (err) {
    if (err instanceof Refusal) return err.outcome;
    throw err;
  }
}

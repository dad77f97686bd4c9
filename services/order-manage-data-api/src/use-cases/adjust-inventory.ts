import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { claimKey, findAdjustment, lockVariant, recordAdjustment, type UnchangedStock } from '../db/adjustments.js';
import { MAX_STOCK, type MovementView, writeMovements } from '../db/movement-writer.js';
import { inTransaction } from '../db/pool.js';

/** docs/spec.md section 10: exactly one of sku / variantId, exactly one of delta / set. */
export interface AdjustmentRequest {
  sku?: string;
  variantId?: ShopifyId;
  delta?: number;
  set?: number;
  reason: 'restock' | 'correction';
  key: string;
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

export interface AdjustOptions {
  topic: string;
  correlationId: string;
}

/** What a reused key is compared by: the request as the caller named it, key order fixed. */
export function canonicalRequest(request: AdjustmentRequest): Record<string, unknown> {
  return {
    ...(request.sku !== undefined ? { sku: request.sku } : { variantId: request.variantId }),
    ...(request.delta !== undefined ? { delta: request.delta } : { set: request.set }),
    reason: request.reason,
  };
}

/** The refusals end the transaction by a throw, so the key's row goes with it and the key stays free. */
class Refusal extends Error {
  constructor(readonly outcome: AdjustmentOutcome) {
    super(outcome.kind);
  }
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
      // The key's first call has committed (a conflicting insert waits for it): answer as it did.
      if (!(await claimKey(client, request.key, canonical))) return replayOf(client, request.key, canonical);
      const stock = await lockVariant(client, request);
      if (!stock) throw new Refusal({ kind: 'not_found' });
      const delta = request.delta ?? request.set! - stock.availableQuantity;
      if (delta === 0) {
        await recordAdjustment(client, request.key, { ...stock, movementId: null });
        return { kind: 'unchanged', stock };
      }
      refuseOutOfRange(stock, delta);
      const [movement] = await writeMovements(
        client,
        [{ variantId: stock.variantId, delta, reference: request.key, idempotencyKey: `adjustment:${request.key}` }],
        { reason: request.reason, shopifyKnows: false, topic: options.topic, correlationId: options.correlationId },
      );
      await recordAdjustment(client, request.key, {
        variantId: stock.variantId,
        movementId: movement!.id,
        availableQuantity: movement!.availableAfter,
        version: movement!.versionAfter,
      });
      return { kind: 'adjusted', movement: movement! };
    });
  } catch (err) {
    if (err instanceof Refusal) return err.outcome;
    throw err;
  }
}

/** The stock stays within 0 and the `int` column's largest figure. */
function refuseOutOfRange(stock: UnchangedStock, delta: number): void {
  const { variantId, sku, availableQuantity: available } = stock;
  if (available + delta < 0) throw new Refusal({ kind: 'insufficient', item: { variantId, sku, requested: -delta, available } });
  if (available + delta > MAX_STOCK) throw new Refusal({ kind: 'too_large', variantId, sku, available, delta });
}

/** The answer of the key's earlier call, or the refusal to reuse the key for another request. */
async function replayOf(client: pg.PoolClient, key: string, request: Record<string, unknown>): Promise<AdjustmentOutcome> {
  const recorded = await findAdjustment(client, key, request);
  // Gone between the conflict and this read: its variant was deleted, and the key with it.
  if (!recorded) return { kind: 'not_found' };
  if (!recorded.sameRequest) return { kind: 'key_reused', key };
  if (recorded.movement) return { kind: 'replayed', movement: recorded.movement, stock: null };
  return { kind: 'replayed', movement: null, stock: recorded.stock };
}

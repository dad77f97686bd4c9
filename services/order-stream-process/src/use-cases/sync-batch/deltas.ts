import { ShopifyGaveUpError } from '../../clients/shopify-call.js';
import type { ItemEvents } from '../../domain/coalesce.js';
import { buildAdjustRequest } from '../../domain/mutation.js';
import { deltaChanges } from '../../domain/sync-rule.js';
import { stillOurs, type BatchContext } from './context.js';
import type { Received } from './receive.js';

/** The call that applied one movement: for its events' SUCCESS lines. */
export interface AppliedMovement {
  idempotencyKey: string;
  attempts: number;
}

/**
 * How an item's deltas went: every movement applied (each by its own call), or why Shopify refused
 * one of them (the item's events then go to the DLQ; its later movements are not sent).
 */
export type DeltaOutcome = { applied: true; movements: Map<string, AppliedMovement> } | { applied: false; reason: string };

/**
 * Sends what Shopify cannot know (restocks, corrections, WMS syncs): each movement on its own, one
 * `inventoryAdjustQuantities` call per movement, in version order per item, keyed by its movement id
 * alone. So a retry, a batch redelivered after a crash holding more (or fewer) events of the item
 * than the first time, or a DLQ replay applies each movement once: a movement Shopify already took
 * comes with the key it took it under and is answered, not applied again.
 *
 * One movement per call rather than several items' per call: a call of several would be keyed by
 * its set of movements, safe only if every redelivery formed the same set, which batch boundaries
 * do not guarantee. Deltas are rare, so the calls they cost are few. Items without a delta are
 * absent from the result.
 */
export async function applyDeltas(
  items: readonly ItemEvents<Received>[],
  ctx: BatchContext,
): Promise<Map<string, DeltaOutcome> | 'abandoned'> {
  const outcomes = new Map<string, DeltaOutcome>();
  for (const item of items) {
    const changes = deltaChanges(item);
    if (changes.length === 0) continue;
    const movements = new Map<string, AppliedMovement>();
    let outcome: DeltaOutcome = { applied: true, movements };
    for (const change of changes) {
      if (!stillOurs(ctx)) return 'abandoned';
      const request = buildAdjustRequest(change);
      const { idempotencyKey } = request.variables;
      try {
        const { attempts } = await ctx.shopify.adjustInventoryQuantities(request, {
          signal: ctx.signal,
          logMeta: { operation: 'inventory.adjust', idempotencyKey, movementId: change.movementId },
        });
        movements.set(change.movementId, { idempotencyKey, attempts });
      } catch (err) {
        if (!(err instanceof ShopifyGaveUpError)) throw err;
        outcome = { applied: false, reason: `shopify_failed: ${err.message}` };
        break;
      }
    }
    outcomes.set(item.key, outcome);
  }
  return outcomes;
}

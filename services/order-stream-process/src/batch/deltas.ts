import { ShopifyGaveUpError } from '../clients/shopify.js';
import { chunk, type ItemEvents } from '../domain/coalesce.js';
import { blamedIndexes, buildAdjustRequest } from '../domain/mutation.js';
import { deltaChange, type DeltaChange } from '../domain/sync-rule.js';
import { stillOurs, type BatchContext } from './context.js';
import type { Received } from './receive.js';

/** How the item's delta went: the call that applied it, or why Shopify refused it. */
export type DeltaOutcome = { applied: true; idempotencyKey: string; attempts: number } | { applied: false; reason: string };

/**
 * Sends what Shopify cannot know (restocks, corrections, WMS syncs), one summed delta per item, in
 * calls of at most `maxPerCall` changes. Each call's key is made of its movement ids, so a retry or
 * a redelivered batch applies nothing twice. An item Shopify's userErrors blame fails alone; the
 * others of its call go again in a call of their own.
 */
export async function applyDeltas(items: readonly ItemEvents<Received>[], ctx: BatchContext): Promise<Map<string, DeltaOutcome> | 'abandoned'> {
  const outcomes = new Map<string, DeltaOutcome>();
  const changes: DeltaChange[] = [];
  for (const item of items) {
    const change = deltaChange(item);
    if (!change) continue;
    // Movements that cancel out change nothing at Shopify: they are applied as they stand.
    if (change.delta === 0) outcomes.set(item.key, { applied: true, idempotencyKey: 'none', attempts: 0 });
    else changes.push(change);
  }
  const queue = chunk(changes, ctx.maxPerCall);
  for (let group = queue.shift(); group; group = queue.shift()) {
    if (!stillOurs(ctx)) return 'abandoned';
    const request = buildAdjustRequest(group);
    const { idempotencyKey } = request.variables;
    try {
      const { attempts } = await ctx.shopify.adjustInventoryQuantities(request, {
        signal: ctx.signal,
        logMeta: { operation: 'inventory.adjust', idempotencyKey, changes: group.length },
      });
      for (const change of group) outcomes.set(change.key, { applied: true, idempotencyKey, attempts });
    } catch (err) {
      if (!(err instanceof ShopifyGaveUpError)) throw err;
      const blamed = blamedIndexes(err.last.userErrors, group.length);
      const someBlamed = blamed.size > 0 && blamed.size < group.length;
      const reason = `shopify_failed: ${err.message}`;
      for (const [i, change] of group.entries()) if (!someBlamed || blamed.has(i)) outcomes.set(change.key, { applied: false, reason });
      if (someBlamed) queue.unshift(group.filter((_, i) => !blamed.has(i)));
    }
  }
  return outcomes;
}

import type { Batch } from 'kafkajs';
import { coalesce, type ItemEvents } from '../../domain/coalesce.js';
import { isDelta } from '../../domain/sync-rule.js';
import { BoundedMap, BoundedSet } from './bounded-set.js';
import { confirmItems, type ConfirmMemory } from './confirm.js';
import { withHeartbeat, type BatchContext } from './context.js';
import { applyDeltas } from './deltas.js';
import { receive, type Received } from './receive.js';

/** Items remembered with an import still to bring to the database's figure. */
const MAX_PENDING_IMPORTS = 50_000;
/** Items remembered with whether their last guess of Shopify's figure was right. */
const MAX_REMEMBERED_GUESSES = 50_000;

/** What the confirm step remembers from one batch to the next, bounded. */
export function createConfirmMemory(): ConfirmMemory {
  return { importsPending: new BoundedSet<string>(MAX_PENDING_IMPORTS), guesses: new BoundedMap<string, boolean>(MAX_REMEMBERED_GUESSES) };
}

/** Sends the deltas; their events succeed, or the whole item goes to the DLQ. Returns the items left to confirm. */
async function deltas(items: ItemEvents<Received>[], ctx: BatchContext): Promise<ItemEvents<Received>[] | 'abandoned'> {
  const applied = await applyDeltas(items, ctx);
  if (applied === 'abandoned') return 'abandoned';
  const toConfirm: ItemEvents<Received>[] = [];
  for (const item of items) {
    const outcome = applied.get(item.key);
    if (outcome && !outcome.applied) {
      await ctx.outcomes.deadLetter(item.events, outcome.reason, ctx.source);
      continue;
    }
    // Every movement of the item was applied, each by its own call: each event's line names that call.
    if (outcome)
      for (const event of item.events.filter(isDelta))
        ctx.outcomes.succeeded([event], () => 'adjusted', { ...outcome.movements.get(event.movementId) });
    toConfirm.push(item);
  }
  return toConfirm;
}

/**
 * Syncs one batch of inventory events to Shopify (docs/design.md "Shopify sync", `domain/sync-rule.ts`):
 * 1. unusable messages go to the DLQ, redelivered events are set aside;
 * 2. the events are grouped per inventory item;
 * 3. what Shopify cannot know goes as deltas, one call per movement keyed by its movement id, so
 *    each is applied once however the batch is redelivered (`deltas.ts`);
 * 4. every item is confirmed: the database's and Shopify's figures are read and Shopify is only
 *    lowered to the database's (set, for an import), compare-and-set (`confirm.ts`).
 * True when every event has its SUCCESS line or sits in the DLQ, so the offsets may be committed.
 */
export async function syncBatch(
  batch: Pick<Batch, 'topic' | 'partition' | 'messages'>,
  ctx: BatchContext,
  memory: ConfirmMemory,
  heartbeatIntervalMs: number,
): Promise<boolean> {
  const received = receive(batch, ctx.outcomes.handled);
  await ctx.outcomes.setAside(received, ctx.source);
  const items = coalesce(received.events);
  return withHeartbeat(ctx, heartbeatIntervalMs, async () => {
    const toConfirm = await deltas(items, ctx);
    if (toConfirm === 'abandoned') return false;
    return (await confirmItems(toConfirm, ctx, memory)) === 'done';
  });
}

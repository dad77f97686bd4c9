import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@oms/common';
import type { EachBatchPayload } from 'kafkajs';
import { BoundedMap, BoundedSet } from './batch/bounded-set.js';
import { confirmItems } from './batch/confirm.js';
import { stillOurs, withHeartbeat, type BatchContext } from './batch/context.js';
import { applyDeltas } from './batch/deltas.js';
import { createOutcomes } from './batch/outcomes.js';
import { receive, type Received } from './batch/receive.js';
import type { ShopifyClient } from './clients/shopify.js';
import type { StockSource } from './clients/stock.js';
import { coalesce, MAX_QUANTITIES_PER_CALL, type ItemEvents } from './domain/coalesce.js';
import { isDelta } from './domain/sync-rule.js';
import type { DlqWriter } from './dlq-writer.js';
import type { StreamMetrics } from './metrics.js';

export { correlationOf } from './batch/receive.js';

/** Items remembered with an import still to bring to the database's figure. */
const MAX_PENDING_IMPORTS = 50_000;
/** Items remembered with whether their last guess of Shopify's figure was right. */
const MAX_REMEMBERED_GUESSES = 50_000;

export interface BatchHandlerDeps {
  shopify: ShopifyClient;
  /** The database's current figures (order-manage-data-api), for the confirm step. */
  stock: StockSource;
  logger: Logger;
  metrics: StreamMetrics;
  dlq: DlqWriter;
  dlqTopic: string;
  maxQuantitiesPerCall?: number;
  /** How often a long Shopify call (retries, rate-limit waits) heartbeats the group. */
  heartbeatIntervalMs: number;
  /** Aborted when the processor stops: a Shopify call in flight gives up its waits. */
  stopping: AbortSignal;
  /**
   * A batch that follows its partition's previous one by less than this waits until that long has
   * passed since it ended (SHOPIFY_BATCH_LINGER_MS), so a burst coalesces into fewer, larger
   * batches (fewer Shopify calls); a lone event after a quiet spell goes at once. 0 (default) is off.
   */
  lingerMs?: number;
}

/**
 * One batch of inventory events to Shopify (docs/spec.md section 6, `domain/sync-rule.ts`):
 * 1. unusable messages go to the DLQ, redelivered events are set aside;
 * 2. the events are grouped per inventory item;
 * 3. what Shopify cannot know goes as deltas, one call per movement keyed by its movement id, so
 *    each is applied once however the batch is redelivered (`batch/deltas.ts`);
 * 4. every item is confirmed: the database's and Shopify's figures are read and Shopify is only
 *    lowered to the database's (set, for an import), compare-and-set (`batch/confirm.ts`);
 * 0. a batch that follows its partition's previous one closely lingers first (`lingerMs`), so bursts
 *    come in fewer, larger batches;
 * 5. only then are the batch's offsets committed (at least once): a crash before that replays the
 *    batch, harmlessly, since each delta's key is its movement's and the confirm reads again.
 */
export function createBatchHandler(deps: BatchHandlerDeps): (payload: EachBatchPayload) => Promise<void> {
  const { logger, metrics, dlqTopic } = deps;
  const outcomes = createOutcomes({ logger, metrics, dlq: deps.dlq, dlqTopic });
  const importsPending = new BoundedSet<string>(MAX_PENDING_IMPORTS);
  const guesses = new BoundedMap<string, boolean>(MAX_REMEMBERED_GUESSES);
  const lingerMs = deps.lingerMs ?? 0;
  /** When each partition's previous batch ended (monotonic ms). */
  const lastEnded = new Map<number, number>();

  /** Waits out the linger (heartbeating); false when the processor stops or the partition is taken meanwhile. */
  async function linger(ctx: BatchContext, partition: number): Promise<boolean> {
    const ended = lastEnded.get(partition);
    const wait = ended === undefined ? 0 : ended + lingerMs - performance.now();
    if (wait <= 0) return true;
    return withHeartbeat(ctx, deps.heartbeatIntervalMs, async () => {
      await sleep(wait, undefined, { signal: ctx.signal }).catch(() => undefined);
      return !ctx.signal.aborted && stillOurs(ctx);
    });
  }

  /** Sends the deltas; their events succeed, or the whole item goes to the DLQ. Returns the items left to confirm. */
  async function deltas(items: ItemEvents<Received>[], ctx: BatchContext): Promise<ItemEvents<Received>[] | 'abandoned'> {
    const applied = await applyDeltas(items, ctx);
    if (applied === 'abandoned') return 'abandoned';
    const toConfirm: ItemEvents<Received>[] = [];
    for (const item of items) {
      const outcome = applied.get(item.key);
      if (outcome && !outcome.applied) {
        await outcomes.deadLetter(item.events, outcome.reason, ctx.source);
        continue;
      }
      // Every movement of the item was applied, each by its own call: each event's line names that call.
      if (outcome) for (const event of item.events.filter(isDelta)) outcomes.succeeded([event], () => 'adjusted', { ...outcome.movements.get(event.movementId) });
      toConfirm.push(item);
    }
    return toConfirm;
  }

  return async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const last = batch.messages.at(-1);
    if (!last) return;
    metrics.setLag(batch.topic, batch.partition, Number(batch.offsetLagLow()));
    const ctx: BatchContext = {
      payload,
      source: { topic: batch.topic, partition: batch.partition },
      shopify: deps.shopify,
      stock: deps.stock,
      outcomes,
      logger,
      metrics,
      maxPerCall: deps.maxQuantitiesPerCall ?? MAX_QUANTITIES_PER_CALL,
      signal: deps.stopping,
    };

    if (!(await linger(ctx, batch.partition))) return;
    try {
      const received = receive(batch, outcomes.handled);
      await outcomes.setAside(received, ctx.source);
      const items = coalesce(received.events);
      const done = await withHeartbeat(ctx, deps.heartbeatIntervalMs, async () => {
        const toConfirm = await deltas(items, ctx);
        if (toConfirm === 'abandoned') return false;
        return (await confirmItems(toConfirm, ctx, { importsPending, guesses })) === 'done';
      });
      if (!done) return;

      payload.resolveOffset(last.offset);
      await payload.commitOffsetsIfNecessary();
      metrics.setLag(batch.topic, batch.partition, Number(batch.offsetLag()));
    } finally {
      lastEnded.set(batch.partition, performance.now());
    }
  };
}

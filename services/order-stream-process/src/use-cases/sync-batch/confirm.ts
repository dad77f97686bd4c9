import { setTimeout as sleep } from 'node:timers/promises';
import { isStale, ShopifyCallError, ShopifyGaveUpError, STALE_COMPARE } from '../../clients/shopify-call.js';
import { readLevels, ShopifyAnswerError, type Levels } from '../../clients/shopify-levels.js';
import { StockUnavailableError, type StockItem } from '../../clients/stock.js';
import { chunk, type ItemEvents } from '../../domain/coalesce.js';
import { blamedIndexes, buildCompareAndSetRequest, movementsUri } from '../../domain/mutation.js';
import {
  decideConfirmation,
  expectedShopify,
  guessConfirmation,
  holdsImport,
  isDelta,
  superseded,
  writes,
  type Confirmation,
} from '../../domain/sync-rule.js';
import type { EventResult } from '../../metrics.js';
import type { BoundedMap, BoundedSet } from './bounded-set.js';
import { stillOurs, type BatchContext } from './context.js';
import type { Received } from './receive.js';

/** Rounds of read-decide-write per batch before a figure that keeps moving goes to the DLQ. */
export const MAX_CONFIRM_ROUNDS = 5;

const STOCK_RETRY_BASE_MS = 200;
const STOCK_RETRY_MAX_MS = 5_000;

export interface ConfirmMemory {
  /** Items whose import a newer movement superseded: its confirm still brings Shopify to the database's figure. */
  importsPending: BoundedSet<string>;
  /** Per item: whether its last guess of Shopify's figure (`expectedShopify`) was right; absent, it reads first. */
  guesses: BoundedMap<string, boolean>;
}

interface Decided {
  item: ItemEvents<Received>;
  bringToDatabase: boolean;
  confirmation: Confirmation;
  /** The write compares from a guess of Shopify's figure, not from a read. */
  guessed?: boolean;
}

/** A decision that writes to Shopify: a lowering, or an import's set. */
type Writing = Decided & { confirmation: Extract<Confirmation, { action: 'lower' | 'set' }> };

const isWriting = (d: Decided): d is Writing => writes(d.confirmation);

type Item = ItemEvents<Received>;

/** The item's events the confirm step accounts for: a delta's event was accounted for when the delta applied. */
const confirmed = (items: Item[]) => items.flatMap((i) => i.events.filter((e) => !isDelta(e)));

const RESULT: Record<Confirmation['action'], Exclude<EventResult, 'duplicate' | 'dlq' | 'adjusted'>> = {
  superseded: 'superseded',
  lower: 'lowered',
  set: 'set',
  none: 'confirmed',
};

/**
 * The confirm step (docs/spec.md section 6): for each item, the database's figure D and Shopify's S are
 * read (one stock request and one `nodes` query per batch), the rule decides, and Shopify is lowered
 * (or, for an import, set) to D with a compare-and-set from S. A stale compare is read and decided
 * again, at most MAX_CONFIRM_ROUNDS times; then, and when Shopify refuses, the item's events go to
 * the DLQ. Each event gets its SUCCESS line once Shopify's figure accounts for it; the events of
 * deltas already have theirs (the delta accounts for them), so only the others are settled here.
 */
export async function confirmItems(items: readonly Item[], ctx: BatchContext, memory: ConfirmMemory): Promise<'done' | 'abandoned'> {
  let pending = [...items];
  for (let round = 1; pending.length > 0; round++) {
    if (!stillOurs(ctx)) return 'abandoned';
    if (round > MAX_CONFIRM_ROUNDS) {
      const reason = `shopify_failed: ${STALE_COMPARE} in ${MAX_CONFIRM_ROUNDS} rounds: Shopify's figure moved between every read and write`;
      await deadLetter(pending, reason, ctx);
      return 'done';
    }
    const decided = await decide(pending, ctx, memory);
    if (decided === 'abandoned') return 'abandoned';
    for (const d of decided) if (!isWriting(d)) settle(d, ctx, memory);
    const again = await write(decided.filter(isWriting), round, ctx, memory);
    if (again === 'abandoned') return 'abandoned';
    pending = again;
  }
  return 'done';
}

/**
 * Reads D for the items, then S for those the database has not moved past (the others' newer
 * events confirm them) and whose figure is not guessed, and decides each; items Shopify does not
 * stock go to the DLQ. An item whose last guess was right is not read: its lowering compares from
 * the guess (`guessConfirmation`); a read item records whether its guess would have been right.
 */
async function decide(items: Item[], ctx: BatchContext, memory: ConfirmMemory): Promise<Decided[] | 'abandoned'> {
  // The database first: an order landing between the two reads then shows in S only (S ≤ D,
  // nothing to send) rather than in D only (a lowering whose compare-and-set would be stale).
  const database = await readDatabase(items, ctx);
  if (database === 'abandoned') return 'abandoned';
  const decided: Decided[] = [];
  const current: Item[] = [];
  for (const item of items) {
    const figure = database.get(item.variantId);
    const bringToDatabase = holdsImport(item) || memory.importsPending.has(item.key);
    if (figure && superseded(item.newest, figure)) {
      decided.push({ item, bringToDatabase, confirmation: { action: 'superseded', database: figure } });
      continue;
    }
    const guess = guessConfirmation(item, figure, bringToDatabase, memory.guesses.get(item.key));
    if (guess) decided.push({ item, bringToDatabase, confirmation: guess, guessed: true });
    else current.push(item);
  }
  if (current.length === 0) return decided;
  let levels: Levels;
  try {
    levels = await readLevels(ctx.shopify, current, { signal: ctx.signal, logMeta: { operation: 'confirm.read' } });
  } catch (err) {
    if (!(err instanceof ShopifyGaveUpError || err instanceof ShopifyAnswerError)) throw err;
    await deadLetter(current, `shopify_failed: reading Shopify's levels: ${err.message}`, ctx);
    return decided;
  }
  for (const item of current) {
    const shopify = levels.get(item.key);
    if (typeof shopify !== 'number') {
      const why =
        shopify === null
          ? 'Shopify does not know this inventory item'
          : 'ITEM_NOT_STOCKED_AT_LOCATION: Shopify does not stock this item at this location';
      await deadLetter([item], `shopify_failed: ${why}`, ctx);
      continue;
    }
    const bringToDatabase = holdsImport(item) || memory.importsPending.has(item.key);
    const expected = expectedShopify(item, database.get(item.variantId), bringToDatabase);
    if (expected !== undefined) memory.guesses.set(item.key, expected === shopify);
    const confirmation = decideConfirmation({ newest: item.newest, bringToDatabase, shopify, database: database.get(item.variantId) });
    decided.push({ item, bringToDatabase, confirmation });
  }
  return decided;
}

/** The database's current figures; a data-api that does not answer is waited for, not dead-lettered. */
async function readDatabase(items: Item[], ctx: BatchContext): Promise<Map<string, StockItem> | 'abandoned'> {
  const variantIds = items.map((i) => i.variantId);
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.stock.current(variantIds, { signal: ctx.signal });
    } catch (err) {
      if (ctx.signal.aborted) return 'abandoned';
      if (!(err instanceof StockUnavailableError)) throw err;
      ctx.logger.warn(`cannot read the database's stock (attempt ${attempt}); trying again: ${err.message}`, {
        event: 'inventory.stock.unavailable',
        attempt,
      });
      const delay = Math.min(STOCK_RETRY_MAX_MS, STOCK_RETRY_BASE_MS * 2 ** (attempt - 1));
      await sleep(delay, undefined, { signal: ctx.signal }).catch(() => undefined);
      if (!stillOurs(ctx) || ctx.signal.aborted) return 'abandoned';
    }
  }
}

/**
 * Sends the decided compare-and-sets, at most maxPerCall a call. Returns the items to decide again:
 * those of a call Shopify found stale (it applied nothing), and those of a call it refused for
 * another item's sake.
 */
async function write(decided: Writing[], round: number, ctx: BatchContext, memory: ConfirmMemory): Promise<Item[] | 'abandoned'> {
  const again: Item[] = [];
  for (const group of chunk(decided, ctx.maxPerCall)) {
    if (!stillOurs(ctx)) return 'abandoned';
    const request = buildCompareAndSetRequest(
      group.map(({ item, confirmation }) => ({
        inventoryItemId: item.inventoryItemId,
        locationId: item.locationId,
        from: confirmation.shopify,
        to: confirmation.database.availableQuantity,
        version: confirmation.database.version,
      })),
      `confirm-${round}`,
      (key) =>
        movementsUri(
          group.map((d) => d.item.newest.movementId),
          key,
        ),
    );
    const { idempotencyKey } = request.variables;
    try {
      const { attempts } = await ctx.shopify.setInventoryQuantities(request, {
        signal: ctx.signal,
        logMeta: {
          operation: group.some((d) => d.guessed) ? 'confirm.guessed-set' : 'confirm.set',
          idempotencyKey,
          quantities: group.length,
          round,
        },
      });
      for (const d of group) {
        if (d.guessed) memory.guesses.set(d.item.key, true);
        settle(d, ctx, memory, { idempotencyKey, attempts, ...(d.guessed ? { guessed: true } : {}) });
      }
    } catch (err) {
      if (!(err instanceof ShopifyGaveUpError)) throw err;
      const refused = refusedIndexes(err.last, group.length);
      const stale = group.filter((_, i) => !refused.has(i));
      // A stale guess: Shopify holds another figure (it took its own orders); the item reads first from now on.
      for (const d of group) if (d.guessed) memory.guesses.set(d.item.key, false);
      if (isStale(err.last) && group.some((d) => !d.guessed)) {
        ctx.metrics.countStale();
        ctx.logger.info(`Shopify moved ${stale.length} item(s) since the read (round ${round}): reading again`, {
          event: 'shopify.inventory.stale',
          idempotencyKey,
          round,
        });
      }
      again.push(...stale.map((d) => d.item));
      await deadLetter(
        group.filter((_, i) => refused.has(i)).map((d) => d.item),
        `shopify_failed: ${err.message}`,
        ctx,
      );
    }
  }
  return again;
}

/**
 * Which quantities of a failed compare-and-set are refused for good: none when Shopify only found
 * the call stale; those other userErrors blame; every one when the failure names none.
 */
function refusedIndexes(error: ShopifyCallError, count: number): Set<number> {
  if (isStale(error)) return new Set();
  const blamed = blamedIndexes(
    error.userErrors.filter((e) => e.code !== STALE_COMPARE),
    count,
  );
  return blamed.size > 0 ? blamed : new Set(Array.from({ length: count }, (_, i) => i));
}

/** The item's events are accounted for at Shopify: their SUCCESS lines. */
function settle(d: Decided, ctx: BatchContext, memory: ConfirmMemory, write?: { idempotencyKey: string; attempts: number }): void {
  const { item, confirmation } = d;
  if (confirmation.action === 'superseded' && d.bringToDatabase) memory.importsPending.add(item.key);
  else memory.importsPending.delete(item.key);
  ctx.outcomes.succeeded(confirmed([item]), () => RESULT[confirmation.action], {
    shopify: confirmation.shopify,
    database: confirmation.database.availableQuantity,
    databaseVersion: confirmation.database.version,
    quantity: writes(confirmation) ? confirmation.database.availableQuantity : confirmation.shopify,
    ...(write ?? {}),
  });
}

function deadLetter(items: Item[], reason: string, ctx: BatchContext): Promise<void> {
  return ctx.outcomes.deadLetter(confirmed(items), reason, ctx.source);
}

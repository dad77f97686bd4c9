import { compareShopifyIds } from '@oms/common';
import type { ItemEvents } from './coalesce.js';
import type { InventoryEvent } from './event.js';

/**
 * The sync rule (docs/spec.md section 6), as pure decisions the batch handler follows.
 *
 * Shopify keeps its own count: it takes an order's units when it creates the order, before the
 * webhook leaves, and puts a restock chosen in Shopify back itself. So the processor never tells
 * Shopify an absolute figure it may not have (a blind set would raise back the units of orders
 * Shopify took that the database has not seen yet). For each inventory item of a batch:
 *
 * 1. The movements Shopify cannot know (a restock from the warehouse, a correction, a WMS sync)
 *    go as deltas, each movement its own change under its own key, exactly once (`deltaChanges`).
 * 2. Then Shopify's figure S and the database's D are read, and (`decideConfirmation`):
 *    - a newer movement than the batch's newest is in the database: its own event will confirm;
 *    - an import (the database's figure was never Shopify's): Shopify is set to D, either way;
 *    - otherwise Shopify is only ever lowered to D, when S > D (an order Shopify did not take);
 *      S ≤ D means Shopify already took the units, and more that the database has not seen yet.
 *    Every write is a compare-and-set from the S just read; a stale one is read and decided again.
 */

/** A movement Shopify cannot know: the system made it, so Shopify hears of it as a delta. */
export function isDelta(event: Pick<InventoryEvent, 'shopifyKnows' | 'reason'>): boolean {
  return !event.shopifyKnows && event.reason !== 'import';
}

/**
 * One movement Shopify cannot know, as the change that brings it there. Each movement is its own
 * change, sent alone under a key made of its movement id only (`domain/mutation.ts`): a retry, a
 * batch redelivered after a crash (whatever other events it holds this time) or a DLQ replay
 * carries the same key with the same variables, so Shopify applies the movement exactly once.
 * (Summing an item's movements into one change keyed by their set broke that: a redelivery holding
 * one more movement of the item formed another set, another key, and applied the others again.)
 */
export interface DeltaChange {
  /** The item's key (inventory item @ location). */
  key: string;
  inventoryItemId: string;
  locationId: string;
  /** The movement it applies: the change's idempotency key. */
  movementId: string;
  /** The movement's delta (never 0: the ledger refuses one). */
  delta: number;
  inventoryVersion: number;
}

/**
 * Pure: the item's movements Shopify cannot know, one change each (a movement delivered twice
 * once), in version order (the ledger's order); empty when every movement is one Shopify knows.
 */
export function deltaChanges(item: ItemEvents): DeltaChange[] {
  const byMovement = new Map<string, DeltaChange>();
  const { key, inventoryItemId, locationId } = item;
  for (const event of item.events) {
    if (!isDelta(event) || byMovement.has(event.movementId)) continue;
    const { movementId, delta, inventoryVersion } = event;
    byMovement.set(movementId, { key, inventoryItemId, locationId, movementId, delta, inventoryVersion });
  }
  return [...byMovement.values()].sort((a, b) => a.inventoryVersion - b.inventoryVersion || compareShopifyIds(a.movementId, b.movementId));
}

/** Whether the item's events hold an import: Shopify is then brought to the database's figure either way. */
export function holdsImport(item: ItemEvents): boolean {
  return item.events.some((e) => e.reason === 'import');
}

/** The database's figure for a variant (order-manage-data-api's `GET /internal/inventory`). */
export interface DatabaseFigure {
  availableQuantity: number;
  version: number;
}

export type Confirmation =
  /** The database holds a newer movement than the batch's newest: its own event confirms the item. */
  | { action: 'superseded'; shopify?: number; database: DatabaseFigure }
  /** Shopify holds more than the database (an order it did not take): lower it, compare-and-set. */
  | { action: 'lower'; shopify: number; database: DatabaseFigure }
  /** An import: Shopify is set to the database's figure in either direction, compare-and-set. */
  | { action: 'set'; shopify: number; database: DatabaseFigure }
  /** Shopify is at the database's figure, or below it (it took orders the database has not seen). */
  | { action: 'none'; shopify: number; database: DatabaseFigure };

export interface ConfirmationInput {
  /** The newest event the batch held for the item. */
  newest: Pick<InventoryEvent, 'inventoryVersion' | 'availableAfter'>;
  /** An import among the item's events is still to be brought to the database's figure. */
  bringToDatabase: boolean;
  /** Shopify's available, read after the batch's deltas were applied. */
  shopify: number;
  /** The database's current figure; undefined when it has no row for the variant any more. */
  database: DatabaseFigure | undefined;
}

/**
 * Pure: whether the database already holds a newer movement than the batch's newest for the item.
 * Its own event will confirm the item, so Shopify need not even be read for this batch (under a
 * steady stream of orders, most batches are such: the confirm step then costs one database read).
 */
export function superseded(newest: Pick<InventoryEvent, 'inventoryVersion'>, database: DatabaseFigure | undefined): boolean {
  return database !== undefined && database.version > newest.inventoryVersion;
}

/** Pure: what the confirm step does for one item (see the rule above). */
export function decideConfirmation(input: ConfirmationInput): Confirmation {
  const { newest, bringToDatabase, shopify } = input;
  // A read that knows less than the event (a replica behind, a row removed since) is not the
  // current figure: the event's own is newer.
  const database =
    input.database && input.database.version >= newest.inventoryVersion
      ? input.database
      : { availableQuantity: newest.availableAfter, version: newest.inventoryVersion };
  if (superseded(newest, database)) return { action: 'superseded', shopify, database };
  if (bringToDatabase) return { action: shopify === database.availableQuantity ? 'none' : 'set', shopify, database };
  return { action: shopify > database.availableQuantity ? 'lower' : 'none', shopify, database };
}

/** Whether the decision writes to Shopify. */
export function writes(confirmation: Confirmation): confirmation is Extract<Confirmation, { action: 'lower' | 'set' }> {
  return confirmation.action === 'lower' || confirmation.action === 'set';
}

/**
 * Pure: Shopify's figure after the batch's deltas if it did NOT take the batch's orders (the demo
 * stack, a channel Shopify does not count): the figure before the batch's first event, plus the
 * deltas the batch already sent. Only when that figure is certain to be what an in-step Shopify
 * holds: the database is exactly at the batch's newest version, the item's events are contiguous
 * versions (no movement between them the batch has not seen), and nothing is to be brought to the
 * database (an import is never guessed: its figure was never Shopify's). Undefined otherwise.
 */
export function expectedShopify(item: ItemEvents, database: DatabaseFigure | undefined, bringToDatabase: boolean): number | undefined {
  if (bringToDatabase || holdsImport(item) || !database || database.version !== item.newest.inventoryVersion) return undefined;
  const byVersion = new Map<number, InventoryEvent>();
  for (const event of item.events) byVersion.set(event.inventoryVersion, event);
  const versions = [...byVersion.keys()].sort((a, b) => a - b);
  if (versions.some((v, i) => i > 0 && v !== versions[i - 1]! + 1)) return undefined;
  const first = byVersion.get(versions[0]!)!;
  const deltas = [...byVersion.values()].filter(isDelta).reduce((sum, e) => sum + e.delta, 0);
  return first.availableAfter - first.delta + deltas;
}

/**
 * Pure: the guess before reading. When the item's last guess was right (Shopify held what it would
 * hold had it not taken the orders), the confirm skips the read and sends the compare-and-set
 * `from: guess, to: D` at once: a lowering exactly as the read would have decided it had Shopify
 * held the guess, and a compare-and-set that applies nothing (stale: then read and decided as
 * usual) when it does not. Only a lowering is guessed (D < guess); never an import.
 *
 * With no memory of the item (a new item, a restart) the confirm reads first: a real store, where
 * Shopify takes its own orders, never spends a call on a guess no read has borne out; the read
 * tells whether the guess would have been right, so a store where Shopify did not take the orders
 * guesses from its second batch on.
 */
export function guessConfirmation(
  item: ItemEvents,
  database: DatabaseFigure | undefined,
  bringToDatabase: boolean,
  lastGuessRight: boolean | undefined,
): Extract<Confirmation, { action: 'lower' }> | undefined {
  if (lastGuessRight !== true) return undefined;
  const guess = expectedShopify(item, database, bringToDatabase);
  if (guess === undefined || !database || guess <= database.availableQuantity) return undefined;
  return { action: 'lower', shopify: guess, database };
}

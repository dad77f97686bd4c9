import type { InventoryEvent } from './event.js';

/** Shopify's limit of quantities in one inventorySetQuantities call. */
export const MAX_QUANTITIES_PER_CALL = 250;

/** A quantity is per inventory item and location: that pair is what one Shopify quantity sets. */
export function itemKey(event: Pick<InventoryEvent, 'inventoryItemId' | 'locationId'>): string {
  return `${event.inventoryItemId}@${event.locationId}`;
}

export interface CoalescedItem<E extends InventoryEvent = InventoryEvent> {
  key: string;
  /** The newest event for the item: its availableAfter is what Shopify is set to. */
  latest: E;
  /** Every event of the batch for the item, latest included, in arrival order. */
  covered: E[];
}

/**
 * Pure: one entry per inventory item keeping the event with the highest inventoryVersion (on a tie
 * the later one, a redelivery of the same state). Older events are covered by the newer quantity.
 */
export function coalesce<E extends InventoryEvent>(events: readonly E[]): CoalescedItem<E>[] {
  const byItem = new Map<string, CoalescedItem<E>>();
  for (const event of events) {
    const key = itemKey(event);
    const current = byItem.get(key);
    if (!current) {
      byItem.set(key, { key, latest: event, covered: [event] });
      continue;
    }
    current.covered.push(event);
    // Stryker disable next-line EqualityOperator: two events of one item at one inventoryVersion come from one committed row version, so they carry the same quantity; either may stand
    if (event.inventoryVersion >= current.latest.inventoryVersion) current.latest = event;
  }
  return [...byItem.values()];
}

export interface LastSet {
  inventoryVersion: number;
  quantity: number;
}

/**
 * Pure: splits items into those Shopify must be told and those it already holds a quantity at
 * least as new as (never set an older quantity over a newer one).
 */
export function partitionByLastSet<E extends InventoryEvent>(
  items: readonly CoalescedItem<E>[],
  lastSet: ReadonlyMap<string, LastSet>,
): { toSend: CoalescedItem<E>[]; alreadyHeld: Array<CoalescedItem<E> & { held: LastSet }> } {
  const toSend: CoalescedItem<E>[] = [];
  const alreadyHeld: Array<CoalescedItem<E> & { held: LastSet }> = [];
  for (const item of items) {
    const held = lastSet.get(item.key);
    if (held && held.inventoryVersion >= item.latest.inventoryVersion) alreadyHeld.push({ ...item, held });
    else toSend.push(item);
  }
  return { toSend, alreadyHeld };
}

/** Pure: consecutive chunks of at most `size` elements. */
export function chunk<T>(items: readonly T[], size: number = MAX_QUANTITIES_PER_CALL): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('chunk size must be a positive integer');
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

import type { InventoryEvent } from './event.js';

/** Shopify's limit of quantities (or changes) in one inventory mutation, and of ids in one `nodes` read. */
export const MAX_QUANTITIES_PER_CALL = 250;

/** A level is per inventory item and location: that pair is what one Shopify quantity names. */
export function itemKey(item: Pick<InventoryEvent, 'inventoryItemId' | 'locationId'>): string {
  return `${item.inventoryItemId}@${item.locationId}`;
}

/** Every event a batch holds for one inventory item at one location. */
export interface ItemEvents<E extends InventoryEvent = InventoryEvent> {
  key: string;
  variantId: string;
  inventoryItemId: string;
  locationId: string;
  /** In arrival order. */
  events: E[];
  /** The event with the highest inventoryVersion (on a tie the later one, a redelivery of the same movement). */
  newest: E;
}

/** Pure: the batch's events grouped per inventory item, in the order each item first appears. */
export function coalesce<E extends InventoryEvent>(events: readonly E[]): ItemEvents<E>[] {
  const byItem = new Map<string, ItemEvents<E>>();
  for (const event of events) {
    const key = itemKey(event);
    const current = byItem.get(key);
    if (!current) {
      const { variantId, inventoryItemId, locationId } = event;
      byItem.set(key, { key, variantId, inventoryItemId, locationId, events: [event], newest: event });
      continue;
    }
    current.events.push(event);
    if (event.inventoryVersion >= current.newest.inventoryVersion) current.newest = event;
  }
  return [...byItem.values()];
}

/** Pure: consecutive chunks of at most `size` elements. */
export function chunk<T>(items: readonly T[], size: number = MAX_QUANTITIES_PER_CALL): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError('chunk size must be a positive integer');
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

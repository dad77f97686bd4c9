import { chunk, itemKey, MAX_QUANTITIES_PER_CALL } from '../domain/coalesce.js';
import type { ShopifyClient } from './shopify.js';
import type { CallOptions } from './shopify-call.js';

/**
 * Shopify's `available` of inventory items at their locations: one `nodes(ids)` query per location
 * and 250 items. The confirm step reads it for a batch's items; reconciliation for every item.
 */

export const AVAILABLE_QUANTITIES_QUERY = `query AvailableQuantities($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $locationId) {
        quantities(names: ["available"]) {
          name
          quantity
        }
      }
    }
  }
}`;

export class ShopifyAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShopifyAnswerError';
  }
}

interface AvailableNode {
  id?: string;
  inventoryLevel?: { quantities?: Array<{ name?: string; quantity?: number }> } | null;
}

export const itemGid = (id: string) => `gid://shopify/InventoryItem/${id}`;
export const locationGid = (id: string) => `gid://shopify/Location/${id}`;

/**
 * Pure: Shopify's available quantity per inventory item gid from a `nodes` answer; null when the
 * node is missing (an item Shopify does not know) and undefined when the item is not stocked at the
 * location.
 */
export function readAvailable(data: unknown, ids: readonly string[]): Map<string, number | null | undefined> {
  const nodes = (data as { nodes?: unknown } | null)?.nodes;
  if (!Array.isArray(nodes) || nodes.length !== ids.length) {
    throw new ShopifyAnswerError(`nodes answered ${Array.isArray(nodes) ? nodes.length : 'no'} entries for ${ids.length} ids`);
  }
  const found = new Map<string, number | null | undefined>();
  nodes.forEach((node: AvailableNode | null, i) => {
    const id = ids[i]!;
    if (!node) return found.set(id, null);
    if (node.id !== undefined && node.id !== id) throw new ShopifyAnswerError(`nodes answered ${node.id} where ${id} was asked`);
    if (!node.inventoryLevel) return found.set(id, undefined);
    const available = node.inventoryLevel.quantities?.find((q) => q.name === 'available')?.quantity;
    if (typeof available !== 'number' || !Number.isInteger(available)) {
      throw new ShopifyAnswerError(`no integer available quantity for ${id}`);
    }
    found.set(id, available);
  });
  return found;
}

export interface Level {
  inventoryItemId: string;
  locationId: string;
}

/** Shopify's available per item key (`itemKey`): a number, null (unknown item) or undefined (not stocked there). */
export type Levels = Map<string, number | null | undefined>;

/** Reads the levels of these items, one query per location and `pageSize` items (at most 250). */
export async function readLevels(
  shopify: ShopifyClient,
  items: readonly Level[],
  options: CallOptions & { pageSize?: number } = {},
): Promise<Levels> {
  const { pageSize = MAX_QUANTITIES_PER_CALL, ...callOptions } = options;
  const byLocation = new Map<string, Level[]>();
  for (const item of items) byLocation.set(item.locationId, [...(byLocation.get(item.locationId) ?? []), item]);
  const levels: Levels = new Map();
  for (const [locationId, atLocation] of byLocation) {
    for (const page of chunk(atLocation, Math.min(pageSize, MAX_QUANTITIES_PER_CALL))) {
      const ids = page.map((i) => itemGid(i.inventoryItemId));
      const data = await shopify.query(
        { query: AVAILABLE_QUANTITIES_QUERY, variables: { ids, locationId: locationGid(locationId) } },
        { ...callOptions, logMeta: { operation: 'levels.read', items: ids.length, ...callOptions.logMeta } },
      );
      const available = readAvailable(data, ids);
      for (const item of page) levels.set(itemKey(item), available.get(itemGid(item.inventoryItemId)));
    }
  }
  return levels;
}

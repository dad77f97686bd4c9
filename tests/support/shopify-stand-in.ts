import { stackEnv } from './stack-env.js';

/**
 * The Shopify stand-in's test interface (docs/spec.md section 6.1, docs/shopify-stand-in.md): what
 * Shopify holds, and Shopify's own moves. Ids go as decimal strings. The stand-in is shared with
 * every test running at the same time: touch only your own random inventory items, never reset it.
 */

export type Id = number | string;

export interface LevelInput {
  inventoryItemId: Id;
  locationId: Id;
  available: number;
}

export type Cause = 'seed' | 'order' | 'restock' | 'set' | 'adjust';

export interface Level {
  inventoryItemId: string;
  locationId: string;
  available: number;
  history: Array<{ available: number; cause: Cause; at: string }>;
}

export interface ShopifyLineItem {
  inventoryItemId: Id;
  locationId: Id;
  quantity: number;
}

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${stackEnv().WIREMOCK_URL}/__admin/shopify/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} /__admin/shopify/${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

const ids = (level: LevelInput | ShopifyLineItem) => ({
  ...level,
  inventoryItemId: String(level.inventoryItemId),
  locationId: String(level.locationId),
});

/** Sets Shopify's available quantity of these items (history cause `seed`). */
export async function setShopifyLevels(levels: LevelInput[]): Promise<void> {
  await admin('PUT', 'inventory-levels', { levels: levels.map(ids) });
}

/** Shopify's level of one inventory item at each of its locations, with every change oldest first. */
export async function shopifyLevels(inventoryItemId: Id): Promise<Level[]> {
  const { levels } = (await admin('GET', `inventory-levels?inventoryItemId=${String(inventoryItemId)}`)) as { levels: Level[] };
  return levels;
}

/** Shopify's available quantity of one item at one location; undefined when Shopify does not stock it there. */
export async function shopifyAvailable(inventoryItemId: Id, locationId: Id): Promise<number | undefined> {
  return (await shopifyLevels(inventoryItemId)).find((l) => l.locationId === String(locationId))?.available;
}

/** Shopify takes an order itself, before its webhook leaves: available down (cause `order`). */
export async function shopifyTakesOrder(lineItems: ShopifyLineItem[]): Promise<void> {
  await admin('POST', 'orders', { lineItems: lineItems.map(ids) });
}

/** A merchant cancels or refunds with restock in Shopify: available up (cause `restock`). */
export async function shopifyRestocks(lineItems: ShopifyLineItem[]): Promise<void> {
  await admin('POST', 'restocks', { lineItems: lineItems.map(ids) });
}

/** The changes the system made (causes `set` and `adjust`) that raised Shopify's figure. */
export function raisesBySystem(level: Level): Array<{ from: number; to: number; cause: Cause }> {
  const raises: Array<{ from: number; to: number; cause: Cause }> = [];
  level.history.forEach((change, i) => {
    const before = level.history[i - 1];
    if (before && (change.cause === 'set' || change.cause === 'adjust') && change.available > before.available) {
      raises.push({ from: before.available, to: change.available, cause: change.cause });
    }
  });
  return raises;
}

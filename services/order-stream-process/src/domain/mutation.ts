import { createHash } from 'node:crypto';
import { compareShopifyIds } from '@oms/common';
import type { InventoryEvent } from './event.js';

export const INVENTORY_SET_QUANTITIES = `mutation InventorySetQuantities($input: InventorySetQuantitiesInput!, $idempotencyKey: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $idempotencyKey) {
    inventoryAdjustmentGroup {
      createdAt
      reason
      referenceDocumentUri
      changes {
        name
        delta
        quantityAfterChange
      }
    }
    userErrors {
      code
      field
      message
    }
  }
}`;

export interface QuantityInput {
  inventoryItemId: string;
  locationId: string;
  quantity: number;
  /** null opts out of Shopify's compare-and-set: this system is the source of truth for stock. */
  changeFromQuantity: null;
}

export interface InventorySetQuantitiesVariables {
  input: {
    name: 'available';
    reason: 'correction';
    referenceDocumentUri: string;
    quantities: QuantityInput[];
  };
  idempotencyKey: string;
}

export interface GraphqlRequest {
  query: string;
  variables: InventorySetQuantitiesVariables;
}

/** Fixed namespace of this system's idempotency keys (a UUID v5 namespace). */
const IDEMPOTENCY_NAMESPACE = 'b4f7c0de-5e1f-4c3a-9d2e-6a0b1c2d3e4f';

/** RFC 9562 UUID version 5 (SHA-1, name-based): the same name always gives the same UUID. */
export function uuidV5(name: string, namespace: string = IDEMPOTENCY_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  // Stryker disable next-line StringLiteral: Node reads an empty encoding name as utf8, the default
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The key depends only on which events' quantities are sent, and those fix every variable; so a
 * retry, even by another process after a restart, reuses it and Shopify applies the set once.
 */
export function idempotencyKeyFor(events: ReadonlyArray<Pick<InventoryEvent, 'eventId'>>): string {
  const ids = events.map((e) => e.eventId).sort();
  return uuidV5(ids.join(','));
}

const MAX_ORDERS_IN_URI = 20;

/**
 * Names the order behind the change for Shopify's adjustment history; a coalesced call names the
 * orders whose quantities it sets (the first few, sorted, then how many more) under its key. Only
 * the sent events count, so the same key always comes with the same variables.
 */
export function referenceDocumentUri(orderIds: readonly string[], idempotencyKey: string): string {
  const distinct = [...new Set(orderIds)].sort(compareShopifyIds);
  if (distinct.length === 1) return `gid://order-intake/Order/${distinct[0]}`;
  const shown = distinct.slice(0, MAX_ORDERS_IN_URI).join(',');
  const more = distinct.length > MAX_ORDERS_IN_URI ? `&more=${distinct.length - MAX_ORDERS_IN_URI}` : '';
  return `gid://order-intake/InventorySync/${idempotencyKey}?orders=${shown}${more}`;
}

/** One absolute quantity to set: what an event carries, or what a reconciliation repairs. */
export type QuantityToSet = Pick<InventoryEvent, 'eventId' | 'inventoryItemId' | 'locationId' | 'availableAfter'>;

/**
 * Pure: the inventorySetQuantities request of SPEC.md section 6 setting each item at its location
 * to its availableAfter, under the idempotency key of those ids; `reference` names, for Shopify's
 * adjustment history, what the change is for. One entry per inventory item.
 */
export function buildSetQuantitiesRequest(items: ReadonlyArray<QuantityToSet>, reference: (idempotencyKey: string) => string): GraphqlRequest {
  if (items.length === 0) throw new RangeError('at least one quantity is needed');
  const idempotencyKey = idempotencyKeyFor(items);
  return {
    query: INVENTORY_SET_QUANTITIES,
    variables: {
      input: {
        name: 'available',
        reason: 'correction',
        referenceDocumentUri: reference(idempotencyKey),
        quantities: items.map((e) => ({
          inventoryItemId: `gid://shopify/InventoryItem/${e.inventoryItemId}`,
          locationId: `gid://shopify/Location/${e.locationId}`,
          quantity: e.availableAfter,
          changeFromQuantity: null,
        })),
      },
      idempotencyKey,
    },
  };
}

/** Pure: the processor's write for the newest event of each item (coalesced before), naming their orders. */
export function buildInventorySetQuantities(latest: ReadonlyArray<InventoryEvent>): GraphqlRequest {
  return buildSetQuantitiesRequest(latest, (key) =>
    referenceDocumentUri(
      latest.map((e) => e.orderId),
      key,
    ),
  );
}

/**
 * Pure: which quantities of a call Shopify's userErrors blame, from their field paths
 * (`["input", "quantities", "3", "inventoryItemId"]`). Empty when no error points at one.
 */
export function blamedQuantityIndexes(
  userErrors: ReadonlyArray<{ field: readonly string[] | null }>,
  quantityCount: number,
): Set<number> {
  const blamed = new Set<number>();
  for (const { field } of userErrors) {
    const at = field?.indexOf('quantities') ?? -1;
    const index = at >= 0 ? Number(field![at + 1]) : NaN;
    if (Number.isInteger(index) && index >= 0 && index < quantityCount) blamed.add(index);
  }
  return blamed;
}

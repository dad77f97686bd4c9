import { createHash } from 'node:crypto';
import { compareShopifyIds } from '@oms/common';
import type { DeltaChange } from './sync-rule.js';

/**
 * The two writes the processor makes to Shopify's Admin GraphQL API (docs/spec.md section 6), as pure
 * request builders: a delta for what Shopify cannot know, and a compare-and-set for the confirm
 * step and reconciliation. Both carry `@idempotent` with a key derived from what they apply: a
 * delta's is its movement id.
 */

const USER_ERRORS = `userErrors {
      code
      field
      message
    }`;

export const INVENTORY_ADJUST_QUANTITIES = `mutation InventoryAdjustQuantities($input: InventoryAdjustQuantitiesInput!, $idempotencyKey: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $idempotencyKey) {
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
    ${USER_ERRORS}
  }
}`;

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
    ${USER_ERRORS}
  }
}`;

/**
 * A delta needs no compare: Shopify adds it to whatever it holds, so it commutes with Shopify's own
 * moves (the orders it takes, the restocks a merchant makes there) and has no expected figure to
 * check. Since 2026-04 `changeFromQuantity` is required on every change, and an explicit null is how
 * an adjustment says "no compare" (Shopify's changelog "Making changeFromQuantity field required").
 * This constant is the one place a null compare is written, and only adjustments use it: every set
 * this system sends compares (`CompareAndSetQuantity.changeFromQuantity` is a number).
 */
export const DELTA_WITHOUT_COMPARE = null;

export interface AdjustChangeInput {
  inventoryItemId: string;
  locationId: string;
  delta: number;
  changeFromQuantity: typeof DELTA_WITHOUT_COMPARE;
}

export interface CompareAndSetQuantityInput {
  inventoryItemId: string;
  locationId: string;
  quantity: number;
  /** What Shopify held when it was read: Shopify answers CHANGE_FROM_QUANTITY_STALE, and applies nothing, otherwise. */
  changeFromQuantity: number;
}

interface MutationInput {
  name: 'available';
  reason: 'correction';
  referenceDocumentUri: string;
}

export interface AdjustRequest {
  query: typeof INVENTORY_ADJUST_QUANTITIES;
  variables: { input: MutationInput & { changes: AdjustChangeInput[] }; idempotencyKey: string };
}

export interface SetRequest {
  query: typeof INVENTORY_SET_QUANTITIES;
  variables: { input: MutationInput & { quantities: CompareAndSetQuantityInput[] }; idempotencyKey: string };
}

export type MutationRequest = AdjustRequest | SetRequest;

/** Fixed namespace of this system's idempotency keys (a UUID v5 namespace). */
const IDEMPOTENCY_NAMESPACE = 'b4f7c0de-5e1f-4c3a-9d2e-6a0b1c2d3e4f';

/** RFC 9562 UUID version 5 (SHA-1, name-based): the same name always gives the same UUID. */
export function uuidV5(name: string, namespace: string = IDEMPOTENCY_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const bytes = createHash('sha1').update(ns).update(name).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const sortedIds = (ids: Iterable<string>) => [...new Set(ids)].sort(compareShopifyIds);

/**
 * The key of a delta: its movement id and nothing else. A call carries one movement (see
 * `buildAdjustRequest`), so a retry, the same movement in a batch redelivered after a restart with
 * more or fewer events around it, or a DLQ replay all carry this key, with the same variables, and
 * Shopify applies the movement once.
 */
export function adjustIdempotencyKey(movementId: string): string {
  return uuidV5(`adjust:${movementId}`);
}

/** One compare-and-set as decided: the item, what Shopify held, what it should hold, at which database version. */
export interface CompareAndSet {
  inventoryItemId: string;
  locationId: string;
  from: number;
  to: number;
  version: number;
}

/**
 * The key of a compare-and-set call: every (item, from, to, version) it holds, and `attempt` (the
 * confirm round, or the reconciliation run). A transport retry of the same request reuses it; a new
 * decision after a stale answer is a new request with a key of its own.
 */
export function setIdempotencyKey(sets: readonly CompareAndSet[], attempt: string): string {
  const entries = sets.map((s) => `${s.inventoryItemId}@${s.locationId}:${s.from}>${s.to}@v${s.version}`).sort();
  return uuidV5(`set:${entries.join(',')}#${attempt}`);
}

const MAX_IDS_IN_URI = 20;

/**
 * Names what a call applies for Shopify's adjustment history: one movement, or the first few
 * (sorted, then how many more) under the call's key. Only what the call holds counts, so the same
 * key always comes with the same variables.
 */
export function movementsUri(movementIds: readonly string[], idempotencyKey: string): string {
  const distinct = sortedIds(movementIds);
  if (distinct.length === 1) return `gid://order-intake/InventoryMovement/${distinct[0]}`;
  const shown = distinct.slice(0, MAX_IDS_IN_URI).join(',');
  const more = distinct.length > MAX_IDS_IN_URI ? `&more=${distinct.length - MAX_IDS_IN_URI}` : '';
  return `gid://order-intake/InventorySync/${idempotencyKey}?movements=${shown}${more}`;
}

const itemGid = (id: string) => `gid://shopify/InventoryItem/${id}`;
const locationGid = (id: string) => `gid://shopify/Location/${id}`;

/**
 * Pure: the inventoryAdjustQuantities request adding one movement's delta to Shopify's `available`.
 *
 * One movement per call, by design: the key must depend on the movement alone, and a call of several
 * would be keyed by its set of movements, which is only safe if every redelivery formed exactly the
 * same set; batch boundaries, a crash mid-batch and DLQ replays do not guarantee that. Deltas are
 * rare (restocks, corrections, WMS syncs; orders never are), so a call each costs little.
 * No `ledgerDocumentUri`: Shopify refuses one with `available` (INVALID_AVAILABLE_DOCUMENT), so the
 * movement is named in `referenceDocumentUri` instead.
 */
export function buildAdjustRequest(change: DeltaChange): AdjustRequest {
  const idempotencyKey = adjustIdempotencyKey(change.movementId);
  return {
    query: INVENTORY_ADJUST_QUANTITIES,
    variables: {
      input: {
        name: 'available',
        reason: 'correction',
        referenceDocumentUri: movementsUri([change.movementId], idempotencyKey),
        changes: [
          {
            inventoryItemId: itemGid(change.inventoryItemId),
            locationId: locationGid(change.locationId),
            delta: change.delta,
            changeFromQuantity: DELTA_WITHOUT_COMPARE,
          },
        ],
      },
      idempotencyKey,
    },
  };
}

/**
 * Pure: the inventorySetQuantities request setting each item from what Shopify held to what it
 * should hold, compare-and-set. `reference` names what the change is for under the call's key.
 */
export function buildCompareAndSetRequest(
  sets: readonly CompareAndSet[],
  attempt: string,
  reference: (idempotencyKey: string) => string,
): SetRequest {
  if (sets.length === 0) throw new RangeError('at least one quantity is needed');
  const idempotencyKey = setIdempotencyKey(sets, attempt);
  return {
    query: INVENTORY_SET_QUANTITIES,
    variables: {
      input: {
        name: 'available',
        reason: 'correction',
        referenceDocumentUri: reference(idempotencyKey),
        quantities: sets.map((s) => ({
          inventoryItemId: itemGid(s.inventoryItemId),
          locationId: locationGid(s.locationId),
          quantity: s.to,
          changeFromQuantity: s.from,
        })),
      },
      idempotencyKey,
    },
  };
}

/**
 * Pure: which entries of a call Shopify's userErrors blame, from their field paths
 * (`["input", "quantities", "3", "inventoryItemId"]`, or `changes` for an adjustment). Empty when
 * no error points at one.
 */
export function blamedIndexes(userErrors: ReadonlyArray<{ field: readonly string[] | null }>, count: number): Set<number> {
  const blamed = new Set<number>();
  for (const { field } of userErrors) {
    const at = field?.findIndex((f) => f === 'quantities' || f === 'changes') ?? -1;
    const index = at >= 0 ? Number(field![at + 1]) : NaN;
    if (Number.isInteger(index) && index >= 0 && index < count) blamed.add(index);
  }
  return blamed;
}

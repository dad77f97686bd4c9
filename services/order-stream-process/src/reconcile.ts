import { randomUUID } from 'node:crypto';
import type { Logger, ShopifyId } from '@oms/common';
import { ShopifyGaveUpError, type ShopifyClient } from './clients/shopify.js';
import type { StockItem, StockSource } from './clients/stock.js';
import { chunk, MAX_QUANTITIES_PER_CALL } from './domain/coalesce.js';
import { buildSetQuantitiesRequest } from './domain/mutation.js';

/**
 * Reconciliation (SPEC.md section 10): Shopify's available quantity of every stocked item is read
 * and, where it differs from the database (a missed event, a manual edit in the Shopify admin), set
 * back to the database's figure with the very write the processor makes. Shared by
 * `npm run reconcile` and the processor's RECONCILE_INTERVAL_MS.
 */

export const AVAILABLE_QUANTITIES_QUERY = `query ReconcileAvailableQuantities($ids: [ID!]!, $locationId: ID!) {
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

/** Items read per Shopify query: each costs about a point, so a page stays far below the bucket. */
export const DEFAULT_RECONCILE_PAGE_SIZE = 100;

export type DriftAction =
  /** Shopify was set to the database's quantity. */
  | 'repaired'
  /** --dry-run: found, left alone. */
  | 'reported'
  /** An order moved the product while we looked: its own event sets Shopify, a repair could be stale. */
  | 'skipped_changed'
  /** Shopify refused the repair after its retries. */
  | 'failed';

export interface Drift {
  productId: ShopifyId;
  sku: string;
  inventoryItemId: ShopifyId;
  locationId: ShopifyId;
  database: number;
  shopify: number;
  action: DriftAction;
  reason?: string;
}

/** Shopify does not know the item, or does not stock it at the location the database names. */
export interface Unmatched {
  productId: ShopifyId;
  sku: string;
  inventoryItemId: ShopifyId;
  locationId: ShopifyId;
  database: number;
  shopify: 'unknown_item' | 'not_stocked_at_location';
}

export interface ReconcileReport {
  runId: string;
  dryRun: boolean;
  checked: number;
  inSync: number;
  drifts: Drift[];
  unmatched: Unmatched[];
  startedAt: string;
  durationMs: number;
}

export interface ReconcileOptions {
  dryRun?: boolean;
  /** Only these products (default every product in the database). */
  productIds?: ShopifyId[];
  pageSize?: number;
  signal?: AbortSignal;
  /** Called as each drift is settled, so a long run shows its progress. */
  onDrift?: (drift: Drift) => void;
  onUnmatched?: (item: Unmatched) => void;
}

export interface ReconcilerDeps {
  stock: StockSource;
  shopify: ShopifyClient;
  logger: Logger;
}

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

const itemGid = (id: ShopifyId) => `gid://shopify/InventoryItem/${id}`;
const locationGid = (id: ShopifyId) => `gid://shopify/Location/${id}`;

/**
 * Pure: Shopify's available quantity per inventory item gid from a `nodes` answer; null when the
 * node is missing (unknown item) and undefined when the item is not stocked at the location.
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

function byLocation(items: readonly StockItem[]): Map<ShopifyId, StockItem[]> {
  const groups = new Map<ShopifyId, StockItem[]>();
  for (const item of items) groups.set(item.locationId, [...(groups.get(item.locationId) ?? []), item]);
  return groups;
}

export interface Reconciler {
  run(options?: ReconcileOptions): Promise<ReconcileReport>;
}

export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const { stock, shopify, logger } = deps;

  async function readShopify(items: StockItem[], locationId: ShopifyId, signal?: AbortSignal) {
    const ids = items.map((i) => itemGid(i.inventoryItemId));
    const data = await shopify.query(
      { query: AVAILABLE_QUANTITIES_QUERY, variables: { ids, locationId: locationGid(locationId) } },
      { signal, logMeta: { operation: 'reconcile.read', items: ids.length } },
    );
    return readAvailable(data, ids);
  }

  /** Sets the drifted items to the database's figure, unless an order moved them meanwhile. */
  async function repair(runId: string, drifted: Array<{ item: StockItem; shopify: number }>, signal?: AbortSignal): Promise<Drift[]> {
    const now = await stock.current(drifted.map((d) => d.item.productId));
    const settled: Drift[] = [];
    const toSet: Array<{ item: StockItem; shopify: number }> = [];
    for (const d of drifted) {
      const today = now.get(d.item.productId);
      const drift = { ...describe(d.item, d.shopify), database: today?.availableQuantity ?? d.item.availableQuantity };
      if (!today || today.version !== d.item.version) settled.push({ ...drift, action: 'skipped_changed' });
      else toSet.push(d);
    }
    for (const group of chunk(toSet, MAX_QUANTITIES_PER_CALL)) {
      const request = buildSetQuantitiesRequest(
        group.map(({ item }) => ({
          eventId: randomUUID(),
          inventoryItemId: item.inventoryItemId,
          locationId: item.locationId,
          availableAfter: item.availableQuantity,
        })),
        () => `gid://order-intake/Reconciliation/${runId}`,
      );
      try {
        await shopify.setInventoryQuantities(request, {
          signal,
          logMeta: { operation: 'reconcile.repair', runId, idempotencyKey: request.variables.idempotencyKey },
        });
        settled.push(...group.map((d) => ({ ...describe(d.item, d.shopify), action: 'repaired' as const })));
      } catch (err) {
        if (!(err instanceof ShopifyGaveUpError)) throw err;
        settled.push(...group.map((d) => ({ ...describe(d.item, d.shopify), action: 'failed' as const, reason: err.message })));
      }
    }
    return settled;
  }

  const describe = (item: StockItem, shopifyQuantity: number) => ({
    productId: item.productId,
    sku: item.sku,
    inventoryItemId: item.inventoryItemId,
    locationId: item.locationId,
    database: item.availableQuantity,
    shopify: shopifyQuantity,
  });

  return {
    async run(options = {}) {
      const { dryRun = false, signal, onDrift = () => undefined, onUnmatched = () => undefined } = options;
      const pageSize = Math.min(options.pageSize ?? DEFAULT_RECONCILE_PAGE_SIZE, MAX_QUANTITIES_PER_CALL);
      const runId = randomUUID();
      const started = Date.now();
      const report: ReconcileReport = {
        runId,
        dryRun,
        checked: 0,
        inSync: 0,
        drifts: [],
        unmatched: [],
        startedAt: new Date(started).toISOString(),
        durationMs: 0,
      };
      logger.info(`reconciliation ${runId} started${dryRun ? ' (dry run)' : ''}`, { event: 'inventory.reconcile.started', runId, dryRun });

      for await (const page of stock.pages({ productIds: options.productIds, pageSize })) {
        for (const [locationId, items] of byLocation(page)) {
          signal?.throwIfAborted();
          const available = await readShopify(items, locationId, signal);
          const drifted: Array<{ item: StockItem; shopify: number }> = [];
          for (const item of items) {
            report.checked += 1;
            const held = available.get(itemGid(item.inventoryItemId));
            if (held === null || held === undefined) {
              const unmatched: Unmatched = {
                ...describe(item, 0),
                shopify: held === null ? 'unknown_item' : 'not_stocked_at_location',
              };
              report.unmatched.push(unmatched);
              onUnmatched(unmatched);
              logger.warn(`product ${item.productId} (${item.sku}) cannot be compared: ${unmatched.shopify.replace(/_/g, ' ')} in Shopify`, {
                event: 'inventory.reconcile.unmatched',
                runId,
                productId: item.productId,
                inventoryItemId: item.inventoryItemId,
                locationId: item.locationId,
                reason: unmatched.shopify,
              });
            } else if (held === item.availableQuantity) {
              report.inSync += 1;
            } else {
              drifted.push({ item, shopify: held });
            }
          }
          const settled = dryRun
            ? drifted.map((d) => ({ ...describe(d.item, d.shopify), action: 'reported' as const }))
            : drifted.length > 0
              ? await repair(runId, drifted, signal)
              : [];
          for (const drift of settled) {
            report.drifts.push(drift);
            onDrift(drift);
            logger.warn(`product ${drift.productId} (${drift.sku}): Shopify holds ${drift.shopify}, the database ${drift.database}: ${drift.action}`, {
              event: 'inventory.reconcile.drift',
              runId,
              ...drift,
            });
          }
        }
      }

      report.durationMs = Date.now() - started;
      const count = (action: DriftAction) => report.drifts.filter((d) => d.action === action).length;
      logger.info(
        `reconciliation ${runId} finished: ${report.checked} checked, ${report.inSync} in sync, ${report.drifts.length} drifted ` +
          `(${count('repaired')} repaired, ${count('reported')} reported, ${count('skipped_changed')} changed meanwhile, ${count('failed')} failed), ` +
          `${report.unmatched.length} not comparable`,
        {
          event: 'inventory.reconcile.finished',
          runId,
          dryRun,
          checked: report.checked,
          inSync: report.inSync,
          repaired: count('repaired'),
          reported: count('reported'),
          skippedChanged: count('skipped_changed'),
          failed: count('failed'),
          unmatched: report.unmatched.length,
          durationMs: report.durationMs,
        },
      );
      return report;
    },
  };
}

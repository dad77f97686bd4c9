import type { ShopifyClient } from '../../clients/shopify.js';
import { isStale, ShopifyGaveUpError } from '../../clients/shopify-call.js';
import type { StockSource } from '../../clients/stock.js';
import { chunk, MAX_QUANTITIES_PER_CALL } from '../../domain/coalesce.js';
import { blamedIndexes, buildCompareAndSetRequest } from '../../domain/mutation.js';
import type { Drift, DriftAction } from '../../domain/reconciliation.js';
import { drift, type Drifted } from './drift.js';

/** Sets drifted items from what Shopify held to the database's figure, compare-and-set. */
async function setGroup(shopify: ShopifyClient, runId: string, group: Drifted[], signal?: AbortSignal): Promise<Drift[]> {
  const request = buildCompareAndSetRequest(
    group.map(({ item, shopify: from }) => ({
      inventoryItemId: item.inventoryItemId,
      locationId: item.locationId,
      from,
      to: item.availableQuantity,
      version: item.version,
    })),
    `reconcile-${runId}`,
    () => `gid://order-intake/Reconciliation/${runId}`,
  );
  const { idempotencyKey } = request.variables;
  try {
    await shopify.setInventoryQuantities(request, { signal, logMeta: { operation: 'reconcile.repair', runId, idempotencyKey } });
    return group.map((d) => drift(d, 'repaired'));
  } catch (err) {
    if (!(err instanceof ShopifyGaveUpError)) throw err;
    const stale = isStale(err.last);
    const action: DriftAction = stale ? 'skipped_changed' : 'failed';
    const reason = stale ? 'Shopify moved since the read (CHANGE_FROM_QUANTITY_STALE); the next run looks again' : err.message;
    const blamed = blamedIndexes(err.last.userErrors, group.length);
    if (blamed.size === 0 || blamed.size === group.length) return group.map((d) => drift(d, action, reason));
    // Shopify applied nothing of the call: the items it did not blame go again on their own.
    const others = await setGroup(
      shopify,
      runId,
      group.filter((_, i) => !blamed.has(i)),
      signal,
    );
    return [...group.filter((_, i) => blamed.has(i)).map((d) => drift(d, action, reason)), ...others];
  }
}

/** Repairs drifted items, unless the variant moved meanwhile (its own event brings Shopify in line). */
export async function repair(
  deps: { stock: StockSource; shopify: ShopifyClient },
  runId: string,
  drifted: Drifted[],
  signal?: AbortSignal,
): Promise<Drift[]> {
  const now = await deps.stock.current(
    drifted.map((d) => d.item.variantId),
    { signal },
  );
  const settled: Drift[] = [];
  const toSet: Drifted[] = [];
  for (const d of drifted) {
    const today = now.get(d.item.variantId);
    if (!today || today.version !== d.item.version)
      settled.push({ ...drift(d, 'skipped_changed'), database: today?.availableQuantity ?? d.item.availableQuantity });
    else toSet.push(d);
  }
  for (const group of chunk(toSet, MAX_QUANTITIES_PER_CALL)) settled.push(...(await setGroup(deps.shopify, runId, group, signal)));
  return settled;
}

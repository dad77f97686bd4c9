import type { Logger } from '@oms/common';
import type { ShopifyClient } from '../../clients/shopify.js';
import { readLevels } from '../../clients/shopify-levels.js';
import type { StockItem } from '../../clients/stock.js';
import { itemKey } from '../../domain/coalesce.js';
import type { ReconcileReport, Unmatched } from '../../domain/reconciliation.js';
import { describe, type Drifted } from './drift.js';

/** Compares one page of the database with Shopify; returns the drifted items. */
export async function compare(
  deps: { shopify: ShopifyClient; logger: Logger },
  runId: string,
  page: StockItem[],
  report: ReconcileReport,
  options: { signal?: AbortSignal; onUnmatched?: (item: Unmatched) => void },
): Promise<Drifted[]> {
  const { shopify, logger } = deps;
  const levels = await readLevels(shopify, page, { signal: options.signal, logMeta: { operation: 'reconcile.read', runId } });
  const drifted: Drifted[] = [];
  for (const item of page) {
    report.checked += 1;
    const held = levels.get(itemKey(item));
    if (typeof held === 'number') {
      if (held === item.availableQuantity) report.inSync += 1;
      else drifted.push({ item, shopify: held });
      continue;
    }
    const unmatched: Unmatched = { ...describe(item), shopify: held === null ? 'unknown_item' : 'not_stocked_at_location' };
    report.unmatched.push(unmatched);
    options.onUnmatched?.(unmatched);
    logger.warn(`variant ${item.variantId} (${item.sku}) cannot be compared: ${unmatched.shopify.replace(/_/g, ' ')} in Shopify`, {
      event: 'inventory.reconcile.unmatched',
      runId,
      variantId: item.variantId,
      inventoryItemId: item.inventoryItemId,
      locationId: item.locationId,
      reason: unmatched.shopify,
    });
  }
  return drifted;
}

/**
 * `npm run reconcile [-- --dry-run] [--variant <id>[,<id>…]] [--product <id>[,<id>…]]`: compares
 * Shopify's available quantity of every stocked variant with the database and sets Shopify to the
 * database's figure where they differ, compare-and-set from the figure it read (docs/operations.md).
 * Exit code 0 when every drift was repaired (or reported, with --dry-run), 1 when a repair or the
 * run failed, 64 on a usage mistake.
 */
import { createLogger, isShopifyId, SHOPIFY_ID_RULE } from '@oms/common';
import { createShopifyClient } from '../services/order-stream-process/src/clients/shopify.js';
import { accessTokenSource, toolShopifyCredentials } from '../services/order-stream-process/src/clients/shopify-token.js';
import { createStockSource } from '../services/order-stream-process/src/clients/stock.js';
import type { Drift, Unmatched } from '../services/order-stream-process/src/domain/reconciliation.js';
import { createReconciler } from '../services/order-stream-process/src/use-cases/reconcile/reconcile.js';
import { parseFlags, required, TOOL_LOG_LEVEL, toolEnv, UsageError } from './stack-env.js';

const USAGE = 'usage: npm run reconcile [-- --dry-run] [--variant <id>[,<id>…]] [--product <id>[,<id>…]] [--page-size <n>]';

const arrow = (d: Drift) =>
  d.action === 'reported' ? 'would set' : d.action === 'repaired' ? 'set' : d.action === 'skipped_changed' ? 'skipped' : 'FAILED';

function printDrift(d: Drift): void {
  const why = d.reason
    ? `: ${d.reason}`
    : d.action === 'skipped_changed'
      ? ' (a movement changed it meanwhile; its own event brings Shopify in line)'
      : '';
  console.log(
    `drift  variant ${d.variantId} ${d.sku}  item ${d.inventoryItemId} @ location ${d.locationId}: ` +
      `Shopify ${d.shopify}, database ${d.database}  → ${arrow(d)} ${d.database}${why}`,
  );
}

function printUnmatched(u: Unmatched): void {
  const what =
    u.shopify === 'unknown_item' ? 'Shopify does not know this inventory item' : 'Shopify does not stock this item at this location';
  console.log(
    `skip   variant ${u.variantId} ${u.sku}  item ${u.inventoryItemId} @ location ${u.locationId}: ${what} (database ${u.database})`,
  );
}

async function main(args: string[]): Promise<number> {
  const flags = parseFlags(args, { values: ['variant', 'product', 'page-size'], switches: ['dry-run', 'help'] });
  if (flags.switches.has('help')) {
    console.log(USAGE);
    return 0;
  }
  const ids = (flag: string) => {
    const list = flags.values
      .get(flag)
      ?.flatMap((v) => v.split(','))
      .map((v) => v.trim());
    for (const id of list ?? []) if (!isShopifyId(id)) throw new UsageError(`--${flag} ${id}: ${SHOPIFY_ID_RULE}`);
    return list;
  };
  const variantIds = ids('variant');
  const productIds = ids('product');
  const pageSize = Number(flags.values.get('page-size')?.[0] ?? 100);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 250) throw new UsageError('--page-size must be an integer from 1 to 250');
  const dryRun = flags.switches.has('dry-run');

  const env = toolEnv();
  const credentials = toolShopifyCredentials(env);
  const internalToken = required(env, 'INTERNAL_API_TOKEN');
  const logger = createLogger({
    service: 'reconcile',
    level: TOOL_LOG_LEVEL,
    secrets: [env('SHOPIFY_ACCESS_TOKEN'), env('SHOPIFY_CLIENT_SECRET'), internalToken],
  });
  const baseUrl = required(env, 'SHOPIFY_ADMIN_BASE_URL');
  const shopify = createShopifyClient({
    baseUrl,
    apiVersion: required(env, 'SHOPIFY_API_VERSION'),
    tokens: accessTokenSource(credentials, { baseUrl, timeoutMs: 10_000, logger }),
    timeoutMs: 10_000,
    logger,
  });
  const dataApiUrl = required(env, 'DATA_API_URL');
  const reconciler = createReconciler({
    stock: createStockSource({ baseUrl: dataApiUrl, token: internalToken, timeoutMs: 10_000 }),
    shopify,
    logger,
  });

  console.log(`reconcile${dryRun ? ' --dry-run (nothing is changed)' : ''}: database via ${dataApiUrl}, Shopify at ${shopify.endpoint}`);
  const report = await reconciler.run({ dryRun, variantIds, productIds, pageSize, onDrift: printDrift, onUnmatched: printUnmatched });
  const count = (action: Drift['action']) => report.drifts.filter((d) => d.action === action).length;
  const fixed = dryRun
    ? `${count('reported')} to repair`
    : `${count('repaired')} repaired, ${count('skipped_changed')} skipped, ${count('failed')} failed`;
  console.log(
    `${report.checked} checked, ${report.inSync} in sync, ${report.drifts.length} drifted (${fixed}), ` +
      `${report.unmatched.length} not comparable, in ${(report.durationMs / 1000).toFixed(1)} s (run ${report.runId})`,
  );
  return count('failed') > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`reconcile failed: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof UsageError) console.error(USAGE);
    process.exitCode = err instanceof UsageError ? 64 : 1;
  },
);

/**
 * `npm run catalogue -- import [--dry-run] [--page-size <n>] [--currency <ISO 4217>]`: fills the
 * inventory from Shopify's catalogue and the WMS's stock (docs/spec.md section 10, docs/operations.md
 * "Catalogue import"). Adds each new variant with the WMS's figure as one `import` movement,
 * refreshes the ids, title, price and SKU of known ones (never their stock), skips what it cannot
 * stock and says why. Running it twice changes nothing. `--dry-run` reads everything, writes
 * nothing, and prints the same report. Exit code 0 when every page was written (skips are not
 * failures), 1 when a read, a page or the Shopify step failed, 64 on a usage mistake.
 */
import { randomUUID } from 'node:crypto';
import { createLogger, isShopifyId, SHOPIFY_ID_RULE } from '@oms/common';
import { createWmsClient } from '../services/order-manage-api/src/clients/wms.js';
import { createShopifyClient } from '../services/order-stream-process/src/clients/shopify.js';
import { accessTokenSource, toolShopifyCredentials } from '../services/order-stream-process/src/clients/shopify-token.js';
import { createStockSource } from '../services/order-stream-process/src/clients/stock.js';
import type { Drift, Unmatched } from '../services/order-stream-process/src/domain/reconciliation.js';
import { createReconciler } from '../services/order-stream-process/src/use-cases/reconcile/reconcile.js';
import {
  MAX_SHOPIFY_PAGE,
  planImport,
  readKnownVariants,
  readShopifyCatalogue,
  readWmsStock,
  sendPage,
  SKIP_REASONS,
  whileDataApiComesBack,
  type SkipReason,
  type VariantResult,
} from './catalogue-import.js';
import { parseFlags, required, TOOL_LOG_LEVEL, toolEnv, UsageError, runCommands } from './stack-env.js';

const USAGE = 'usage: npm run catalogue -- import [--dry-run] [--page-size <1-250>] [--currency <ISO 4217 code, default USD>]';

/** Variants per data-api page: one transaction each. */
const DATA_API_PAGE = 250;
/** Variants per reconciliation run of the Shopify step. */
const RECONCILE_SLICE = 1_000;
/** SKUs asked per WMS list page (the WMS may answer fewer). */
const WMS_PAGE = 1_000;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function describeResult(r: VariantResult): string | undefined {
  switch (r.outcome) {
    case 'added':
      return `added      variant ${r.variantId} ${r.sku}: ${r.available} in stock from the WMS${r.movementId ? ` (import movement ${r.movementId})` : ''}`;
    case 'refreshed':
      return `refreshed  variant ${r.variantId} ${r.sku}: ${r.changes.map((c) => `${c.field} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`).join(', ')}`;
    case 'skipped':
      return `skipped    variant ${r.variantId} ${r.sku}: ${r.reason} (${SKIP_REASONS[r.reason]}): ${r.detail}`;
    case 'unchanged':
      return undefined;
  }
}

async function importCatalogue(args: string[]): Promise<number> {
  const flags = parseFlags(args, { values: ['page-size', 'currency'], switches: ['dry-run', 'help'] });
  if (flags.switches.has('help')) {
    console.log(USAGE);
    return 0;
  }
  const pageSize = Number(flags.values.get('page-size')?.[0] ?? MAX_SHOPIFY_PAGE);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_SHOPIFY_PAGE)
    throw new UsageError(`--page-size must be an integer from 1 to ${MAX_SHOPIFY_PAGE}`);
  const currency = flags.values.get('currency')?.[0] ?? 'USD';
  if (!/^[A-Z]{3}$/.test(currency)) throw new UsageError('--currency must be an ISO 4217 code such as USD');
  const dryRun = flags.switches.has('dry-run');

  const env = toolEnv();
  const credentials = toolShopifyCredentials(env);
  const internalToken = required(env, 'INTERNAL_API_TOKEN');
  const wmsKey = required(env, 'WMS_API_KEY');
  const locationId = required(env, 'SHOPIFY_LOCATION_ID');
  if (!isShopifyId(locationId)) throw new UsageError(`SHOPIFY_LOCATION_ID ${locationId}: ${SHOPIFY_ID_RULE}`);
  const logger = createLogger({
    service: 'catalogue-import',
    level: TOOL_LOG_LEVEL,
    secrets: [env('SHOPIFY_ACCESS_TOKEN'), env('SHOPIFY_CLIENT_SECRET'), internalToken, wmsKey],
  });
  const baseUrl = required(env, 'SHOPIFY_ADMIN_BASE_URL');
  const tokens = accessTokenSource(credentials, { baseUrl, timeoutMs: 10_000, logger });
  // Each client learns a call's cost from the calls it made: a catalogue page costs about a point a
  // variant, a level read about a point an item, so the two steps get a client each (one after the other).
  const shopifyClient = () =>
    createShopifyClient({ baseUrl, apiVersion: required(env, 'SHOPIFY_API_VERSION'), tokens, timeoutMs: 10_000, logger });
  const shopify = shopifyClient();
  const wmsBaseUrl = required(env, 'WMS_BASE_URL');
  const wms = createWmsClient({ baseUrl: wmsBaseUrl, apiKey: wmsKey, timeoutMs: 10_000, backoffMs: 500 });
  const dataApiUrl = required(env, 'DATA_API_URL');
  const stock = createStockSource({ baseUrl: dataApiUrl, token: internalToken, timeoutMs: 10_000 });
  const runId = randomUUID();
  const started = Date.now();

  console.log(
    `catalogue import${dryRun ? ' --dry-run (nothing is written)' : ''}: Shopify at ${shopify.endpoint}, WMS at ${wmsBaseUrl}, ` +
      `database via ${dataApiUrl}, location ${locationId} (run ${runId})`,
  );

  let mark = Date.now();
  let nextProgress = 5_000;
  const catalogue = await readShopifyCatalogue(shopify, pageSize, (read) => {
    if (read >= nextProgress) {
      console.log(`  … ${read} variants read from Shopify (${seconds(Date.now() - mark)})`);
      nextProgress += 5_000;
    }
  });
  console.log(`Shopify: ${catalogue.variants.length} variant(s) read in ${catalogue.pages} page(s), ${seconds(Date.now() - mark)}`);
  mark = Date.now();
  const wmsStock = await readWmsStock(wms, WMS_PAGE);
  console.log(`WMS: ${wmsStock.stock.size} SKU(s) read in ${wmsStock.pages} page(s), ${seconds(Date.now() - mark)}`);
  mark = Date.now();
  const known = await whileDataApiComesBack(() => readKnownVariants(stock));
  console.log(`database: ${known.length} variant(s) before the import, read in ${seconds(Date.now() - mark)}`);

  const plan = planImport(catalogue.variants, wmsStock.stock, known, DATA_API_PAGE);
  const skipped = new Map<SkipReason, number>();
  for (const s of plan.skips) {
    skipped.set(s.reason, (skipped.get(s.reason) ?? 0) + 1);
    console.log(
      `skipped    variant ${s.variantId ?? s.gid} ${s.sku?.trim() ? s.sku : '(no SKU)'}: ${s.reason} (${SKIP_REASONS[s.reason]})${s.detail !== SKIP_REASONS[s.reason] ? `: ${s.detail}` : ''}`,
    );
  }

  mark = Date.now();
  const results: VariantResult[] = [];
  let failure: unknown;
  for (const variants of plan.pages) {
    try {
      const answered = await sendPage(
        { baseUrl: dataApiUrl, token: internalToken, timeoutMs: 30_000 },
        {
          locationId,
          currency,
          reference: `catalogue-import:${runId}`,
          dryRun,
          variants,
        },
      );
      for (const r of answered) {
        results.push(r);
        if (r.outcome === 'skipped') skipped.set(r.reason, (skipped.get(r.reason) ?? 0) + 1);
        const line = describeResult(r);
        if (line) console.log(line);
      }
    } catch (err) {
      failure = err;
      break;
    }
  }
  const count = (outcome: VariantResult['outcome']) => results.filter((r) => r.outcome === outcome).length;
  const written = seconds(Date.now() - mark);

  // Shopify's figure of an item the import gave the system was never the system's. A new variant with
  // stock has an import movement, and the stream brings Shopify to it; one added at 0 has no movement,
  // and a refresh that changed the inventory item moved none: those are set here, compare-and-set.
  const toSet = results.filter(
    (r) =>
      (r.outcome === 'added' && r.available === 0) || (r.outcome === 'refreshed' && r.changes.some((c) => c.field === 'inventoryItemId')),
  );
  let shopifyFailed = false;
  if (toSet.length > 0 && failure === undefined) {
    if (dryRun) {
      console.log(
        `Shopify: ${toSet.length} variant(s) without an import movement (added at 0, or a new inventory item) would be brought to the database's figure`,
      );
    } else {
      const reconciler = createReconciler({ stock, shopify: shopifyClient(), logger });
      let checked = 0;
      let set = 0;
      // In slices, each run again on its own if the data-api goes away meanwhile (a compare-and-set is safe to repeat).
      for (let i = 0; i < toSet.length; i += RECONCILE_SLICE) {
        const variantIds = toSet.slice(i, i + RECONCILE_SLICE).map((r) => r.variantId);
        const report = await whileDataApiComesBack(() =>
          reconciler.run({
            variantIds,
            onDrift: (d: Drift) =>
              console.log(
                `shopify    variant ${d.variantId} ${d.sku}: Shopify ${d.shopify}, database ${d.database} → ${d.action === 'repaired' ? `set ${d.database}` : d.action}${d.reason ? `: ${d.reason}` : ''}`,
              ),
            onUnmatched: (u: Unmatched) =>
              console.log(
                `shopify    variant ${u.variantId} ${u.sku}: ${u.shopify === 'unknown_item' ? 'Shopify does not know its inventory item' : `Shopify does not stock it at location ${u.locationId}`}; nothing set`,
              ),
          }),
        );
        checked += report.checked;
        set += report.drifts.filter((d) => d.action === 'repaired').length;
        shopifyFailed ||= report.drifts.some((d) => d.action === 'failed');
      }
      console.log(`Shopify: ${checked} variant(s) without an import movement checked, ${set} set to the database's figure`);
    }
  }

  const reasons = (Object.keys(SKIP_REASONS) as SkipReason[])
    .flatMap((reason) => (skipped.has(reason) ? [`${reason} ${skipped.get(reason)}`] : []))
    .join(', ');
  console.log(
    `${count('added')} added, ${count('refreshed')} refreshed, ${count('unchanged')} unchanged, ${plan.skips.length + count('skipped')} skipped` +
      `${reasons ? ` (${reasons})` : ''}; ${plan.notInCatalogue} variant(s) of the database not in Shopify's catalogue, left as they are; ` +
      `pages written in ${written}, ${seconds(Date.now() - started)} in all${dryRun ? ' (dry run: nothing written)' : ''}`,
  );
  if (failure !== undefined) {
    console.error(
      `catalogue import stopped: ${failure instanceof Error ? failure.message : String(failure)}. ` +
        'The pages before it are written; running the import again is safe and carries on.',
    );
    return 1;
  }
  return shopifyFailed ? 1 : 0;
}

runCommands('catalogue import', USAGE, { import: importCatalogue });

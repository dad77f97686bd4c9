/**
 * `npm run stock -- adjust --sku <sku> (--delta <n> | --set <n>) --reason <restock|correction> --key <key>`:
 * one adjustment through the data-api's `POST /api/inventory/adjustments` (docs/spec.md section 10).
 * `npm run stock -- sync-wms [--dry-run] [--page-size <n>]`: brings every variant's stock to the WMS's
 * figure with one `wms_sync` movement per variant that differs (docs/operations.md).
 * Exit code 0 when done (or nothing to do), 1 when refused or failed, 64 on a usage mistake.
 */
import { createLogger, httpRequest, isShopifyId, type Problem } from '@oms/common';
import { createWmsClient } from '../services/order-manage-api/src/clients/wms.js';
import {
  createWmsSync,
  DEFAULT_WMS_SYNC_PAGE_SIZE,
  type WmsDifference,
  type WmsSyncReport,
} from '../services/order-manage-api/src/wms-sync.js';
import { parseFlags, required, TOOL_LOG_LEVEL, toolEnv, UsageError, runCommands } from './stack-env.js';

const USAGE = [
  'usage: npm run stock -- adjust (--sku <sku> | --variant <id>) (--delta <n> | --set <n>) --reason <restock|correction> --key <key>',
  '       npm run stock -- sync-wms [--dry-run] [--page-size <n>]',
].join('\n');

/** Lines of a long list printed before "… and N more". */
const LIST_LIMIT = 20;

interface MovementView {
  id: string;
  variantId: string;
  sku: string;
  delta: number;
  reason: string;
  reference: string;
  availableAfter: number;
  versionAfter: number;
  createdAt: string;
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

function integer(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--${flag} ${value}: must be a whole number`);
  return Number(value.trim());
}

function single(flags: ReturnType<typeof parseFlags>, name: string): string | undefined {
  const values = flags.values.get(name);
  if (values && values.length > 1) throw new UsageError(`--${name} given ${values.length} times`);
  return values?.[0];
}

async function adjust(args: string[]): Promise<number> {
  const flags = parseFlags(args, { values: ['sku', 'variant', 'delta', 'set', 'reason', 'key'], switches: ['help'] });
  if (flags.switches.has('help')) {
    console.log(USAGE);
    return 0;
  }
  const sku = single(flags, 'sku');
  const variantId = single(flags, 'variant');
  const delta = integer('delta', single(flags, 'delta'));
  const set = integer('set', single(flags, 'set'));
  const reason = single(flags, 'reason');
  const key = single(flags, 'key');
  if ((sku === undefined) === (variantId === undefined)) throw new UsageError('name the variant with exactly one of --sku or --variant');
  if (variantId !== undefined && !isShopifyId(variantId)) throw new UsageError(`--variant ${variantId}: must be a Shopify variant id`);
  if ((delta === undefined) === (set === undefined)) throw new UsageError('give exactly one of --delta or --set');
  if (delta === 0) throw new UsageError('--delta 0 changes nothing; give a positive or negative number');
  if (set !== undefined && set < 0) throw new UsageError('--set must be 0 or more');
  if (reason !== 'restock' && reason !== 'correction')
    throw new UsageError('--reason must be restock (units arrived) or correction (a count was wrong)');
  if (!key || key.length > 255) throw new UsageError('--key is required (1-255 characters): the same key again never adjusts twice');

  const env = toolEnv();
  const token = required(env, 'INTERNAL_API_TOKEN');
  const dataApiUrl = required(env, 'DATA_API_URL').replace(/\/+$/, '');
  const body = { ...(sku !== undefined ? { sku } : { variantId }), ...(delta !== undefined ? { delta } : { set }), reason, key };
  const answer = await httpRequest(`${dataApiUrl}/api/inventory/adjustments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
    timeoutMs: 30_000,
  });
  const json = (() => {
    try {
      return JSON.parse(answer.text) as Record<string, unknown>;
    } catch {
      return {};
    }
  })();
  const target = sku !== undefined ? `SKU ${sku}` : `variant ${variantId}`;
  if (answer.status === 201 || answer.status === 200) {
    const movement = json.movement as MovementView | null;
    if (movement) {
      const what = `variant ${movement.variantId} ${movement.sku}: ${signed(movement.delta)} ${movement.reason} → available ${movement.availableAfter} (movement ${movement.id}, key ${key})`;
      console.log(
        answer.status === 201
          ? `adjusted  ${what}`
          : `already done  ${what}; this key was used before with the same request, nothing changed now`,
      );
      if (answer.status === 201) console.log('Shopify follows through the stream: the movement is sent to it as a delta, once.');
    } else {
      const stock = json as { variantId?: string; sku?: string; availableQuantity?: number };
      console.log(
        `unchanged  variant ${stock.variantId} ${stock.sku} already holds ${stock.availableQuantity}: nothing written (key ${key})`,
      );
    }
    return 0;
  }
  const problem = json as Partial<Problem>;
  const explain: Record<string, string> = {
    IDEMPOTENCY_KEY_REUSED: `key ${key} was used before for another adjustment: pick a new key for a new adjustment`,
    INSUFFICIENT_INVENTORY: 'the change would leave less than zero; nothing was changed',
    VARIANT_NOT_FOUND: `${target} is not in the inventory (npm run catalogue -- import adds the shop's variants)`,
    UNAUTHORIZED: 'the data-api refused INTERNAL_API_TOKEN',
  };
  console.error(`refused  ${answer.status} ${problem.code ?? ''}: ${problem.detail ?? answer.text.slice(0, 500)}`);
  if (problem.code && explain[problem.code]) console.error(`         ${explain[problem.code]}`);
  for (const item of (problem.items as Array<Record<string, unknown>> | undefined) ?? []) {
    console.error(
      `         variant ${String(item.variantId)} ${String(item.sku)}: holds ${String(item.available)}, asked to take ${String(item.requested)}`,
    );
  }
  return 1;
}

function printList<T>(items: T[], line: (item: T) => string): void {
  for (const item of items.slice(0, LIST_LIMIT)) console.log(line(item));
  if (items.length > LIST_LIMIT) console.log(`           … and ${items.length - LIST_LIMIT} more`);
}

function printReport(report: WmsSyncReport): void {
  const { dryRun } = report;
  const changeLine = (c: WmsDifference) =>
    dryRun
      ? `would set  variant ${c.variantId} ${c.sku}: ours ${c.before}, WMS ${c.wms} (${signed(c.delta)})`
      : `set        variant ${c.variantId} ${c.sku}: ${c.before} → ${c.wms} (${signed(c.delta)}), movement ${c.movementId}`;
  for (const change of report.changed) console.log(changeLine(change));
  printList(report.alreadySynced, (v) => `done       variant ${v.variantId} ${v.sku}: this run had synced it already`);
  printList(
    report.unknownSkus,
    (sku) =>
      `unknown    SKU ${sku}: the WMS lists it, the inventory does not hold it (not added; npm run catalogue -- import adds variants)`,
  );
  printList(report.duplicateSkus, (sku) => `duplicate  SKU ${sku}: listed again by the WMS; its first figure counted`);
  printList(report.invalid, (i) => `invalid    SKU ${i.sku}: the WMS says ${i.availableQuantity}, which no stock can be; left alone`);
  printList(report.absent, (v) => `absent     variant ${v.variantId} ${v.sku}: not in the WMS list; left at ${v.availableQuantity}`);
  console.log(
    `${report.listed} listed by the WMS in ${report.pages} page(s): ${report.changed.length} ${dryRun ? 'differ (nothing written)' : 'brought to the WMS figure'}, ` +
      `${report.unchanged} already equal, ${report.unknownSkus.length} unknown SKU(s), ${report.absent.length} variant(s) not listed, ` +
      `in ${(report.durationMs / 1000).toFixed(1)} s (run ${report.runId})`,
  );
}

async function syncWms(args: string[]): Promise<number> {
  const flags = parseFlags(args, { values: ['page-size'], switches: ['dry-run', 'help'] });
  if (flags.switches.has('help')) {
    console.log(USAGE);
    return 0;
  }
  const pageSize = integer('page-size', single(flags, 'page-size')) ?? DEFAULT_WMS_SYNC_PAGE_SIZE;
  if (pageSize < 1 || pageSize > 500) throw new UsageError('--page-size must be an integer from 1 to 500');
  const dryRun = flags.switches.has('dry-run');

  const env = toolEnv();
  const token = required(env, 'INTERNAL_API_TOKEN');
  const wmsKey = required(env, 'WMS_API_KEY');
  const wmsUrl = required(env, 'WMS_BASE_URL');
  const dataApiUrl = required(env, 'DATA_API_URL');
  const logger = createLogger({ service: 'stock', level: TOOL_LOG_LEVEL, secrets: [token, wmsKey] });
  const sync = createWmsSync({
    wms: createWmsClient({ baseUrl: wmsUrl, apiKey: wmsKey, timeoutMs: Number(env('WMS_TIMEOUT_MS') ?? 10_000) }),
    dataApiUrl,
    token,
    logger,
  });
  console.log(`sync-wms${dryRun ? ' --dry-run (nothing is written)' : ''}: WMS list at ${wmsUrl}, database via ${dataApiUrl}`);
  printReport(await sync.run({ dryRun, pageSize }));
  return 0;
}

runCommands('stock', USAGE, { adjust, 'sync-wms': syncWms });

/**
 * `npm run bench:catalogue`: how long `npm run catalogue -- import` takes for a catalogue of
 * BENCH_CATALOGUE_VARIANTS (20,000) variants against the running stack's Shopify stand-in, and
 * how long the database part takes alone. Asserts nothing about time; prints and saves its figures
 * in bench/results/catalogue-import-<time>.{json,md}.
 *
 * 1. The command, end to end, on the shared stack: the stand-in serves the catalogue (4 variants a
 *    product), the WMS list is a stub of the bench's own (1,000 SKUs a page, answered only to the
 *    bench's WMS key), and Shopify's rate budget is a bucket of the bench's own on Shopify's
 *    standard plan (2,000 points, 100 a second: a stub answering only the bench's access token), so
 *    the run neither drains nor is slowed by the stream processor's bucket. The WMS holds 0 of every
 *    SKU: no movement, no event, so the stream processor (shared with whoever else uses the stack)
 *    gets no 20,000 events; the command itself then brings each new item's Shopify figure to 0
 *    (reading it: about a point an item). A second run measures the idempotent pass. The 20,000
 *    variants are removed afterwards (they have no orders) and the stand-in's catalogue emptied.
 * 2. The database part with stock: the data-api's page function writes 20,000 new variants with an
 *    import movement and an outbox event each, in pages of 250, into a scratch database on the same
 *    PostgreSQL (migrated, then dropped; no relay, so nothing reaches Kafka), then the unchanged pass.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../db/data-source.js';
import { planImport, type PageVariant } from '../ops/catalogue-import.js';
import { importCataloguePage } from '../services/order-manage-data-api/src/use-cases/import-catalogue.js';
import { putShopifyCatalogue, runCatalogue, stubWmsList, type CatalogueProductFixture } from '../tests/operations/catalogue-support.js';
import { REPO_ROOT, stackEnv } from '../tests/support/stack-env.js';
import { setting } from './settings.js';

const VARIANTS = setting('BENCH_CATALOGUE_VARIANTS', 20_000);
const PER_PRODUCT = 4;
const PAGE = 250;
const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

const env = stackEnv();
const tag = randomUUID().slice(0, 8);
const skuPrefix = `BENCH-CAT-${tag}-`;
// Ids above 2^53 (kept exactly), far from every test's and the demo's.
const base = 9_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 2 ** 40)) * 1_000n;
const id = (kind: 0n | 1n | 2n, n: number) => (base + kind * 10_000_000_000n + BigInt(n)).toString();

interface Figures {
  at: string;
  host: string;
  cpus: number;
  variants: number;
  products: number;
  command: { firstRunS: number; secondRunS: number; firstSummary: string; secondSummary: string; phases: string[] };
  databaseOnly: { pages: number; withStockS: number; unchangedS: number };
}

async function wiremock(method: string, route: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${env.WIREMOCK_URL}/__admin${route}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} /__admin${route}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

function catalogue(): CatalogueProductFixture[] {
  const products: CatalogueProductFixture[] = [];
  for (let n = 0; n < VARIANTS; n++) {
    const p = Math.floor(n / PER_PRODUCT);
    if (n % PER_PRODUCT === 0) products.push({ id: id(0n, p), title: `Bench product ${tag} ${p}`, variants: [] });
    products.at(-1)!.variants.push({
      id: id(1n, n),
      sku: `${skuPrefix}${n}`,
      price: '19.90',
      title: `Size ${n % PER_PRODUCT}`,
      inventoryItemId: id(2n, n),
    });
  }
  return products;
}

const lastLine = (text: string, pattern: RegExp) =>
  text
    .split('\n')
    .filter((l) => pattern.test(l))
    .at(-1) ?? '(missing)';

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - started) / 1000 };
}

/** Part 1: the command on the shared stack. */
async function commandRuns(): Promise<Figures['command']> {
  const accessToken = `shpat_bench_${tag}`;
  const wmsKey = `wms-bench-${tag}`;
  const cleanups: Array<() => Promise<unknown>> = [];
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  try {
    const products = catalogue();
    await putShopifyCatalogue(products);
    cleanups.push(() => putShopifyCatalogue([]));
    // Shopify's own figure of every item (never the system's): the import brings each to the database's.
    const levels = products.flatMap((p) =>
      p.variants.map((v) => ({ inventoryItemId: v.inventoryItemId, locationId: env.SHOPIFY_LOCATION_ID, available: 3 })),
    );
    for (let i = 0; i < levels.length; i += 5_000)
      await wiremock('PUT', '/shopify/inventory-levels', { levels: levels.slice(i, i + 5_000) });
    const bucket = (await wiremock('POST', '/mappings', {
      priority: 1,
      request: {
        method: 'POST',
        urlPathPattern: '/admin/api/[^/]+/graphql\\.json',
        headers: { 'X-Shopify-Access-Token': { equalTo: accessToken } },
      },
      response: {
        status: 200,
        headers: { 'Content-Type': 'application/json' },
        transformers: ['shopify-leaky-bucket'],
        transformerParameters: { standIn: true, bucket: `bench-catalogue-${tag}`, maximumAvailable: 2000, restoreRate: 100 },
      },
    })) as { id: string };
    cleanups.push(() => wiremock('DELETE', `/mappings/${bucket.id}`));
    const removeList = await stubWmsList(
      products.flatMap((p) => p.variants.map((v) => ({ sku: v.sku!, availableQuantity: 0 }))),
      { apiKey: wmsKey, pageSize: 1_000 },
    );
    cleanups.push(removeList);
    cleanups.push(() => pool.query('DELETE FROM inventory WHERE sku LIKE $1', [`${skuPrefix}%`]));

    const toolEnv = { SHOPIFY_ACCESS_TOKEN: accessToken, WMS_API_KEY: wmsKey };
    console.log(`catalogue import of ${VARIANTS} variants (${products.length} products), first run…`);
    const first = await timed(() => runCatalogue(['import'], { env: toolEnv, timeoutMs: 3_600_000 }));
    if (first.value.code !== 0)
      throw new Error(`the import failed (${first.value.code}): ${first.value.stderr}\n${first.value.stdout.slice(-2000)}`);
    const summary1 = lastLine(first.value.stdout, /^\d+ added, /);
    const phases = first.value.stdout.split('\n').filter((l) => /^(Shopify|WMS|database): /.test(l));
    console.log(`  ${first.seconds.toFixed(1)} s: ${summary1}`);
    for (const p of phases) console.log(`  ${p}`);
    const { rows } = await pool.query<{ n: number; stock: number }>(
      'SELECT count(*)::int AS n, coalesce(sum(available_quantity), 0)::int AS stock FROM inventory WHERE sku LIKE $1',
      [`${skuPrefix}%`],
    );
    console.log(`  database: ${rows[0]!.n} bench variants, ${rows[0]!.stock} units`);

    console.log('second run (nothing to do)…');
    const second = await timed(() => runCatalogue(['import'], { env: toolEnv, timeoutMs: 3_600_000 }));
    if (second.value.code !== 0) throw new Error(`the second import failed (${second.value.code}): ${second.value.stderr}`);
    const summary2 = lastLine(second.value.stdout, /^\d+ added, /);
    console.log(`  ${second.seconds.toFixed(1)} s: ${summary2}`);
    return { firstRunS: first.seconds, secondRunS: second.seconds, firstSummary: summary1, secondSummary: summary2, phases };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => console.error(`cleanup: ${String(err)}`));
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM inventory WHERE sku LIKE $1', [`${skuPrefix}%`]);
    console.log(`cleanup: ${rows[0]!.n} bench variants left in the stack's database`);
    await pool.end();
  }
}

/** Part 2: the data-api's pages with stock, in a scratch database. */
async function databaseOnly(): Promise<Figures['databaseOnly']> {
  const url = new URL(env.DATABASE_URL);
  const scratch = `orders_bench_catalogue_${tag.replace(/[^a-z0-9]/g, '')}`;
  url.pathname = `/${scratch}`;
  await migrate(url.toString());
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  try {
    const variants = catalogue().flatMap((p) =>
      p.variants.map((v) => ({
        gid: `gid://shopify/ProductVariant/${v.id}`,
        variantId: v.id,
        productId: p.id,
        productTitle: p.title,
        variantTitle: v.title ?? '',
        sku: v.sku ?? null,
        price: v.price,
        inventoryItemId: v.inventoryItemId,
        tracked: true,
      })),
    );
    const wms = new Map(variants.map((v, n) => [v.sku!, 1 + (n % 50)]));
    const plan = planImport(variants, wms, [], PAGE);
    const write = (pages: PageVariant[][]) =>
      timed(async () => {
        for (const variantsOfPage of pages) {
          await importCataloguePage(pool, {
            locationId: env.SHOPIFY_LOCATION_ID,
            currency: 'USD',
            reference: `catalogue-import:bench-${tag}`,
            dryRun: false,
            variants: variantsOfPage,
            correlationId: randomUUID(),
            topic: 'inventory-updates',
          });
        }
      });
    const withStock = await write(plan.pages);
    const unchanged = await write(plan.pages);
    const { rows } = await pool.query<{ n: number; movements: number; events: number }>(
      `SELECT (SELECT count(*) FROM inventory)::int AS n, (SELECT count(*) FROM inventory_movement)::int AS movements, (SELECT count(*) FROM outbox_event)::int AS events`,
    );
    console.log(
      `database only: ${rows[0]!.n} variants, ${rows[0]!.movements} import movements, ${rows[0]!.events} events written in ${plan.pages.length} pages: ` +
        `${withStock.seconds.toFixed(1)} s; unchanged pass ${unchanged.seconds.toFixed(1)} s`,
    );
    return { pages: plan.pages.length, withStockS: withStock.seconds, unchangedS: unchanged.seconds };
  } finally {
    await pool.end();
    const admin = new URL(env.DATABASE_URL);
    admin.pathname = '/postgres';
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${scratch}`);
    await client.end();
  }
}

async function main(): Promise<void> {
  const at = new Date().toISOString();
  console.log(`bench:catalogue at ${at} on ${os.hostname()} (${os.cpus().length} CPUs)`);
  const command = await commandRuns();
  const database = await databaseOnly();
  const figures: Figures = {
    at,
    host: os.hostname(),
    cpus: os.cpus().length,
    variants: VARIANTS,
    products: Math.ceil(VARIANTS / PER_PRODUCT),
    command,
    databaseOnly: database,
  };
  const stamp = at.replace(/[:.]/g, '-');
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, `catalogue-import-${stamp}.json`), `${JSON.stringify(figures, null, 2)}\n`);
  const md = [
    `# Catalogue import of ${VARIANTS} variants, ${at}`,
    '',
    `Machine: ${figures.host}, ${figures.cpus} CPUs. Shopify stand-in on its standard plan (2,000 points, 100 a second), a bucket of the run's own.`,
    '',
    '| what | seconds |',
    '|---|---|',
    `| \`npm run catalogue -- import\`, first run (all new, WMS at 0, Shopify set to 0 for each) | ${command.firstRunS.toFixed(1)} |`,
    `| the same, second run (nothing to do) | ${command.secondRunS.toFixed(1)} |`,
    `| database only: ${VARIANTS} new variants with an import movement and event each, ${database.pages} pages | ${database.withStockS.toFixed(1)} |`,
    `| database only: the unchanged pass | ${database.unchangedS.toFixed(1)} |`,
    '',
    'First run:',
    '',
    ...command.phases.map((p) => `- ${p}`),
    `- ${command.firstSummary}`,
    '',
    `Second run: ${command.secondSummary}`,
    '',
  ].join('\n');
  await writeFile(path.join(RESULTS_DIR, `catalogue-import-${stamp}.md`), md);
  console.log(`written: bench/results/catalogue-import-${stamp}.{json,md}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : String(err));
    process.exit(1);
  },
);

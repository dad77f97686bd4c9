/**
 * `npm run bench`: measures the running stack (found through .stack/env) side by side in one run:
 * pgbench on the commit transaction (the raw-database limit), a closed loop, a single hot variant,
 * open loops at fixed rates, CPU per accepted order of every component from /proc, RSS, Shopify
 * calls, and commit → Shopify lag. It prints a table, writes bench/results/<time>.{json,md} and
 * compares with the previous result. It asserts nothing: the machine is shared and noisy.
 *
 * The orders name their variants as Shopify's do (product id, variant id, SKU); the variants are
 * the bench's own, created with 1,000,000 units each (the demo catalogue's few hundred would be
 * sold out by the warm-up), in the database, at the WMS (a stub per SKU) and at the Shopify stand-in.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpRequest } from '@oms/common';
import { stockedProducts } from '../tests/e2e/support.js';
import { closeDb, dbPool, type TestProduct } from '../tests/support/db.js';
import { shopifyLevels } from '../tests/support/shopify-stand-in.js';
import { REPO_ROOT, stackDir, stackEnv } from '../tests/support/stack-env.js';
import { closedLoop, type LoadResult, openLoop, percentile, SLOW_ORDER_MS, threeLineOrder } from './load.js';
import { runPgbench } from './pgbench.js';
import { cpuDelta, type CpuReading, machineCpu, type ProcessSelector, rssMb, selfCpuMs, trackCpu } from './proc.js';
import { setting } from './settings.js';

/** Long enough that a noisy second of the shared machine does not decide the closed loop's figures. */
const CLOSED_ORDERS = setting('BENCH_ORDERS', 3000);
/**
 * Orders sent before the phases, so that these measure the stack as it runs once warm: on a fresh
 * stack the first orders pay for V8's and the JVMs' compilers. The warm-up is measured in slices all
 * the same, and reported apart, so what a fresh replica costs stays in view.
 */
const WARMUP_ORDERS = setting('BENCH_WARMUP_ORDERS', 10_000);
const WARMUP_SLICE_ORDERS = 1000;
const CONCURRENCY = setting('BENCH_CONCURRENCY', 20);
const PRODUCTS = setting('BENCH_PRODUCTS', 30);
const RATES = (process.env.BENCH_RATES ?? '50,100,200').split(',').map(Number);
const OPEN_SECONDS = setting('BENCH_OPEN_SECONDS', 10);
/** The 100 orders/s run that shows whether the stream stays inside Shopify's budget (issue: 60 s). */
const BUDGET_SECONDS = setting('BENCH_BUDGET_SECONDS', 60);
const PGBENCH_SECONDS = setting('BENCH_PGBENCH_SECONDS', 10);
const CATCH_UP_TIMEOUT_MS = setting('BENCH_LAG_TIMEOUT_MS', 120_000);
const RESULTS_DIR = path.join(REPO_ROOT, 'bench', 'results');

const SERVICES = ['order-manage-api', 'order-manage-data-api', 'order-stream-process'] as const;
const PRODUCT_COMPONENTS = [...SERVICES, 'postgres', 'kafka'] as const;
const FIXTURES = ['wiremock', 'bench client'] as const;
/** The processes whose longest event-loop block each phase reports. */
const EVENT_LOOPS = [...SERVICES, 'bench client'] as const;

const env = stackEnv();

const USAGE = `npm run bench: the load benchmark against the running stack (npm run stack:up first).
Settings (environment variables, positive numbers):
  BENCH_ORDERS=${CLOSED_ORDERS}  BENCH_WARMUP_ORDERS=${WARMUP_ORDERS}  BENCH_CONCURRENCY=${CONCURRENCY}  BENCH_PRODUCTS=${PRODUCTS} (variants)
  BENCH_RATES=${RATES.join(',')}  BENCH_OPEN_SECONDS=${OPEN_SECONDS}  BENCH_BUDGET_SECONDS=${BUDGET_SECONDS}
  BENCH_PGBENCH_SECONDS=${PGBENCH_SECONDS}  BENCH_LAG_TIMEOUT_MS=${CATCH_UP_TIMEOUT_MS}
Writes bench/results/<time>.json and .md; asserts nothing.`;

function pidOf(component: string): number | undefined {
  try {
    return Number(readFileSync(path.join(stackDir(), 'pids', `${component}.pid`), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

function selectors(): Record<string, ProcessSelector> {
  const out: Record<string, ProcessSelector> = { postgres: { comm: 'postgres' } };
  for (const name of [...SERVICES, 'kafka', 'wiremock']) {
    const pid = pidOf(name);
    if (pid) out[name] = { rootPid: pid };
  }
  return out;
}

function benchClientCpu(): CpuReading {
  return { 'bench client': { [process.pid]: selfCpuMs() } };
}

/** Through the shared keep-alive pool, as the load is sent: the sampler reads the stream processor's every second of a phase. */
async function metricsText(baseUrl: string): Promise<string> {
  return (await httpRequest(`${baseUrl}/metrics`, { timeoutMs: 5_000 })).text;
}

/** The series of one metric in Prometheus' text format: each one's labels, as written, and its value. */
function series(metrics: string, metric: string): Array<{ labels: string; value: number }> {
  return [...metrics.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} ([\\d.e+-]+)$`, 'gm'))].map((m) => ({
    labels: m[1]!,
    value: Number(m[2]),
  }));
}

/** A metric summed over the series whose labels hold `label`. */
function sumOf(metrics: string, metric: string, label = ''): number {
  return series(metrics, metric)
    .filter((s) => s.labels.includes(label))
    .reduce((total, s) => total + s.value, 0);
}

/**
 * The longest the service's event loop was blocked since its metrics were last read (prom-client
 * resets the figure on every read), in ms: a stall inside a service shows here.
 */
function eventLoopMaxMs(metrics: string): number {
  const [lag] = series(metrics, 'nodejs_eventloop_lag_max_seconds');
  return lag ? lag.value * 1000 : NaN;
}

/** Observations of a histogram above its 50 ms bucket, summed over the series whose labels hold `label`. */
function overSlowBucket(metrics: string, histogram: string, label: string): number {
  const buckets = series(metrics, `${histogram}_bucket`).filter((s) => s.labels.includes(label));
  const upTo = (le: string) => buckets.filter((s) => s.labels.includes(`le="${le}"`)).reduce((total, s) => total + s.value, 0);
  return upTo('+Inf') - upTo(String(SLOW_ORDER_MS / 1000));
}

/** Where inside the stack requests took longer than SLOW_ORDER_MS, as counters to subtract. */
function slowInside(apiMetrics: string, dataApiMetrics: string): Record<string, number> {
  return {
    'webhook answers (the api)': overSlowBucket(apiMetrics, 'http_request_duration_seconds', 'route="/api/shopify/webhooks/orders"'),
    'WMS calls (the api)': overSlowBucket(apiMetrics, 'wms_request_duration_seconds', ''),
    'commits (the data-api)': overSlowBucket(dataApiMetrics, 'http_request_duration_seconds', 'route="/internal/orders"'),
  };
}

async function streamCounters(): Promise<{ calls: number; throttled: number; events: number; eventLoopMaxMs: number }> {
  const text = await metricsText(env.STREAM_PROCESS_URL);
  return {
    calls: sumOf(text, 'shopify_requests_total', 'outcome="success"'),
    throttled: sumOf(text, 'shopify_requests_total', 'outcome="throttled"'),
    events: sumOf(text, 'inventory_events_processed_total'),
    eventLoopMaxMs: eventLoopMaxMs(text),
  };
}

/** Shopify's level of a variant's inventory item at its location, as the stand-in holds it, with its history. */
async function standInLevel(variant: TestProduct) {
  return (await shopifyLevels(variant.inventoryItemId)).find((l) => l.locationId === String(variant.locationId));
}

/**
 * Waits until Shopify (the stand-in) holds the database quantity of every variant, and returns, per
 * variant, the time from the commit of the last order that took from it to the change of Shopify's
 * figure that brought it there (the last entry of the level's history).
 */
async function shopifyCaughtUp(variants: readonly TestProduct[]): Promise<{ lags: number[]; caughtUpAt: number } | undefined> {
  const ids = variants.map((v) => String(v.variantId));
  const { rows: stock } = await dbPool().query<{ variant_id: string; available_quantity: number }>(
    'SELECT variant_id::text, available_quantity FROM inventory WHERE variant_id = ANY($1::bigint[])',
    [ids],
  );
  const { rows: commits } = await dbPool().query<{ variant_id: string; last_commit: Date }>(
    `SELECT variant_id::text, max(created_at) AS last_commit FROM inventory_movement
      WHERE variant_id = ANY($1::bigint[]) AND reason = 'order' GROUP BY variant_id`,
    [ids],
  );
  const want = new Map(stock.map((r) => [r.variant_id, r.available_quantity]));
  const lastCommit = new Map(commits.map((r) => [r.variant_id, r.last_commit.getTime()]));
  const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const levels = await Promise.all(variants.map(standInLevel));
    if (variants.every((v, i) => levels[i]?.available === want.get(String(v.variantId)))) {
      const setAt = variants.flatMap((v, i) => {
        const committed = lastCommit.get(String(v.variantId));
        const at = Date.parse(levels[i]!.history.at(-1)?.at ?? '');
        return committed === undefined || !Number.isFinite(at) ? [] : [{ lag: Math.max(0, at - committed), at }];
      });
      return { lags: setAt.map((x) => x.lag).sort((a, b) => a - b), caughtUpAt: Math.max(...setAt.map((x) => x.at)) };
    }
    await sleep(250);
  }
  return undefined;
}

interface Warmup {
  sent: number;
  accepted: number;
  seconds: number;
  /** The three services' CPU per accepted order over each slice of `WARMUP_SLICE_ORDERS`, in order. */
  servicesCpuMsPerOrder: number[];
}

/**
 * The warm-up, a closed loop like the measured one, in slices: each slice's CPU includes the relay's
 * and the stream processor's work on the previous slice's last orders, which the next one makes up.
 */
async function warmUp(products: readonly TestProduct[]): Promise<Warmup> {
  const warmup: Warmup = { sent: 0, accepted: 0, seconds: 0, servicesCpuMsPerOrder: [] };
  for (let done = 0; done < WARMUP_ORDERS; done += WARMUP_SLICE_ORDERS) {
    const cpu = trackCpu(selectors);
    const load = await closedLoop(Math.min(WARMUP_SLICE_ORDERS, WARMUP_ORDERS - done), CONCURRENCY, (i) =>
      threeLineOrder(products, done + i),
    );
    warmup.servicesCpuMsPerOrder.push(sum(cpuDelta(cpu.first, cpu.stop()), SERVICES) / Math.max(1, load.accepted));
    warmup.sent += load.sent;
    warmup.accepted += load.accepted;
    warmup.seconds += load.seconds;
  }
  return warmup;
}

interface Phase {
  name: string;
  load: LoadResult;
  cpuMsPerOrder: Record<string, number>;
  shopify: {
    calls: number;
    throttled: number;
    events: number;
    callsPerSecond: number;
    /** Over the second half of the phase, once a full bucket's first 200 calls are spent. */
    sustainedCallsPerSecond: number;
    eventsPerCall: number;
  };
  lagMs?: { p50: number; p99: number; max: number };
  /** From the last answered order to Shopify holding every quantity (epoch clocks of this machine). */
  caughtUpAfterMs?: number;
  /**
   * The whole machine over the phase: steal is CPU time the hypervisor gave to other guests while
   * this machine had work, per second of the phase, both cores summed (at most 2,000).
   */
  machine: { stealMsPerSecond: number; idlePercent: number };
  /**
   * Each service's longest event-loop block during the phase, in ms, and the bench client's own: a
   * client that stalls sends late and reads answers late, and the open loops count that as latency.
   */
  eventLoopMaxMs: Record<string, number>;
  /** Requests over SLOW_ORDER_MS as the services' own histograms saw them: where a slow order spent its time. */
  slowInside: Record<string, number>;
}

async function phase(name: string, products: readonly TestProduct[], run: () => Promise<LoadResult>): Promise<Phase> {
  const cpu = trackCpu(selectors);
  const clientCpuBefore = benchClientCpu();
  const machineBefore = { ...machineCpu(), at: Date.now() };
  const shopifyBefore = await streamCounters();
  // Read once before, to start the api's and the data-api's maximum afresh; the stream processor's
  // metrics are read every second anyway.
  const [apiMetricsBefore, dataApiMetricsBefore] = await Promise.all([metricsText(env.ORDER_API_URL), metricsText(env.DATA_API_URL)]);
  const slowBefore = slowInside(apiMetricsBefore, dataApiMetricsBefore);
  const clientDelay = monitorEventLoopDelay({ resolution: 10 });
  clientDelay.enable();
  const loadStartedAt = Date.now();
  const samples: Array<{ at: number; calls: number; eventLoopMaxMs: number }> = [];
  const sampler = setInterval(() => {
    streamCounters().then(
      (c) => samples.push({ at: Date.now(), calls: c.calls, eventLoopMaxMs: c.eventLoopMaxMs }),
      () => undefined,
    );
  }, 1_000);
  const load = await run();
  clientDelay.disable();
  const lastAnsweredEpoch = Date.now() - (performance.now() - load.lastAnsweredAt);
  const caughtUp = await shopifyCaughtUp(products);
  clearInterval(sampler);
  const spent = cpuDelta({ ...cpu.first, ...clientCpuBefore }, { ...cpu.stop(), ...benchClientCpu() });
  const machineAfter = { ...machineCpu(), at: Date.now() };
  const shopifyAfter = await streamCounters();
  const [apiMetrics, dataApiMetrics] = await Promise.all([metricsText(env.ORDER_API_URL), metricsText(env.DATA_API_URL)]);
  const endedAt = Date.now();
  const midway = samples.find((x) => x.at >= loadStartedAt + (endedAt - loadStartedAt) / 2);
  const calls = shopifyAfter.calls - shopifyBefore.calls;
  const events = shopifyAfter.events - shopifyBefore.events;
  const activeSeconds = ((caughtUp?.caughtUpAt ?? Date.now()) - loadStartedAt) / 1000;
  const result: Phase = {
    name,
    load,
    cpuMsPerOrder: Object.fromEntries(Object.entries(spent).map(([component, ms]) => [component, ms / Math.max(1, load.accepted)])),
    shopify: {
      calls,
      throttled: shopifyAfter.throttled - shopifyBefore.throttled,
      events,
      callsPerSecond: calls / activeSeconds,
      sustainedCallsPerSecond: midway ? ((shopifyAfter.calls - midway.calls) * 1000) / Math.max(1, endedAt - midway.at) : NaN,
      eventsPerCall: calls ? events / calls : 0,
    },
    machine: {
      stealMsPerSecond: (machineAfter.stealMs - machineBefore.stealMs) / ((machineAfter.at - machineBefore.at) / 1000),
      idlePercent: (100 * (machineAfter.idleMs - machineBefore.idleMs)) / Math.max(1, machineAfter.totalMs - machineBefore.totalMs),
    },
    eventLoopMaxMs: {
      'order-manage-api': eventLoopMaxMs(apiMetrics),
      'order-manage-data-api': eventLoopMaxMs(dataApiMetrics),
      'order-stream-process': Math.max(shopifyAfter.eventLoopMaxMs, ...samples.map((x) => x.eventLoopMaxMs)),
      'bench client': clientDelay.max / 1e6,
    },
    slowInside: Object.fromEntries(
      Object.entries(slowInside(apiMetrics, dataApiMetrics)).map(([where, n]) => [where, n - (slowBefore[where] ?? 0)]),
    ),
    ...(caughtUp
      ? {
          lagMs: { p50: percentile(caughtUp.lags, 50), p99: percentile(caughtUp.lags, 99), max: caughtUp.lags.at(-1) ?? NaN },
          caughtUpAfterMs: Math.max(0, caughtUp.caughtUpAt - lastAnsweredEpoch),
        }
      : {}),
  };
  console.log(
    `  ${name}: ${load.accepted}/${load.sent} accepted in ${load.seconds.toFixed(1)} s, p99 ${percentile(load.latencies, 99).toFixed(1)} ms, ` +
      `${load.slow.count} over ${SLOW_ORDER_MS} ms, steal ${result.machine.stealMsPerSecond.toFixed(0)} ms/s, ` +
      `longest event-loop block ${EVENT_LOOPS.map((s) => result.eventLoopMaxMs[s]!.toFixed(0)).join(' / ')} ms`,
  );
  return result;
}

/** The time one order, alone on a quiet stack, takes from its commit to Shopify. */
async function loneOrderLagMs(product: TestProduct): Promise<number | undefined> {
  await closedLoop(1, 1, () => threeLineOrder([product], 0));
  return (await shopifyCaughtUp([product]))?.lags[0];
}

const fmt = (n: number | undefined, digits = 1) => (n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(digits));
const sum = (values: Record<string, number>, keys: readonly string[]) => keys.reduce((total, k) => total + (values[k] ?? 0), 0);

interface Result {
  at: string;
  settings: Record<string, unknown>;
  pgbench: Awaited<ReturnType<typeof runPgbench>>;
  warmup: Warmup;
  phases: Phase[];
  rssMb: Record<string, number | undefined>;
  loneOrderLagMs: number | undefined;
  headline: Record<string, number | undefined>;
}

function headline(r: Omit<Result, 'headline'>): Record<string, number | undefined> {
  const closed = r.phases.find((p) => p.name === 'closed loop')!;
  const hot = r.phases.find((p) => p.name === 'closed loop, one hot product');
  const budget = r.phases.find((p) => p.name === 'open loop 100/s (budget)');
  const throughput = closed.load.accepted / closed.load.seconds;
  return {
    'closed loop orders/s': throughput,
    'pgbench tps (same transaction)': r.pgbench.tps,
    'ratio to pgbench': throughput / r.pgbench.tps,
    'hot product orders/s': hot ? hot.load.accepted / hot.load.seconds : undefined,
    'CPU ms per order, three services': sum(closed.cpuMsPerOrder, SERVICES),
    'CPU ms per order, postgres + kafka': sum(closed.cpuMsPerOrder, ['postgres', 'kafka']),
    'CPU ms per order, fixtures (wiremock + bench client)': sum(closed.cpuMsPerOrder, FIXTURES),
    // The machine's speed moves every figure between runs, PostgreSQL's own included; this ratio, taken
    // within one run, says whether the services cost more than the database they wrap.
    'CPU of the three services per CPU of postgres': sum(closed.cpuMsPerOrder, SERVICES) / (closed.cpuMsPerOrder.postgres ?? NaN),
    ...Object.fromEntries(
      r.phases.filter((p) => p.name.startsWith('open loop')).map((p) => [`${p.name} p99 ms`, percentile(p.load.latencies, 99)]),
    ),
    'Shopify calls/s at 100/s, whole phase': budget?.shopify.callsPerSecond,
    'Shopify calls/s at 100/s, sustained (second half)': budget?.shopify.sustainedCallsPerSecond,
    'Shopify THROTTLED at 100/s': budget?.shopify.throttled,
    'events per Shopify call at 100/s': budget?.shopify.eventsPerCall,
    'Shopify = database after last order, ms': budget?.caughtUpAfterMs,
    'lone order commit → Shopify ms': r.loneOrderLagMs,
    ...Object.fromEntries(SERVICES.map((s) => [`RSS MB ${s}`, r.rssMb[s]])),
  };
}

function previousResult(): Result | undefined {
  const files = readdirSync(RESULTS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const last = files.at(-1);
  return last ? (JSON.parse(readFileSync(path.join(RESULTS_DIR, last), 'utf8')) as Result) : undefined;
}

function renderTable(result: Result, previous: Result | undefined): string {
  const lines = ['| figure | this run | previous |', '|---|---:|---:|'];
  for (const [name, value] of Object.entries(result.headline))
    lines.push(`| ${name} | ${fmt(value, 2)} | ${fmt(previous?.headline[name], 2)} |`);
  const { warmup } = result;
  lines.push(
    '',
    `Warm-up, before the phases and outside every figure above: ${warmup.accepted}/${warmup.sent} orders accepted at ${fmt(warmup.accepted / warmup.seconds, 0)} orders/s; ` +
      `the three services' CPU ms per order over each ${WARMUP_SLICE_ORDERS}: ${warmup.servicesCpuMsPerOrder.map((ms) => fmt(ms, 2)).join(', ')}.`,
  );
  lines.push(
    '',
    `| phase | sent | accepted | orders/s | p50 ms | p99 ms | over ${SLOW_ORDER_MS} ms | Shopify calls | calls/s | sustained calls/s | events/call | THROTTLED | lag p50 / max ms | steal ms/s | idle |`,
  );
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|');
  for (const p of result.phases) {
    lines.push(
      `| ${p.name} | ${p.load.sent} | ${p.load.accepted} | ${fmt(p.load.accepted / p.load.seconds)} | ${fmt(percentile(p.load.latencies, 50))} | ${fmt(percentile(p.load.latencies, 99))} | ${p.load.slow.count} | ${p.shopify.calls} | ${fmt(p.shopify.callsPerSecond)} | ${fmt(p.shopify.sustainedCallsPerSecond)} | ${fmt(p.shopify.eventsPerCall)} | ${p.shopify.throttled} | ${fmt(p.lagMs?.p50, 0)} / ${fmt(p.lagMs?.max, 0)} | ${fmt(p.machine.stealMsPerSecond, 0)} | ${fmt(p.machine.idlePercent, 0)} % |`,
    );
  }
  const stalls = result.phases.filter((p) => p.name.startsWith('open loop') && p.load.slow.worst);
  if (stalls.length > 0)
    lines.push('', `Where the open loops' orders over ${SLOW_ORDER_MS} ms started (second of the phase: orders), and the slowest:`, '');
  for (const p of stalls) {
    const seconds = Object.entries(p.load.slow.bySecond)
      .map(([second, n]) => `${second}: ${n}`)
      .join(', ');
    lines.push(`- ${p.name}: ${seconds}; the slowest ${fmt(p.load.slow.worst!.ms, 0)} ms, sent at ${p.load.slow.worst!.startedAt}`);
  }
  lines.push('', `| longest event-loop block, ms | ${EVENT_LOOPS.join(' | ')} |`, `|---|${EVENT_LOOPS.map(() => '---:').join('|')}|`);
  for (const p of result.phases) lines.push(`| ${p.name} | ${EVENT_LOOPS.map((s) => fmt(p.eventLoopMaxMs[s], 0)).join(' | ')} |`);
  const places = Object.keys(result.phases[0]?.slowInside ?? {});
  lines.push('', `| over ${SLOW_ORDER_MS} ms inside the stack | ${places.join(' | ')} |`, `|---|${places.map(() => '---:').join('|')}|`);
  for (const p of result.phases) lines.push(`| ${p.name} | ${places.map((w) => p.slowInside[w] ?? 'n/a').join(' | ')} |`);
  const components = [...PRODUCT_COMPONENTS, ...FIXTURES];
  lines.push('', `| CPU ms per accepted order | ${components.join(' | ')} |`, `|---|${components.map(() => '---:').join('|')}|`);
  for (const p of result.phases) lines.push(`| ${p.name} | ${components.map((c) => fmt(p.cpuMsPerOrder[c], 2)).join(' | ')} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const ready = await fetch(`${env.ORDER_API_URL}/health/ready`, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
  if (!ready?.ok) throw new Error(`order-manage-api is not ready at ${env.ORDER_API_URL}: start the stack (npm run stack:up)`);
  const previous = previousResult();

  console.log(
    `bench against ${env.ORDER_API_URL}: pgbench ${PGBENCH_SECONDS} s, warm-up ${WARMUP_ORDERS} orders, closed loop ${CLOSED_ORDERS} orders at ${CONCURRENCY}, open loops ${RATES.join('/')} orders/s`,
  );
  const pgbench = await runPgbench(env.DATABASE_URL, { clients: CONCURRENCY, seconds: PGBENCH_SECONDS });
  console.log(`  pgbench: ${pgbench.tps.toFixed(0)} tps`);

  // A fresh journal, so WireMock's cost is the same at the start of every run.
  await fetch(`${env.WIREMOCK_URL}/__admin/requests`, { method: 'DELETE', signal: AbortSignal.timeout(5_000) });
  const { products, cleanup } = await stockedProducts(PRODUCTS, { availableQuantity: 1_000_000 });
  const hot = await stockedProducts(1, { availableQuantity: 1_000_000 });
  const lone = await stockedProducts(1, { availableQuantity: 1_000 });
  try {
    const warmup = await warmUp(products);
    console.log(
      `  warm-up (reported apart): ${warmup.accepted}/${warmup.sent} accepted at ${(warmup.accepted / warmup.seconds).toFixed(0)} orders/s`,
    );
    // Each phase waits for its own orders to reach Shopify; so must the warm-up, or the closed loop
    // would be charged with the relay's and the stream processor's work on the warm-up's last orders.
    await shopifyCaughtUp(products);
    const phases: Phase[] = [];
    phases.push(await phase('closed loop', products, () => closedLoop(CLOSED_ORDERS, CONCURRENCY, (i) => threeLineOrder(products, i))));
    // A bestseller in every cart: each order's first line locks the same row. Its phase waits for
    // the hot variant alone at Shopify, as it always has, so its figures compare with earlier runs.
    phases.push(
      await phase('closed loop, one hot product', hot.products, () =>
        closedLoop(Math.ceil(CLOSED_ORDERS / 2), CONCURRENCY, (i) => threeLineOrder(products, i, hot.products[0])),
      ),
    );
    for (const rate of RATES) {
      const name = rate === 100 ? 'open loop 100/s (budget)' : `open loop ${rate}/s`;
      const seconds = rate === 100 ? BUDGET_SECONDS : OPEN_SECONDS;
      // Shopify's bucket refills at 100 points a second: a pause lets each phase start from a full one.
      await sleep(5_000);
      phases.push(await phase(name, products, () => openLoop(rate, seconds, (i) => threeLineOrder(products, i))));
    }
    await sleep(5_000);
    const loneLag = await loneOrderLagMs(lone.products[0]!);
    const rss = Object.fromEntries(
      SERVICES.map((s) => [
        s,
        (() => {
          const pid = pidOf(s);
          return pid ? rssMb(pid) : undefined;
        })(),
      ]),
    );

    const partial = {
      at: new Date().toISOString(),
      settings: {
        WARMUP_ORDERS,
        CLOSED_ORDERS,
        CONCURRENCY,
        PRODUCTS,
        RATES,
        OPEN_SECONDS,
        BUDGET_SECONDS,
        PGBENCH_SECONDS,
        cores: (await import('node:os')).availableParallelism(),
      },
      pgbench,
      warmup,
      phases,
      rssMb: rss,
      loneOrderLagMs: loneLag,
    };
    const result: Result = { ...partial, headline: headline(partial) };
    const table = renderTable(result, previous);
    console.log(`\n${table}\n`);
    const stamp = result.at.replace(/[:.]/g, '-');
    // Latencies are summarised, not stored one by one: a result file stays small enough to commit.
    const stored = { ...result, phases: result.phases.map((p) => ({ ...p, load: { ...p.load, latencies: undefined } })) };
    writeFileSync(path.join(RESULTS_DIR, `${stamp}.json`), `${JSON.stringify(stored, null, 2)}\n`);
    writeFileSync(path.join(RESULTS_DIR, `${stamp}.md`), `# Bench ${result.at}\n\n${table}\n`);
    console.log(`written: bench/results/${stamp}.json and .md${previous ? ` (compared with ${previous.at})` : ''}`);
  } finally {
    await Promise.all([cleanup(), hot.cleanup(), lone.cleanup()]);
    await closeDb();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);

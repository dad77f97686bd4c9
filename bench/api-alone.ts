/**
 * `npm run bench:api-alone`: order-manage-api's CPU per order with nothing else competing for the
 * cores, beside what bare Node spends on the same exchanges. In the full bench six processes share
 * two cores, so every figure there carries the cost of contention; here the api's own data-api and
 * WMS are one cheap in-process stand-in (canned answers in the contract's shapes), Redis is real,
 * and the only other load is the client.
 *
 * The floor (bench/api-floor.ts) is a bare node:http server that, per order, reads the body, parses
 * it, makes the api's six calls for an accepted order (the variants resolved, a Redis GET, three WMS
 * GETs by SKU at once, the commit) and answers: no framework, no validation, no logging, no metrics.
 * The api's excess over it is per-request work of the application, not the exchanges themselves.
 *
 * The orders name the demo catalogue's variants (db/catalogue.ts): product, variant id and SKU.
 *
 * Rounds alternate api and floor so that a noisy stretch of the machine falls on both. Set
 * BENCH_CPU_PROF=<dir> to have the api write a CPU profile there. It asserts nothing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpRequest } from '@oms/common';
import { build } from 'esbuild';
import { DEMO_CATALOGUE, DEMO_LOCATION_ID } from '../db/catalogue.js';
import { buildOnce, DIST_DIR, serviceBundle } from '../stack/build.js';
import { SERVICE_NODE_FLAGS } from '../stack/components/services.js';
import { freePort } from '../tests/stack/support.js';
import { REPO_ROOT, stackEnv } from '../tests/support/stack-env.js';
import { closedLoop, threeLineOrder } from './load.js';
import { cpuDelta, trackCpu } from './proc.js';
import { setting } from './settings.js';

const ORDERS = setting('BENCH_ORDERS', 6000);
const WARMUP_ORDERS = setting('BENCH_WARMUP_ORDERS', 3000);
const ROUNDS = setting('BENCH_ROUNDS', 3);
const CONCURRENCY = 20;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/14';

const VARIANTS = DEMO_CATALOGUE;
const byVariantId = new Map(VARIANTS.map((v) => [String(v.variantId), v]));
const bySku = new Map(VARIANTS.map((v) => [v.sku, v]));

interface LineToResolve {
  lineItemId: string;
  productId: string;
  variantId: string | null;
  sku: string;
}

/** The data-api's resolution of the demo variants, each with plenty of stock; a line by SKU when its variant id is null. */
function resolution(body: string): unknown {
  const { lines } = JSON.parse(body) as { lines: LineToResolve[] };
  return {
    existingOrder: null,
    resolved: lines.map((l) => {
      const v = (l.variantId === null ? bySku.get(l.sku) : byVariantId.get(l.variantId))!;
      return {
        lineItemId: l.lineItemId,
        variantId: String(v.variantId),
        productId: String(v.productId),
        sku: v.sku,
        availableQuantity: 1_000_000,
      };
    }),
    unresolved: [],
  };
}

/** The data-api and the WMS as the api sees them when every order is accepted. */
function startStandIn(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let status = 200;
      let body: unknown = { status: 'up' };
      if (req.url === '/internal/variants/resolve') {
        body = resolution(Buffer.concat(chunks).toString('utf8'));
      } else if (req.url === '/internal/orders') {
        // Only the status decides the api's outcome: the commit's body is dropped, not echoed.
        status = 201;
        body = { status: 'accepted', items: [] };
      } else if (req.url?.startsWith('/api/v1/inventory/')) {
        const sku = decodeURIComponent(req.url.slice('/api/v1/inventory/'.length));
        body = {
          sku,
          availableQuantity: 1_000_000,
          reservedQuantity: 0,
          totalQuantity: 1_000_000,
          locationId: `LOC-${DEMO_LOCATION_ID}`,
          lastUpdated: '2026-01-01T00:00:00Z',
        };
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface Subject {
  name: string;
  child: ChildProcess;
  url: string;
}

/** Every process started, stopped at the end whatever happened. */
const subjects: Subject[] = [];

async function startSubject(name: string, args: string[], env: Record<string, string>): Promise<Subject> {
  const port = await freePort();
  // LOG_LEVEL info, as deployed: the line the api logs for each order is part of its cost.
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, PORT: String(port), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const subject = { name, child, url: `http://127.0.0.1:${port}` };
  subjects.push(subject);
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const up = await httpRequest(`${subject.url}/health/live`, { timeoutMs: 500 }).then(
      (a) => a.status === 200,
      () => false,
    );
    if (up) return subject;
    await sleep(100);
  }
  throw new Error(`${name} did not answer within 10 s`);
}

async function stopSubject(subject: Subject): Promise<void> {
  if (subject.child.exitCode !== null) return;
  const exited = new Promise((resolve) => subject.child.once('exit', resolve));
  subject.child.kill('SIGTERM');
  await exited;
}

const send = (subject: Subject, orders: number) => closedLoop(orders, CONCURRENCY, (i) => threeLineOrder(VARIANTS, i), subject.url);

/** CPU ms per accepted order of the subject's process over one measured run, and its rate. */
async function measure(subject: Subject): Promise<{ msPerOrder: number; perSecond: number }> {
  const pid = subject.child.pid!;
  const cpu = trackCpu(() => ({ [subject.name]: { rootPid: pid } }));
  const { accepted, seconds } = await send(subject, ORDERS);
  const spent = cpuDelta(cpu.first, cpu.stop())[subject.name] ?? 0;
  if (accepted < ORDERS) throw new Error(`${subject.name} accepted ${accepted} of ${ORDERS} orders`);
  return { msPerOrder: spent / accepted, perSecond: accepted / seconds };
}

/** Bundled as the services are, so neither side pays for tsx's loader. */
async function buildFloor(): Promise<string> {
  const outfile = path.join(DIST_DIR, 'bench', 'api-floor.js');
  await build({
    entryPoints: [path.join(REPO_ROOT, 'bench', 'api-floor.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    external: ['ioredis', 'undici'],
    logLevel: 'warning',
  });
  return outfile;
}

const standIn = await startStandIn();
const standInUrl = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
await buildOnce();
const floorBundle = await buildFloor();
const profile = process.env.BENCH_CPU_PROF ? [`--cpu-prof`, `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF)}`] : [];
try {
  const api = await startSubject('order-manage-api', [...profile, ...SERVICE_NODE_FLAGS, serviceBundle('order-manage-api')], {
    DATA_API_URL: standInUrl,
    WMS_BASE_URL: standInUrl,
    WMS_API_KEY: 'bench',
    INTERNAL_API_TOKEN: 'bench-api-alone-internal-token',
    REDIS_URL,
    // postOrder signs with the stack's secret, the stack's env file or its default.
    SHOPIFY_WEBHOOK_SECRET: stackEnv().SHOPIFY_WEBHOOK_SECRET,
    SHOPIFY_LOCATION_ID: String(DEMO_LOCATION_ID),
  });
  const floor = await startSubject('bare node', [...SERVICE_NODE_FLAGS, floorBundle], {
    STAND_IN_URL: standInUrl,
    REDIS_URL,
  });

  console.log(
    `api alone: ${ROUNDS} rounds of ${ORDERS} orders each for the api and for bare Node, ${CONCURRENCY} senders, after ${WARMUP_ORDERS} warm-up orders`,
  );
  await send(api, WARMUP_ORDERS);
  await send(floor, WARMUP_ORDERS);
  const results: Record<string, Array<{ msPerOrder: number; perSecond: number }>> = { [api.name]: [], [floor.name]: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const subject of [api, floor]) {
      const r = await measure(subject);
      results[subject.name]!.push(r);
      console.log(
        `  round ${round}  ${subject.name.padEnd(17)} ${r.msPerOrder.toFixed(3)} ms CPU per order  (${r.perSecond.toFixed(0)} orders/s)`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const apiMs = median(results[api.name]!.map((r) => r.msPerOrder));
  const floorMs = median(results[floor.name]!.map((r) => r.msPerOrder));
  console.log(
    `median: the api ${apiMs.toFixed(3)} ms per order, bare Node ${floorMs.toFixed(3)} ms; the api's own work ${(apiMs - floorMs).toFixed(3)} ms`,
  );
} finally {
  await Promise.all(subjects.map(stopSubject));
  standIn.close();
}

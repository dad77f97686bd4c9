import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { httpRequest } from '@oms/common';
import type pg from 'pg';
import { eventually, waitFor } from '../support/eventually.js';
import { countOutboxRows, createTestProduct, dbPool, type TestProduct, type TestProductOptions } from '../support/db.js';
import type { InventoryEvent } from '../../services/order-manage-data-api/src/events.js';
import { type KafkaEvent, readEvents } from '../support/kafka.js';
import { shopifyRequests, type ReceivedShopifyRequest } from '../support/shopify.js';
import { shopifyAvailable } from '../support/shopify-stand-in.js';
import { shopifyHeaders } from '../support/sign.js';
import { REPO_ROOT, stackDir, stackEnv } from '../support/stack-env.js';
import { stubWmsInventory } from '../support/wiremock.js';

/**
 * Helpers for the suites that run against a whole running stack (e2e, reliability, bench). The
 * stack is found only through its env file (tests/support/stack-env.ts); faults are injected only
 * through the launcher, which needs the settings the stack was started with: they are read back
 * from that env file and the stack directory beside it.
 */

const portOf = (url: string) => new URL(url.includes('://') ? url : `tcp://${url}`).port;

/**
 * The launcher's own settings variables (stack/settings.ts), rebuilt from the env file, so that
 * `stop kafka` in a test addresses the stack the tests run against and no other. The controller
 * port is not in the env file: the generated server.properties names it.
 */
export function launcherEnv(): NodeJS.ProcessEnv {
  const env = stackEnv();
  const props = path.join(stackDir(), 'kafka', 'server.properties');
  const controller =
    process.env.KAFKA_CONTROLLER_PORT ??
    (existsSync(props) ? /controller\.quorum\.bootstrap\.servers=[^:\s]+:(\d+)/.exec(readFileSync(props, 'utf8'))?.[1] : undefined);
  return {
    ...process.env,
    STACK_DIR: stackDir(),
    DATABASE_URL: env.DATABASE_URL,
    REDIS_URL: env.REDIS_URL,
    KAFKA_PORT: portOf(env.KAFKA_BROKERS.split(',')[0]!),
    ...(controller ? { KAFKA_CONTROLLER_PORT: controller } : {}),
    WIREMOCK_PORT: portOf(env.WIREMOCK_URL),
    ORDER_API_PORT: portOf(env.ORDER_API_URL),
    DATA_API_PORT: portOf(env.DATA_API_URL),
    STREAM_PROCESS_PORT: portOf(env.STREAM_PROCESS_URL),
    ...(env.INTERNAL_API_TOKEN ? { INTERNAL_API_TOKEN: env.INTERNAL_API_TOKEN } : {}),
    ...(env.WMS_API_KEY ? { WMS_API_KEY: env.WMS_API_KEY } : {}),
    ...(env.SHOPIFY_ACCESS_TOKEN ? { SHOPIFY_ACCESS_TOKEN: env.SHOPIFY_ACCESS_TOKEN } : {}),
    SHOPIFY_WEBHOOK_SECRET: env.SHOPIFY_WEBHOOK_SECRET,
    SHOPIFY_API_VERSION: env.SHOPIFY_API_VERSION,
  };
}

/** `npm run stack -- <args>` against this stack; resolves with its exit code and output. */
export function launcher(...args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [path.join(REPO_ROOT, 'stack', 'cli.ts'), ...args], {
      cwd: REPO_ROOT,
      env: launcherEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Runs the launcher and fails loudly, with its output, unless it succeeded. */
export async function launcherOk(...args: string[]): Promise<string> {
  const { code, output } = await launcher(...args);
  if (code !== 0) throw new Error(`stack ${args.join(' ')} exited ${code}:\n${output}`);
  // A component this stack did not start (a developer's own Kafka, say) is left alone: no fault happens.
  if (args[0] === 'stop' && /not managed by this stack/.test(output)) {
    throw new Error(`cannot inject the fault: ${output.trim()} (run these suites against a stack that started ${args[1]} itself)`);
  }
  return output;
}

/** The pid the launcher recorded for a component it started. */
export function componentPid(component: string): number {
  const file = path.join(stackDir(), 'pids', `${component}.pid`);
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid in ${file}`);
  return pid;
}

/**
 * The launcher has `stop` (SIGTERM, a clean drain) but no crash: a crash is SIGKILL to the pid it
 * recorded; `start` then brings the component back as after any crash.
 */
export async function crash(component: string): Promise<void> {
  const pid = componentPid(component);
  process.kill(pid, 'SIGKILL');
  await eventually(
    () => {
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (alive) throw new Error(`${component} (pid ${pid}) still runs after SIGKILL`);
    },
    5_000,
    50,
  );
}

export interface WebhookAnswer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  ms: number;
}

/**
 * Posts a signed orders/create delivery to the stack's order-manage-api, as Shopify would. Through
 * undici's keep-alive pool (the services' own `httpRequest`), not `fetch`: the bench's load
 * generator sends with it too, on the cores the stack is measured on, and fetch cost it about twice
 * the CPU per order.
 */
export async function postOrder(
  body: unknown,
  headers: Partial<Record<string, string>> = {},
  baseUrl = stackEnv().ORDER_API_URL,
): Promise<WebhookAnswer> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const started = performance.now();
  const answer = await httpRequest(`${baseUrl}/api/shopify/webhooks/orders`, {
    method: 'POST',
    headers: shopifyHeaders(raw, stackEnv().SHOPIFY_WEBHOOK_SECRET, headers),
    body: raw,
    timeoutMs: 30_000,
  });
  let json: Record<string, unknown>;
  try {
    json = answer.text ? (JSON.parse(answer.text) as Record<string, unknown>) : {};
  } catch {
    json = { raw: answer.text };
  }
  const answerHeaders = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    for (const one of [value ?? []].flat()) answerHeaders.append(name, one);
  }
  return { status: answer.status, headers: answerHeaders, json, ms: performance.now() - started };
}

export interface StockedProducts {
  products: TestProduct[];
  /** Removes the WMS stubs (rows stay: other tests never see these random ids). */
  cleanup(): Promise<void>;
}

/** Products in the database and in the WMS (a stub per product), each with `wmsQuantity` there. */
export async function stockedProducts(count: number, options: TestProductOptions & { wmsQuantity?: number }): Promise<StockedProducts> {
  const products = await Promise.all(Array.from({ length: count }, () => createTestProduct(options)));
  const removers = await Promise.all(products.map((p) => stubWmsInventory(p.sku, { availableQuantity: options.wmsQuantity ?? 1_000_000 })));
  return {
    products,
    async cleanup() {
      await Promise.all(removers.map((remove) => remove()));
    },
  };
}

/** Runs `tasks` with at most `concurrency` at once; results in task order. */
export async function pool<T>(tasks: Array<() => Promise<T>>, concurrency: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, tasks.length) }, async () => {
      for (let i = next++; i < tasks.length; i = next++) results[i] = await tasks[i]!();
    }),
  );
  return results;
}

export const shuffle = <T>(items: readonly T[]): T[] => {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

/** Polls until `check` returns a value; the suites' one polling helper. */
export { waitFor };

/**
 * Available stock by product id (the sum of its variants). Test products made by `stockedProducts`
 * have one variant each, so this is that variant's figure; for several variants of one product use
 * `availableByVariant`.
 */
export async function availableNow(productIds: readonly number[]): Promise<Map<number, number>> {
  const { rows } = await dbPool().query<{ product_id: string; available: number }>(
    'SELECT product_id::text, sum(available_quantity)::int AS available FROM inventory WHERE product_id = ANY($1::bigint[]) GROUP BY product_id',
    [productIds.map(String)],
  );
  return new Map(rows.map((r) => [Number(r.product_id), r.available]));
}

/** Available stock of each variant, by variant id. */
export async function availableByVariant(variantIds: readonly number[]): Promise<Map<number, number>> {
  const { rows } = await dbPool().query<{ variant_id: string; available_quantity: number }>(
    'SELECT variant_id::text, available_quantity FROM inventory WHERE variant_id = ANY($1::bigint[])',
    [variantIds.map(String)],
  );
  return new Map(rows.map((r) => [Number(r.variant_id), r.available_quantity]));
}

export interface LedgerCheck {
  variantId: number;
  availableQuantity: number;
  version: number;
  /** Σ of the variant's movement deltas, and how many movements it has. */
  movementSum: number;
  movementCount: number;
}

/** Each variant's stock and version beside the sum and count of its movements (docs/spec.md section 4: they are equal). */
export async function ledgerOf(variantIds: readonly number[]): Promise<LedgerCheck[]> {
  const { rows } = await dbPool().query<{ variant_id: string; available_quantity: number; version: number; sum: number; count: number }>(
    `SELECT i.variant_id::text, i.available_quantity, i.version,
            coalesce(sum(m.delta), 0)::int AS sum, count(m.id)::int AS count
       FROM inventory i LEFT JOIN inventory_movement m ON m.variant_id = i.variant_id
      WHERE i.variant_id = ANY($1::bigint[])
      GROUP BY i.variant_id, i.available_quantity, i.version
      ORDER BY i.variant_id`,
    [variantIds.map(String)],
  );
  return rows.map((r) => ({
    variantId: Number(r.variant_id),
    availableQuantity: r.available_quantity,
    version: r.version,
    movementSum: r.sum,
    movementCount: r.count,
  }));
}

/**
 * Waits until Shopify (the stand-in) holds, for each variant's inventory item at its location, the
 * database's available quantity, and returns the GraphQL calls WireMock received naming these items
 * (reads and writes). docs/spec.md section 6: at rest the two are equal.
 */
export async function shopifyMatchesDatabase(products: readonly TestProduct[], timeoutMs = 90_000): Promise<ReceivedShopifyRequest[]> {
  let last = '';
  try {
    await waitFor(
      'Shopify to hold the database quantity of every variant',
      async () => {
        const db = await availableByVariant(products.map((p) => p.variantId));
        const held = await Promise.all(products.map((p) => shopifyAvailable(p.inventoryItemId, p.locationId)));
        const diff = products.flatMap((p, i) =>
          held[i] === db.get(p.variantId) ? [] : [`${p.sku}: db ${db.get(p.variantId)} shopify ${held[i]}`],
        );
        last = diff.join(', ');
        return diff.length === 0;
      },
      timeoutMs,
      500,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message} (${last})`, { cause: err });
  }
  return shopifyRequests(products.map((p) => p.inventoryItemId));
}

/**
 * Every event published for an order, read once none of its outbox rows waits any more (the relay
 * marks a row only after Kafka acknowledged it), to the end of the topic: so a second copy of an
 * event is counted too, and the count proves "exactly one per variant". `predicate` narrows further
 * (an order id reused by several tests of one file).
 */
export async function publishedEventsOf<T extends { orderId?: unknown } = InventoryEvent>(
  orderId: number | string,
  options: { since: number; topic?: string; predicate?: (event: KafkaEvent<T>) => boolean; timeoutMs?: number },
): Promise<Array<KafkaEvent<T>>> {
  await waitFor(
    `the outbox events of order ${orderId} to be published`,
    async () => (await countOutboxRows(orderId, { unpublishedOnly: true })) === 0,
    options.timeoutMs ?? 60_000,
    200,
  );
  return readEvents<T>({
    topic: options.topic ?? stackEnv().INVENTORY_TOPIC ?? 'inventory-updates',
    fromTimestamp: options.since,
    untilEnd: true,
    predicate: (e) => String(e.value.orderId) === String(orderId) && (options.predicate?.(e) ?? true),
    timeoutMs: options.timeoutMs ?? 60_000,
  });
}

/** What the database says about a set of orders: rows, details, outbox, for the "nothing half-written" checks. */
export async function orderIntegrity(orderIds: readonly number[]): Promise<{
  orders: number;
  withoutDetails: number[];
  /** Orders with a line that reserved stock but no event for its variant. */
  detailsWithoutOutbox: number[];
  unpublished: number;
  /** Outbox rows (one event each) of these orders. */
  events: number;
  /** Units reserved, by product (test products have one variant each). */
  soldByProduct: Map<number, number>;
  /** Units reserved, by variant. */
  soldByVariant: Map<number, number>;
}> {
  const ids = orderIds.map(String);
  const q = <R extends pg.QueryResultRow>(sql: string) => dbPool().query<R>(sql, [ids]);
  const [orders, noDetails, noOutbox, unpublished, sold] = await Promise.all([
    q<{ n: number }>('SELECT count(*)::int AS n FROM orders WHERE order_id = ANY($1::bigint[])'),
    q<{ order_id: string }>(
      `SELECT o.order_id::text FROM orders o WHERE o.order_id = ANY($1::bigint[])
          AND NOT EXISTS (SELECT 1 FROM order_detail d WHERE d.order_id = o.order_id)`,
    ),
    q<{ order_id: string }>(
      `SELECT DISTINCT d.order_id::text FROM order_detail d WHERE d.order_id = ANY($1::bigint[])
          AND d.reserved > 0
          AND NOT EXISTS (SELECT 1 FROM outbox_event e WHERE e.order_id = d.order_id AND e.message_key = d.variant_id::text)`,
    ),
    q<{ n: number; total: number }>(
      'SELECT count(*) FILTER (WHERE published_at IS NULL)::int AS n, count(*)::int AS total FROM outbox_event WHERE order_id = ANY($1::bigint[])',
    ),
    q<{ product_id: string; variant_id: string; sold: number }>(
      `SELECT product_id::text, variant_id::text, sum(reserved)::int AS sold FROM order_detail
        WHERE order_id = ANY($1::bigint[]) AND variant_id IS NOT NULL GROUP BY product_id, variant_id`,
    ),
  ]);
  const soldByProduct = new Map<number, number>();
  for (const r of sold.rows) soldByProduct.set(Number(r.product_id), (soldByProduct.get(Number(r.product_id)) ?? 0) + r.sold);
  return {
    orders: orders.rows[0]!.n,
    withoutDetails: noDetails.rows.map((r) => Number(r.order_id)),
    detailsWithoutOutbox: noOutbox.rows.map((r) => Number(r.order_id)),
    unpublished: unpublished.rows[0]!.n,
    events: unpublished.rows[0]!.total,
    soldByProduct,
    soldByVariant: new Map(sold.rows.map((r) => [Number(r.variant_id), r.sold])),
  };
}

export interface ReportRow {
  scenario: string;
  requests: number;
  faults: string;
  accepted: number;
  refused: number;
  lost: number;
  oversold: number;
}

/** The small table each suite prints at its end: what was sent, what was injected, what came out. */
export class Report {
  private readonly rows: ReportRow[] = [];
  constructor(private readonly title: string) {}

  add(row: ReportRow): void {
    this.rows.push(row);
  }

  print(): void {
    const header = ['scenario', 'requests', 'faults injected', 'accepted', 'refused', 'lost', 'oversold'];
    const body = this.rows.map((r) => [
      r.scenario,
      String(r.requests),
      r.faults,
      String(r.accepted),
      String(r.refused),
      String(r.lost),
      String(r.oversold),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    const out = [`\n${this.title}`, line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line), ''].join('\n');
    process.stdout.write(`${out}\n`);
  }
}

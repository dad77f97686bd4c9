/**
 * `npm run bench`: the load benchmark against the running stack (found through .stack/env, or
 * STACK_ENV_FILE). It creates its own products with ample stock and their WMS stubs, sends
 * BENCH_ORDERS signed orders (default 500) at BENCH_CONCURRENCY (default 20) to the webhook, and
 * prints throughput, latency percentiles, status counts and the commit-to-Shopify lag. It asserts
 * nothing about time; it stops by itself and removes its stubs.
 */
import { closeDb, dbPool } from '../support/db.js';
import { buildShopifyOrder, randomOrderId } from '../support/orders.js';
import { inventoryItemGid, lastQuantities, shopifyRequests } from '../support/shopify.js';
import { stackEnv } from '../support/stack-env.js';
import { availableNow, pool, postOrder, stockedProducts, type WebhookAnswer } from '../e2e/support.js';

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

const ORDERS = positive('BENCH_ORDERS', 500);
const CONCURRENCY = positive('BENCH_CONCURRENCY', 20);
const PRODUCTS = positive('BENCH_PRODUCTS', 10);
/** The lag wait is bounded: a stalled stream processor ends the run with the lag reported as such. */
const LAG_TIMEOUT_MS = positive('BENCH_LAG_TIMEOUT_MS', 120_000);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const ms = (value: number) => `${value.toFixed(1)} ms`;

async function main(): Promise<void> {
  const env = stackEnv();
  const health = await fetch(`${env.ORDER_API_URL}/health/ready`, { signal: AbortSignal.timeout(3_000) }).catch(() => undefined);
  if (!health?.ok) throw new Error(`order-manage-api is not ready at ${env.ORDER_API_URL}: start the stack (npm run stack:up)`);

  const stock = ORDERS * 3 * 10;
  const { products, cleanup } = await stockedProducts(PRODUCTS, { availableQuantity: stock });
  try {
    console.log(`bench: ${ORDERS} orders, concurrency ${CONCURRENCY}, ${PRODUCTS} products, against ${env.ORDER_API_URL}`);
    const tasks = Array.from({ length: ORDERS }, (_, i) => () => {
      const lines = [0, 1, 2]
        .slice(0, 1 + (i % 3))
        .map((n) => ({ productId: products[(i + n * 3) % PRODUCTS]!.productId, quantity: 1 + (i % 2) }));
      return postOrder(buildShopifyOrder({ orderId: randomOrderId(), lines })).catch(
        (err: unknown): WebhookAnswer => ({ status: 0, headers: new Headers(), json: { error: String(err) }, ms: NaN }),
      );
    });
    const started = performance.now();
    const answers = await pool(tasks, CONCURRENCY);
    const elapsed = (performance.now() - started) / 1000;

    const latencies = answers.filter((a) => a.status !== 0).map((a) => a.ms).sort((a, b) => a - b);
    const statuses = new Map<string, number>();
    for (const a of answers) {
      const key = a.status === 0 ? 'network error' : `${a.status}${typeof a.json.code === 'string' ? ` ${a.json.code}` : ''}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }

    // Commit -> Shopify, per product: from the commit of the last order holding it (received_at is
    // stamped in the commit transaction) to the call that brought WireMock that order's quantity.
    const items = products.map((p) => p.inventoryItemId);
    const db = await availableNow(products.map((p) => p.productId));
    const { rows: commits } = await dbPool().query<{ product_id: string; last_commit: Date }>(
      `SELECT d.product_id::text, max(o.received_at) AS last_commit
         FROM order_detail d JOIN orders o ON o.order_id = d.order_id
        WHERE d.product_id = ANY($1::bigint[]) GROUP BY d.product_id`,
      [products.map((p) => String(p.productId))],
    );
    const lastCommit = new Map(commits.map((r) => [Number(r.product_id), r.last_commit.getTime()]));
    let lags: number[] | undefined;
    let calls = 0;
    const deadline = Date.now() + LAG_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const requests = await shopifyRequests(items);
      calls = requests.length;
      const held = lastQuantities(requests);
      if (products.every((p) => held.get(inventoryItemGid(p.inventoryItemId)) === db.get(p.productId))) {
        lags = products
          .filter((p) => lastCommit.has(p.productId))
          .map((p) => {
            const gid = inventoryItemGid(p.inventoryItemId);
            const final = requests.find((r) => r.body.variables.input.quantities.some((q) => q.inventoryItemId === gid && q.quantity === db.get(p.productId)))!;
            return Math.max(0, final.loggedAt - lastCommit.get(p.productId)!);
          })
          .sort((a, b) => a - b);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const rows: Array<[string, string]> = [
      ['orders sent', String(ORDERS)],
      ['concurrency', String(CONCURRENCY)],
      ['wall time', `${elapsed.toFixed(2)} s`],
      ['throughput', `${(ORDERS / elapsed).toFixed(1)} orders/s`],
      ['latency p50', ms(percentile(latencies, 50))],
      ['latency p95', ms(percentile(latencies, 95))],
      ['latency p99', ms(percentile(latencies, 99))],
      ['latency max', ms(latencies.at(-1) ?? NaN)],
      ...[...statuses].sort().map(([status, n]): [string, string] => [`status ${status}`, String(n)]),
      ['Shopify calls', String(calls)],
      ['commit -> Shopify (last order per product)', lags === undefined ? `not reached within ${LAG_TIMEOUT_MS / 1000} s` : `p50 ${ms(percentile(lags, 50))}, max ${ms(lags.at(-1) ?? NaN)}`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n'));
  } finally {
    await cleanup();
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

import { setTimeout as sleep } from 'node:timers/promises';
import { pool, postOrder } from '../tests/e2e/support.js';
import { buildShopifyOrder, lineOf, randomOrderId } from '../tests/support/orders.js';
import type { TestProduct } from '../tests/support/db.js';

export interface LoadResult {
  sent: number;
  accepted: number;
  statuses: Record<string, number>;
  seconds: number;
  /** Sorted latencies in ms; for an open loop measured from each order's scheduled time. */
  latencies: number[];
  lastAnsweredAt: number;
  /** Orders slower than `SLOW_ORDER_MS`, by the second of the phase they started in: a stall shows as one crowded second. */
  slow: SlowOrders;
}

/** The webhook's latency target at 100 orders/s (issue 11): a slower order counts as slow. */
export const SLOW_ORDER_MS = 50;

export interface SlowOrders {
  count: number;
  /** Second of the phase (from its start) → slow orders that started in it. */
  bySecond: Record<number, number>;
  /** The slowest order: when it started (ISO, this machine's clock) and how long it took. */
  worst?: { startedAt: string; ms: number };
}

/** What an order line names of its variant, as Shopify sends it: product, variant and SKU. */
export type BenchVariant = Pick<TestProduct, 'productId' | 'variantId' | 'sku'>;

/**
 * A 3-line order over `variants`, the i-th of a run: lines rotate so every variant is hit evenly,
 * each naming its product, variant id and SKU. With `hot`, that variant takes the first line of every order.
 */
export function threeLineOrder(variants: readonly BenchVariant[], i: number, hot?: BenchVariant) {
  const spread = [0, 1, 2].map((n) => variants[(i * 3 + n) % variants.length]!);
  const lines = (hot ? [hot, spread[0]!, spread[1]!] : spread).map((v) => lineOf(v, 1));
  return buildShopifyOrder({ orderId: randomOrderId(), lines });
}

async function send(body: unknown, baseUrl?: string): Promise<{ status: string; answeredAt: number }> {
  try {
    const answer = await postOrder(body, {}, baseUrl);
    const code = typeof answer.json.code === 'string' ? ` ${answer.json.code}` : '';
    return { status: `${answer.status}${code}`, answeredAt: performance.now() };
  } catch (err) {
    return { status: `network error (${(err as Error).name})`, answeredAt: performance.now() };
  }
}

function slowOrders(results: Array<{ answeredAt: number; startedAt: number }>, phaseStartedAt: number): SlowOrders {
  const slow: SlowOrders = { count: 0, bySecond: {} };
  for (const r of results) {
    const ms = r.answeredAt - r.startedAt;
    if (ms <= SLOW_ORDER_MS) continue;
    slow.count += 1;
    const second = Math.floor((r.startedAt - phaseStartedAt) / 1000);
    slow.bySecond[second] = (slow.bySecond[second] ?? 0) + 1;
    // performance.now() counts from timeOrigin: their sum is the epoch time the logs carry.
    if (ms > (slow.worst?.ms ?? 0)) slow.worst = { startedAt: new Date(performance.timeOrigin + r.startedAt).toISOString(), ms };
  }
  return slow;
}

function summarise(results: Array<{ status: string; answeredAt: number; startedAt: number }>, phaseStartedAt: number): LoadResult {
  const statuses: Record<string, number> = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const seconds = (performance.now() - phaseStartedAt) / 1000;
  return {
    sent: results.length,
    accepted: statuses['201'] ?? 0,
    statuses,
    seconds,
    latencies: results.map((r) => r.answeredAt - r.startedAt).sort((a, b) => a - b),
    lastAnsweredAt: Math.max(...results.map((r) => r.answeredAt)),
    slow: slowOrders(results, phaseStartedAt),
  };
}

/**
 * `orders` orders with `concurrency` in flight: the most the stack accepts per second. `baseUrl`
 * sends them to another api than the stack's (signed with the stack's webhook secret all the same).
 */
export async function closedLoop(
  orders: number,
  concurrency: number,
  order: (i: number) => unknown,
  baseUrl?: string,
): Promise<LoadResult> {
  const started = performance.now();
  const results = await pool(
    Array.from({ length: orders }, (_, i) => async () => {
      const startedAt = performance.now();
      return { ...(await send(order(i), baseUrl)), startedAt };
    }),
    concurrency,
  );
  return summarise(results, started);
}

/**
 * Orders sent on a fixed schedule whatever the answers: latency counts from the scheduled send,
 * so a stall shows as the queue it causes (no coordinated omission).
 */
export async function openLoop(ratePerSecond: number, seconds: number, order: (i: number) => unknown): Promise<LoadResult> {
  const total = Math.round(ratePerSecond * seconds);
  const intervalMs = 1000 / ratePerSecond;
  const started = performance.now();
  const inFlight: Array<Promise<{ status: string; answeredAt: number; startedAt: number }>> = [];
  for (let i = 0; i < total; i++) {
    const scheduledAt = started + i * intervalMs;
    const wait = scheduledAt - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight.push(send(order(i)).then((r) => ({ ...r, startedAt: scheduledAt })));
  }
  const results = await Promise.all(inFlight);
  return summarise(results, started);
}

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

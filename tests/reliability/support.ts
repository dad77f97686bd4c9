import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { waitFor } from '../support/eventually.js';
import { dbPool, type TestProduct } from '../support/db.js';
import { raisesBySystem, shopifyLevels, type Level } from '../support/shopify-stand-in.js';
import { shopifyGraphqlPath } from '../support/shopify.js';
import { stackEnv } from '../support/stack-env.js';

/**
 * What the reliability and replica suites check once the load is over, on the variant model
 * (docs/spec.md sections 4 and 6): the database's ledger, the orders' lines, movements and events, and
 * Shopify's figure at the stand-in. Everything is read for the test's own variants and orders only.
 */

export type Variant = Pick<TestProduct, 'variantId' | 'productId' | 'sku' | 'inventoryItemId' | 'locationId'>;

/** Each variant's available quantity, by variant id. */
export async function stockOf(variantIds: readonly number[]): Promise<Map<number, number>> {
  const { rows } = await dbPool().query<{ variant_id: string; available_quantity: number }>(
    'SELECT variant_id::text, available_quantity FROM inventory WHERE variant_id = ANY($1::bigint[])',
    [variantIds.map(String)],
  );
  return new Map(rows.map((r) => [Number(r.variant_id), r.available_quantity]));
}

/** Variants whose stock is not the sum of their movements, or whose version is not their count, described. */
export async function ledgerMismatches(variantIds: readonly number[]): Promise<string[]> {
  const { rows } = await dbPool().query<{
    variant_id: string;
    available_quantity: number;
    version: number;
    total: number;
    movements: number;
  }>(
    `SELECT i.variant_id::text, i.available_quantity, i.version,
            coalesce(sum(m.delta), 0)::int AS total, count(m.id)::int AS movements
       FROM inventory i LEFT JOIN inventory_movement m ON m.variant_id = i.variant_id
      WHERE i.variant_id = ANY($1::bigint[])
      GROUP BY i.variant_id, i.available_quantity, i.version`,
    [variantIds.map(String)],
  );
  assert.equal(rows.length, new Set(variantIds).size, 'every variant is in the inventory');
  return rows
    .filter((r) => r.available_quantity !== r.total || r.version !== r.movements)
    .map(
      (r) =>
        `variant ${r.variant_id}: stock ${r.available_quantity} but movements sum to ${r.total}; version ${r.version} for ${r.movements} movements`,
    );
}

export interface OrderIntegrity {
  /** Orders stored among these ids. */
  orders: number;
  /** Stored orders without a single line. */
  withoutLines: number[];
  /** `order:variant` pairs that reserved stock without the movement that took it, or the reverse, or with another quantity. */
  reservedWithoutMovement: string[];
  /** `order:variant` pairs with a movement but no outbox event keyed by the variant. */
  movedWithoutEvent: string[];
  /** Outbox rows (one event each) of these orders. */
  events: number;
  unpublished: number;
  /** Units the orders' lines reserved, by variant. */
  reservedByVariant: Map<number, number>;
}

/** What the database holds for a set of orders: the "nothing half-written" checks, per line, movement and event. */
export async function orderIntegrity(orderIds: readonly number[]): Promise<OrderIntegrity> {
  const ids = orderIds.map(String);
  const q = <R extends pg.QueryResultRow>(sql: string) => dbPool().query<R>(sql, [ids]);
  const [orders, noLines, reservedVsMoved, noEvent, outbox, reserved] = await Promise.all([
    q<{ n: number }>('SELECT count(*)::int AS n FROM orders WHERE order_id = ANY($1::bigint[])'),
    q<{ order_id: string }>(
      `SELECT o.order_id::text FROM orders o WHERE o.order_id = ANY($1::bigint[])
          AND NOT EXISTS (SELECT 1 FROM order_detail d WHERE d.order_id = o.order_id)`,
    ),
    q<{ pair: string }>(
      `WITH r AS (SELECT order_id::text AS order_id, variant_id, sum(reserved)::int AS units FROM order_detail
                   WHERE order_id = ANY($1::bigint[]) AND reserved > 0 GROUP BY order_id, variant_id),
            m AS (SELECT reference AS order_id, variant_id, (-sum(delta))::int AS units FROM inventory_movement
                   WHERE reason = 'order' AND reference = ANY($1::text[]) GROUP BY reference, variant_id)
       SELECT coalesce(r.order_id, m.order_id) || ':' || coalesce(r.variant_id, m.variant_id)::text AS pair
         FROM r FULL JOIN m ON m.order_id = r.order_id AND m.variant_id = r.variant_id
        WHERE r.units IS DISTINCT FROM m.units`,
    ),
    q<{ pair: string }>(
      `SELECT m.reference || ':' || m.variant_id::text AS pair FROM inventory_movement m
        WHERE m.reason = 'order' AND m.reference = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM outbox_event e WHERE e.order_id::text = m.reference AND e.message_key = m.variant_id::text)`,
    ),
    q<{ n: number; total: number }>(
      'SELECT count(*) FILTER (WHERE published_at IS NULL)::int AS n, count(*)::int AS total FROM outbox_event WHERE order_id = ANY($1::bigint[])',
    ),
    q<{ variant_id: string; units: number }>(
      `SELECT variant_id::text, sum(reserved)::int AS units FROM order_detail
        WHERE order_id = ANY($1::bigint[]) AND variant_id IS NOT NULL GROUP BY variant_id`,
    ),
  ]);
  return {
    orders: orders.rows[0]!.n,
    withoutLines: noLines.rows.map((r) => Number(r.order_id)),
    reservedWithoutMovement: reservedVsMoved.rows.map((r) => r.pair),
    movedWithoutEvent: noEvent.rows.map((r) => r.pair),
    events: outbox.rows[0]!.total,
    unpublished: outbox.rows[0]!.n,
    reservedByVariant: new Map(reserved.rows.map((r) => [Number(r.variant_id), r.units])),
  };
}

/** Asserts that nothing of these orders is half-written: every order has its lines, every reservation its movement and event. */
export function assertWhole(state: OrderIntegrity, expectedOrders: number): void {
  assert.equal(state.orders, expectedOrders, 'every accepted order is stored, once');
  assert.deepEqual(state.withoutLines, [], 'no order without its lines');
  assert.deepEqual(state.reservedWithoutMovement, [], "each variant's reservation is one movement of the same units");
  assert.deepEqual(state.movedWithoutEvent, [], 'every movement has its event');
}

export interface AtRest {
  /** The database's figure, by variant id. */
  stock: Map<number, number>;
  /** The stand-in's level of each variant's item at its location, by variant id. */
  levels: Map<number, Level>;
}

/**
 * Waits for the system to come to rest for these variants, then proves docs/spec.md section 6's
 * invariants there: each variant's stock is the sum of its movements (and its version their count),
 * Shopify's available (the stand-in) equals the database's, and, while only sales happened, no
 * change the system made ever raised Shopify's figure.
 */
export async function assertAtRest(
  variants: readonly Variant[],
  options: { timeoutMs?: number; onlySales?: boolean } = {},
): Promise<AtRest> {
  const ids = variants.map((v) => v.variantId);
  assert.deepEqual(await ledgerMismatches(ids), [], 'stock = the sum of the movements, version = their count');
  let last = '';
  const atRest = await waitFor(
    "Shopify's available to be the database's for every variant",
    async () => {
      const stock = await stockOf(ids);
      const levels = new Map<number, Level>();
      const differ: string[] = [];
      await Promise.all(
        variants.map(async (v) => {
          const level = (await shopifyLevels(v.inventoryItemId)).find((l) => l.locationId === String(v.locationId));
          if (level) levels.set(v.variantId, level);
          if (level?.available !== stock.get(v.variantId))
            differ.push(`${v.sku}: database ${stock.get(v.variantId)}, Shopify ${level?.available}`);
        }),
      );
      last = differ.join('; ');
      return differ.length === 0 ? { stock, levels } : undefined;
    },
    options.timeoutMs ?? 120_000,
    500,
  ).catch((err: Error) => {
    throw new Error(`${err.message} (${last})`, { cause: err });
  });
  assert.deepEqual(await ledgerMismatches(ids), [], 'the ledger still adds up at rest');
  if (options.onlySales ?? true) {
    for (const v of variants) {
      assert.deepEqual(raisesBySystem(atRest.levels.get(v.variantId)!), [], `${v.sku}: no call of the system raised Shopify's figure`);
    }
  }
  return atRest;
}

export interface GraphqlCall {
  /** The operation, `query` text as sent. */
  query: string;
  variables: Record<string, unknown>;
  loggedAt: number;
}

/** The GraphQL calls WireMock's journal holds naming any of these items, oldest first; `mutation` keeps only the calls of that mutation. */
export async function shopifyCalls(inventoryItemIds: ReadonlyArray<number | string>, mutation?: string): Promise<GraphqlCall[]> {
  const res = await fetch(`${stackEnv().WIREMOCK_URL}/__admin/requests/find`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      method: 'POST',
      urlPath: shopifyGraphqlPath(),
      bodyPatterns: [{ matches: `(?s).*gid://shopify/InventoryItem/(${inventoryItemIds.join('|')})".*` }],
    }),
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`WireMock journal answered ${res.status}`);
  const { requests } = (await res.json()) as { requests: Array<{ body: string; loggedDate: number; headers: Record<string, string> }> };
  return (
    requests
      // A call a test's stub proxied on to the stand-in is journaled twice: the proxy's copy is marked.
      .filter((r) => !Object.keys(r.headers).some((h) => h.toLowerCase() === PROXIED))
      .map((r) => ({ ...(JSON.parse(r.body) as { query: string; variables: Record<string, unknown> }), loggedAt: r.loggedDate }))
      .filter((c) => mutation === undefined || c.query.includes(mutation))
      .sort((a, b) => a.loggedAt - b.loggedAt)
  );
}

const PROXIED = 'x-test-proxied-to-stand-in';

async function wiremockAdmin(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${stackEnv().WIREMOCK_URL}/__admin${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`WireMock ${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export interface Stub {
  remove(): Promise<void>;
}

const itemsPattern = (inventoryItemIds: ReadonlyArray<number | string>, mutation?: string) => ({
  method: 'POST',
  urlPath: shopifyGraphqlPath(),
  headers: { [PROXIED]: { absent: true } },
  bodyPatterns: [
    { matches: `(?s).*gid://shopify/InventoryItem/(${inventoryItemIds.join('|')})".*` },
    ...(mutation ? [{ contains: mutation }] : []),
  ],
});

const removeAll = (ids: string[]) => async () => {
  for (const id of ids) await wiremockAdmin('DELETE', `/mappings/${id}`).catch(() => undefined);
};

/**
 * A slow Shopify for these items: every call naming them waits `delayMs`, then goes on to the
 * stand-in (WireMock proxies it to itself, marked so that it passes this stub the second time), so
 * Shopify still keeps its state.
 */
export async function slowShopify(inventoryItemIds: ReadonlyArray<number | string>, delayMs: number): Promise<Stub> {
  const mapping = (await wiremockAdmin('POST', '/mappings', {
    priority: 1,
    request: itemsPattern(inventoryItemIds),
    response: {
      proxyBaseUrl: stackEnv().WIREMOCK_URL,
      additionalProxyRequestHeaders: { [PROXIED]: 'slow' },
      fixedDelayMilliseconds: delayMs,
    },
  })) as { id: string };
  return { remove: removeAll([mapping.id]) };
}

export interface FailureReply {
  status: number;
  headers?: Record<string, string>;
  jsonBody: unknown;
}

/**
 * The first calls of `mutation` naming these items get `replies`, one each in order; every later
 * call reaches the stand-in, which applies it (a WireMock scenario whose last state has no stub).
 */
export async function failFirstMutations(
  inventoryItemIds: ReadonlyArray<number | string>,
  mutation: string,
  replies: FailureReply[],
): Promise<Stub> {
  const scenarioName = `failing-${randomUUID()}`;
  const ids: string[] = [];
  for (const [i, reply] of replies.entries()) {
    const mapping = (await wiremockAdmin('POST', '/mappings', {
      priority: 1,
      request: itemsPattern(inventoryItemIds, mutation),
      response: { status: reply.status, headers: { 'Content-Type': 'application/json', ...reply.headers }, jsonBody: reply.jsonBody },
      scenarioName,
      requiredScenarioState: i === 0 ? 'Started' : `failed-${i}`,
      newScenarioState: `failed-${i + 1}`,
    })) as { id: string };
    ids.push(mapping.id);
  }
  return { remove: removeAll(ids) };
}

/** Every call naming these items answers `reply`: a Shopify that keeps failing for them. */
export async function failAlways(inventoryItemIds: ReadonlyArray<number | string>, reply: FailureReply): Promise<Stub> {
  const mapping = (await wiremockAdmin('POST', '/mappings', {
    priority: 1,
    request: itemsPattern(inventoryItemIds),
    response: { status: reply.status, headers: { 'Content-Type': 'application/json', ...reply.headers }, jsonBody: reply.jsonBody },
  })) as { id: string };
  return { remove: removeAll([mapping.id]) };
}

import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { dbPool } from '../support/db.js';
import { REPO_ROOT, stackEnv, stackEnvFile } from '../support/stack-env.js';
import type { ToolRun } from './run-tool.js';

/**
 * The catalogue import's test fixtures on the shared stack: Shopify's catalogue at the stand-in
 * (global: a PUT replaces it, so each test builds the whole catalogue it imports), the WMS list as
 * a stub of the test's own above the stack's mapping, and the rows read with their ids as text (the
 * imports' ids are above 2^53, where a JS number would round them).
 */

/** Random Shopify-like ids above 2^53: any id that passed through a double would come back changed. */
export function bigId(): string {
  return (9_100_000_000_000_000n + BigInt(randomInt(1, 2 ** 47))).toString();
}

export interface CatalogueVariantFixture {
  id: string;
  sku?: string | null;
  price: string;
  title?: string;
  inventoryItemId: string;
  tracked?: boolean;
}

export interface CatalogueProductFixture {
  id: string;
  title: string;
  variants: CatalogueVariantFixture[];
}

async function wiremockAdmin(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${stackEnv().WIREMOCK_URL}/__admin${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} /__admin${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Replaces the stand-in's catalogue (docs/spec.md 6.1): what `productVariants` serves. */
export async function putShopifyCatalogue(products: CatalogueProductFixture[]): Promise<void> {
  await wiremockAdmin('PUT', '/shopify/catalogue', { products });
}

export interface WmsListEntry {
  sku: string;
  availableQuantity: number;
}

const listItem = (e: WmsListEntry) => ({
  sku: e.sku,
  availableQuantity: e.availableQuantity,
  reservedQuantity: 0,
  totalQuantity: e.availableQuantity,
  locationId: 'WH-TEST-1',
  lastUpdated: '2026-12-01T08:00:00Z',
});

/** A WMS key of the caller's own: the list stub answers only requests carrying it, so nobody else's run sees it. */
export const privateWmsKey = () => `wms-key-${randomInt(1, 2 ** 47)}`;

/**
 * The WMS list (`GET /api/v1/inventory?cursor=&limit=`) answering only these SKUs, `pageSize` a page
 * (cursors "page-2", "page-3", …), at priority 1 above the stack's own list, to requests with the
 * key `apiKey` only (run the import with WMS_API_KEY set to it). Returns its remover.
 */
export async function stubWmsList(entries: WmsListEntry[], options: { apiKey: string; pageSize?: number }): Promise<() => Promise<void>> {
  const pageSize = options.pageSize ?? 1_000;
  const pages: WmsListEntry[][] = [];
  for (let i = 0; i < entries.length; i += pageSize) pages.push(entries.slice(i, i + pageSize));
  if (pages.length === 0) pages.push([]);
  const ids: string[] = [];
  for (const [i, page] of pages.entries()) {
    const mapping = (await wiremockAdmin('POST', '/mappings', {
      priority: 1,
      request: {
        method: 'GET',
        urlPath: '/api/v1/inventory',
        headers: { Authorization: { equalTo: `Bearer ${options.apiKey}` } },
        queryParameters: i === 0 ? { cursor: { absent: true } } : { cursor: { equalTo: `page-${i + 1}` } },
      },
      response: {
        status: 200,
        headers: { 'Content-Type': 'application/json' },
        jsonBody: { items: page.map(listItem), nextCursor: i + 1 < pages.length ? `page-${i + 2}` : null },
      },
    })) as { id: string };
    ids.push(mapping.id);
  }
  return async () => {
    for (const id of ids) await wiremockAdmin('DELETE', `/mappings/${id}`).catch(() => undefined);
  };
}

/** Runs `npm run catalogue -- <args>` as the person on call would, against the test's stack (`env` on top). */
export function runCatalogue(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'catalogue', '--', ...args],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, STACK_ENV_FILE: stackEnvFile(), ...options.env },
        timeout: options.timeoutMs ?? 600_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

export interface VariantRow {
  variantId: string;
  productId: string;
  sku: string;
  title: string;
  price: string;
  currency: string;
  inventoryItemId: string;
  locationId: string;
  availableQuantity: number;
  version: number;
  updatedAt: string;
}

/** Rows of these variants, ids exact, by variant id. */
export async function readVariants(variantIds: string[]): Promise<Map<string, VariantRow>> {
  const { rows } = await dbPool().query(
    `SELECT variant_id::text, product_id::text, sku, title, price::text, currency, shopify_inventory_item_id::text,
            shopify_location_id::text, available_quantity, version, to_char(updated_at, 'YYYY-MM-DD"T"HH24:MI:SS.US') AS updated_at
       FROM inventory WHERE variant_id = ANY($1::bigint[])`,
    [variantIds],
  );
  return new Map(
    rows.map((r) => [
      r.variant_id,
      {
        variantId: r.variant_id,
        productId: r.product_id,
        sku: r.sku,
        title: r.title,
        price: r.price,
        currency: r.currency.trim(),
        inventoryItemId: r.shopify_inventory_item_id,
        locationId: r.shopify_location_id,
        availableQuantity: r.available_quantity,
        version: r.version,
        updatedAt: r.updated_at,
      },
    ]),
  );
}

export interface LedgerRow {
  id: string;
  variantId: string;
  delta: number;
  reason: string;
  reference: string;
  idempotencyKey: string;
}

/** The movements of these variants, oldest first. */
export async function readLedger(variantIds: string[]): Promise<LedgerRow[]> {
  const { rows } = await dbPool().query(
    `SELECT id::text, variant_id::text, delta, reason, reference, idempotency_key
       FROM inventory_movement WHERE variant_id = ANY($1::bigint[]) ORDER BY id`,
    [variantIds],
  );
  return rows.map((r) => ({
    id: r.id,
    variantId: r.variant_id,
    delta: r.delta,
    reason: r.reason,
    reference: r.reference,
    idempotencyKey: r.idempotency_key,
  }));
}

/** The outbox events announcing these variants' movements (key = variant id), oldest first. */
export async function readVariantEvents(variantIds: string[]): Promise<Array<Record<string, unknown>>> {
  const { rows } = await dbPool().query(`SELECT payload FROM outbox_event WHERE message_key = ANY($1::text[]) ORDER BY id`, [variantIds]);
  return rows.map((r) => r.payload as Record<string, unknown>);
}

/** For every variant: whether its stock equals the sum of its movements and its version their count. */
export async function ledgerMismatches(variantIds: string[]): Promise<string[]> {
  const { rows } = await dbPool().query(
    `SELECT i.variant_id::text, i.available_quantity, i.version, coalesce(sum(m.delta), 0)::int AS total, count(m.id)::int AS n
       FROM inventory i LEFT JOIN inventory_movement m ON m.variant_id = i.variant_id
      WHERE i.variant_id = ANY($1::bigint[])
      GROUP BY i.variant_id, i.available_quantity, i.version
     HAVING i.available_quantity <> coalesce(sum(m.delta), 0) OR i.version <> count(m.id)`,
    [variantIds],
  );
  return rows.map(
    (r) => `variant ${r.variant_id}: stock ${r.available_quantity} version ${r.version}, movements sum ${r.total} count ${r.n}`,
  );
}

/** Removes these variants (their movements go with them) and their outbox rows: they hold no orders. */
export async function removeVariants(variantIds: string[]): Promise<void> {
  if (variantIds.length === 0) return;
  await dbPool().query('DELETE FROM outbox_event WHERE message_key = ANY($1::text[]) AND order_id IS NULL', [variantIds]);
  await dbPool().query('DELETE FROM inventory WHERE variant_id = ANY($1::bigint[])', [variantIds]);
}

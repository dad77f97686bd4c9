import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dbPool } from '../support/db.js';
import { readServiceLog } from '../support/logs.js';
import { REPO_ROOT, stackEnv, stackEnvFile } from '../support/stack-env.js';
import type { ToolRun } from './run-tool.js';

/**
 * Support for the stock operations tests (docs/spec.md section 10): the data-api's adjustments and
 * ledger endpoints, the `npm run stock` command, and WMS list stubs of the test's own. The WMS list
 * is shared by every test and tool running at once, so each stub answers only a bearer key of the
 * test's own: the CLI and the sync run with that key, everything else still sees the demo list.
 */

export interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

export const token = () => stackEnv().INTERNAL_API_TOKEN;

/** A call to the running data-api; `auth: false` sends no token, a string sends that one. */
export async function dataApi(
  path: string,
  init: { method?: 'GET' | 'POST'; body?: unknown; auth?: boolean | string } = {},
): Promise<Answer> {
  const auth = init.auth ?? true;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (auth !== false) headers.authorization = `Bearer ${auth === true ? token() : auth}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${stackEnv().DATA_API_URL}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export const adjust = (body: unknown, auth: boolean | string = true) =>
  dataApi('/api/inventory/adjustments', { method: 'POST', body, auth });

export interface Movement {
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

/** Outbox rows announcing this variant's movements, oldest first: what the relay publishes. */
export async function outboxEventsOf(variantId: number | string): Promise<Array<Record<string, unknown>>> {
  const { rows } = await dbPool().query<{ payload: Record<string, unknown> }>(
    `SELECT payload FROM outbox_event WHERE message_key = $1 ORDER BY id`,
    [String(variantId)],
  );
  return rows.map((r) => r.payload);
}

/** The stream processor's SUCCESS lines in the stack's log for this event. */
export function streamSuccessOf(eventId: string) {
  return readServiceLog('order-stream-process').filter((l) => l.event === 'shopify.inventory.updated' && l.eventId === eventId);
}

/** `npm run stock -- …` as a merchant's engineer runs it, against the test's stack; `env` adds variables. */
export function runStock(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'stock', '--', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, STACK_ENV_FILE: stackEnvFile(), ...env }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface WmsItem {
  sku: string;
  availableQuantity: number;
}

/**
 * The WMS list (`GET /api/v1/inventory?cursor=&limit=`) as these pages, answered only to
 * `Bearer <key>` (a key of the test's own), at priority 1. Returns the key and the stubs' remover.
 */
export async function stubWmsList(pages: WmsItem[][]): Promise<{ key: string; remove(): Promise<void> }> {
  const key = `test-wms-list-${randomUUID()}`;
  const ids: string[] = [];
  for (const [index, items] of pages.entries()) {
    const response = await fetch(`${stackEnv().WIREMOCK_URL}/__admin/mappings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        priority: 1,
        request: {
          method: 'GET',
          urlPath: '/api/v1/inventory',
          headers: { Authorization: { equalTo: `Bearer ${key}` } },
          queryParameters: { cursor: index === 0 ? { absent: true } : { equalTo: `page-${index + 1}` } },
        },
        response: {
          status: 200,
          headers: { 'Content-Type': 'application/json' },
          jsonBody: {
            items: items.map((i) => ({
              ...i,
              reservedQuantity: 0,
              totalQuantity: i.availableQuantity,
              locationId: 'WH-TEST-1',
              lastUpdated: new Date().toISOString(),
            })),
            nextCursor: index + 1 < pages.length ? `page-${index + 2}` : null,
          },
        },
      }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new Error(`WireMock refused the WMS list stub: ${response.status} ${await response.text()}`);
    ids.push(((await response.json()) as { id: string }).id);
  }
  return {
    key,
    async remove() {
      for (const id of ids) await fetch(`${stackEnv().WIREMOCK_URL}/__admin/mappings/${id}`, { method: 'DELETE' }).catch(() => undefined);
    },
  };
}

/** Requests WireMock received for the WMS list with this key, oldest first: their query strings. */
export async function wmsListRequests(key: string): Promise<string[]> {
  const response = await fetch(`${stackEnv().WIREMOCK_URL}/__admin/requests/find`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'GET', urlPath: '/api/v1/inventory', headers: { Authorization: { equalTo: `Bearer ${key}` } } }),
    signal: AbortSignal.timeout(10_000),
  });
  const { requests } = (await response.json()) as { requests: Array<{ url: string; loggedDate: number }> };
  return requests.sort((a, b) => a.loggedDate - b.loggedDate).map((r) => r.url);
}

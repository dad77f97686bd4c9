/**
 * The WMS list client (`listInventory`, services/order-manage-api/src/clients/wms.ts) against WireMock:
 * docs/spec.md section 3's `GET /api/v1/inventory?cursor=&limit=`, with the failure policy of the per-SKU
 * check (a timeout, no connection or a 5xx is retried, 3 attempts in all; any other 4xx is not).
 * Every stub here answers only a bearer key of the test's own.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createWmsClient, WmsListUnavailableError } from '../../services/order-manage-api/src/clients/wms.js';
import { stackEnv } from '../support/stack-env.js';
import { stubWmsList, wmsListRequests } from './stock-support.js';

async function stubListAnswer(key: string, response: Record<string, unknown>): Promise<() => Promise<void>> {
  const res = await fetch(`${stackEnv().WIREMOCK_URL}/__admin/mappings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      priority: 1,
      request: { method: 'GET', urlPath: '/api/v1/inventory', headers: { Authorization: { equalTo: `Bearer ${key}` } } },
      response,
    }),
  });
  const { id } = (await res.json()) as { id: string };
  return async () => {
    await fetch(`${stackEnv().WIREMOCK_URL}/__admin/mappings/${id}`, { method: 'DELETE' });
  };
}

const client = (apiKey: string, timeoutMs = 2_000) =>
  createWmsClient({ baseUrl: stackEnv().WMS_BASE_URL, apiKey, timeoutMs, backoffMs: 10 });

describe('listInventory: one page of the WMS list', () => {
  it('reads a page with the bearer key, cursor and limit, and follows nextCursor to the last page', async (t) => {
    const wms = await stubWmsList([[{ sku: 'A-1', availableQuantity: 4 }], [{ sku: 'B-2', availableQuantity: 0 }]]);
    t.after(() => wms.remove());
    const first = await client(wms.key).listInventory({ limit: 50 });
    assert.deepEqual(
      first.items.map((i) => [i.sku, i.availableQuantity, i.totalQuantity, i.locationId]),
      [['A-1', 4, 4, 'WH-TEST-1']],
    );
    assert.equal(first.nextCursor, 'page-2');
    const last = await client(wms.key).listInventory({ cursor: first.nextCursor, limit: 50 });
    assert.deepEqual(
      last.items.map((i) => [i.sku, i.availableQuantity]),
      [['B-2', 0]],
    );
    assert.equal(last.nextCursor, null);
    assert.deepEqual(await wmsListRequests(wms.key), ['/api/v1/inventory?limit=50', '/api/v1/inventory?cursor=page-2&limit=50']);
  });

  it('makes 3 attempts at a WMS answering 5xx, then fails with WmsListUnavailableError', async (t) => {
    const key = `test-wms-list-${randomUUID()}`;
    t.after(await stubListAnswer(key, { status: 503, jsonBody: { error: 'down' } }));
    await assert.rejects(client(key).listInventory({ limit: 10 }), (err: unknown) => {
      assert.ok(err instanceof WmsListUnavailableError);
      assert.equal(err.attempts, 3);
      assert.match(err.message, /answered 503/);
      return true;
    });
    assert.equal((await wmsListRequests(key)).length, 3);
  });

  it('makes 3 attempts at a WMS that does not answer within WMS_TIMEOUT_MS', async (t) => {
    const key = `test-wms-list-${randomUUID()}`;
    t.after(await stubListAnswer(key, { status: 200, jsonBody: { items: [], nextCursor: null }, fixedDelayMilliseconds: 1_000 }));
    await assert.rejects(
      client(key, 150).listInventory(),
      (err: unknown) => err instanceof WmsListUnavailableError && /no answer within 150 ms/.test(err.message),
    );
    assert.equal((await wmsListRequests(key)).length, 3);
  });

  it('does not retry a refusal (401) or an unusable page', async (t) => {
    const refused = `test-wms-list-${randomUUID()}`;
    t.after(await stubListAnswer(refused, { status: 401, jsonBody: { error: 'unauthorized' } }));
    await assert.rejects(client(refused).listInventory(), /WMS list answered 401/);
    assert.equal((await wmsListRequests(refused)).length, 1);

    const garbled = `test-wms-list-${randomUUID()}`;
    t.after(
      await stubListAnswer(garbled, { status: 200, jsonBody: { items: [{ sku: 'A-1', availableQuantity: 'many' }], nextCursor: null } }),
    );
    await assert.rejects(client(garbled).listInventory(), /unusable page: item 0 \(A-1\) has no integer availableQuantity/);
    assert.equal((await wmsListRequests(garbled)).length, 1);
  });
});

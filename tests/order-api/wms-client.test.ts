/**
 * The WMS client (services/order-manage-api/src/clients/wms.ts, wms-attempt.ts) built in-process against
 * the WMS stand-in in WireMock: what `checkInventory` and `listInventory` return or throw, the requests
 * WireMock receives, and the `onCall(outcome, seconds)` reports a metric is made of (docs/spec.md section 3).
 * Every stub answers only the test's own SKU or bearer key; timeouts and backoffs are kept short.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { deadlineIn } from '@oms/common';
import { TransientWmsError } from '../../services/order-manage-api/src/clients/wms-attempt.js';
import {
  createWmsClient,
  type WmsCallOutcome,
  type WmsClientOptions,
  WmsListUnavailableError,
  WmsUnavailableError,
} from '../../services/order-manage-api/src/clients/wms.js';
import { stackEnv } from '../support/stack-env.js';
import { type JournalRequest, stubWmsInventory, type WmsStub, wmsRequestsFor } from '../support/wiremock.js';
import { closedPort } from './intake-harness.js';

const API_KEY = 'test-wms-client-key';

/** A client whose every `onCall` report is kept, in call order. */
function reportingClient(options: Partial<WmsClientOptions> = {}) {
  const calls: Array<[WmsCallOutcome, number]> = [];
  const client = createWmsClient({
    baseUrl: stackEnv().WMS_BASE_URL,
    apiKey: API_KEY,
    timeoutMs: 2_000,
    backoffMs: 5,
    onCall: (outcome, seconds) => calls.push([outcome, seconds]),
    ...options,
  });
  return { client, calls };
}

/** Runs `call` and measures its wall time in seconds, whether it resolves or rejects. */
async function timed<T>(call: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; wallSeconds: number }> {
  const started = performance.now();
  const [result] = await Promise.allSettled([call()]);
  return { result: result!, wallSeconds: (performance.now() - started) / 1000 };
}

/** The outcomes reported, after checking each duration is a real one: not negative, and within the call's wall time. */
function outcomesWithin(calls: Array<[WmsCallOutcome, number]>, wallSeconds: number): WmsCallOutcome[] {
  for (const [outcome, seconds] of calls) {
    assert.ok(seconds >= 0 && seconds <= wallSeconds, `${outcome} took ${seconds} s of a ${wallSeconds} s call`);
  }
  return calls.map(([outcome]) => outcome);
}

function rejection<T>(result: PromiseSettledResult<T>): unknown {
  assert.equal(result.status, 'rejected', 'the call fails');
  return result.reason;
}

/** A unique SKU that needs percent-encoding: a space, a slash, a non-ASCII letter, '#' and '?'. */
function oddSku(): { sku: string; path: string } {
  const id = randomUUID();
  return { sku: `WMS T/ä#?${id}`, path: `/api/v1/inventory/WMS%20T%2F%C3%A4%23%3F${id}` };
}

const plainSku = () => `WMS-CLIENT-${randomUUID()}`;

/** A raw WireMock mapping (for answers `stubWmsInventory` does not write), removed after the test. */
async function stubWms(t: TestContext, request: Record<string, unknown>, response: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${stackEnv().WIREMOCK_URL}/__admin/mappings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ priority: 1, request: { method: 'GET', ...request }, response }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`WireMock refused the stub: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  t.after(() => fetch(`${stackEnv().WIREMOCK_URL}/__admin/mappings/${id}`, { method: 'DELETE' }).then(() => undefined));
}

async function stubSku(t: TestContext, sku: string, stub: WmsStub): Promise<void> {
  t.after(await stubWmsInventory(sku, stub));
}

/** The list requests WireMock received with this bearer key, oldest first. */
async function listRequestsWith(key: string): Promise<JournalRequest[]> {
  const res = await fetch(`${stackEnv().WIREMOCK_URL}/__admin/requests/find`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ method: 'GET', urlPath: '/api/v1/inventory', headers: { Authorization: { equalTo: `Bearer ${key}` } } }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`WireMock journal answered ${res.status}`);
  const { requests } = (await res.json()) as { requests: JournalRequest[] };
  return requests.sort((a, b) => a.loggedDate - b.loggedDate);
}

/** A header of a journalled request, whatever case the client wrote its name in. */
function header(request: JournalRequest, name: string): string | undefined {
  return Object.entries(request.headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

describe('checkInventory: the WMS figure for one SKU', () => {
  it('returns the SKU and its availableQuantity, and reports one ok call', async (t) => {
    const sku = plainSku();
    await stubSku(t, sku, { availableQuantity: 7 });
    const { client, calls } = reportingClient();
    const { result, wallSeconds } = await timed(() => client.checkInventory(sku));
    assert.deepEqual(result, { status: 'fulfilled', value: { sku, availableQuantity: 7 } });
    assert.deepEqual(outcomesWithin(calls, wallSeconds), ['ok']);
  });

  it('asks for the percent-encoded SKU with the bearer key, JSON and no compression', async (t) => {
    const { sku, path } = oddSku();
    await stubSku(t, sku, { availableQuantity: 3 });
    const { client } = reportingClient();
    assert.deepEqual(await client.checkInventory(sku), { sku, availableQuantity: 3 });
    const requests = await wmsRequestsFor(sku);
    assert.deepEqual(
      requests.map((r) => [r.url, header(r, 'authorization'), header(r, 'accept'), header(r, 'accept-encoding')]),
      [[path, `Bearer ${API_KEY}`, 'application/json', 'identity']],
    );
  });

  it('does not double the slash when WMS_BASE_URL ends in slashes', async (t) => {
    const sku = plainSku();
    await stubSku(t, sku, { availableQuantity: 2 });
    const { client } = reportingClient({ baseUrl: `${stackEnv().WMS_BASE_URL}//` });
    assert.deepEqual(await client.checkInventory(sku), { sku, availableQuantity: 2 });
    assert.deepEqual(
      (await wmsRequestsFor(sku)).map((r) => r.url),
      [`/api/v1/inventory/${sku}`],
    );
  });

  it('answers null for a SKU the WMS does not know (404) after one not_found call', async (t) => {
    const sku = plainSku();
    await stubSku(t, sku, { status: 404 });
    const { client, calls } = reportingClient();
    const { result, wallSeconds } = await timed(() => client.checkInventory(sku));
    assert.deepEqual(result, { status: 'fulfilled', value: null });
    assert.deepEqual(outcomesWithin(calls, wallSeconds), ['not_found']);
    assert.equal((await wmsRequestsFor(sku)).length, 1);
  });

  for (const status of [300, 401, 403]) {
    it(`fails at once on a ${status} answer: one bad_response attempt, WmsUnavailableError naming the status`, async (t) => {
      const sku = plainSku();
      await stubSku(t, sku, { status });
      const { client, calls } = reportingClient();
      const { result, wallSeconds } = await timed(() => client.checkInventory(sku));
      const err = rejection(result);
      assert.ok(err instanceof WmsUnavailableError);
      assert.equal(err.name, 'WmsUnavailableError');
      assert.equal(err.message, `WMS check of SKU ${sku} failed 1 attempts: WMS answered ${status} for SKU ${sku}`);
      assert.deepEqual([err.sku, err.attempts, err.wmsFailed], [sku, 1, true]);
      assert.deepEqual(outcomesWithin(calls, wallSeconds), ['bad_response']);
      assert.equal((await wmsRequestsFor(sku)).length, 1);
    });
  }

  it('retries a 500 up to the default 3 attempts, then fails with the last answer as its cause', async (t) => {
    const sku = plainSku();
    await stubSku(t, sku, { status: 500 });
    const { client, calls } = reportingClient();
    const { result, wallSeconds } = await timed(() => client.checkInventory(sku));
    const err = rejection(result);
    assert.ok(err instanceof WmsUnavailableError);
    assert.equal(err.message, `WMS check of SKU ${sku} failed 3 attempts: answered 500`);
    assert.deepEqual([err.attempts, err.wmsFailed], [3, true]);
    assert.ok(err.cause instanceof TransientWmsError, 'the cause is the last attempt’s failure');
    assert.deepEqual([err.cause.name, err.cause.message, err.cause.outcome], ['TransientWmsError', 'answered 500', 'server_error']);
    assert.deepEqual(outcomesWithin(calls, wallSeconds), ['server_error', 'server_error', 'server_error']);
    assert.equal((await wmsRequestsFor(sku)).length, 3);
  });

  it('retries a 429 (the WMS shedding load) up to the configured attempts', async (t) => {
    const sku = plainSku();
    await stubSku(t, sku, { status: 429 });
    const { client, calls } = reportingClient({ attempts: 2 });
    const { result, wallSeconds } = await timed(() => client.checkInventory(sku));
    const err = rejection(result);
    assert.ok(err instanceof WmsUnavailableError);
    assert.equal(err.message, `WMS check of SKU ${sku} failed 2 attempts: answered 429`);
    assert.equal(err.attempts, 2);
    assert.deepEqual(outcomesWithin(calls, wallSeconds), ['server_error', 'server_error']);
    assert.equal((await wmsRequestsFor(sku)).length, 2);
  });

  const unusable: Array<[string, Record<string, unknown>]> = [
    ['no availableQuantity', { jsonBody: { sku: 'x' } }],
    ['a fractional availableQuantity (1.5)', { jsonBody: { availableQuantity: 1.5 } }],
    ['availableQuantity as a string ("7")', { jsonBody: { availableQuantity: '7' } }],
    ['a body that is not JSON', { body: 'plenty' }],
  ];
  for (const [what, response] of unusable) {
    it(`fails at once on a 200 with ${what}: one bad_response attempt`, async (t) => {
      const sku = plainSku();
      await stubWms(t, { url: `/api/v1/inventory/${sku}` }, { status: 200, headers: { 'Content-Type': 'application/json' }, ...response });
      const { client, calls } = reportingClient();
      const { result, wallSeconds } = await timed(() => client.checkInventory(sku));
      const err = rejection(result);
      assert.ok(err instanceof WmsUnavailableError);
      assert.equal(
        err.message,
        `WMS check of SKU ${sku} failed 1 attempts: WMS answered without a usable availableQuantity for SKU ${sku}`,
      );
      assert.deepEqual(outcomesWithin(calls, wallSeconds), ['bad_response']);
      assert.equal((await wmsRequestsFor(sku)).length, 1);
    });
  }

  it('reports connection_error attempts and "cannot connect" when the WMS port is closed', async () => {
    const sku = plainSku();
    const { client, calls } = reportingClient({ baseUrl: `http://127.0.0.1:${await closedPort()}`, attempts: 2 });
    const { result, wallSeconds } = await timed(() => client.checkInventory(sku));
    const err = rejection(result);
    assert.ok(err instanceof WmsUnavailableError);
    assert.equal(err.message, `WMS check of SKU ${sku} failed 2 attempts: cannot connect`);
    assert.deepEqual([err.attempts, err.wmsFailed], [2, true]);
    assert.ok(err.cause instanceof TransientWmsError);
    assert.equal(err.cause.outcome, 'connection_error');
    assert.deepEqual(outcomesWithin(calls, wallSeconds), ['connection_error', 'connection_error']);
  });

  it('gives up on an attempt the WMS answers later than timeoutMs: timeout outcomes and "no answer within N ms"', async (t) => {
    const sku = plainSku();
    await stubSku(t, sku, { availableQuantity: 5, delayMs: 1_000 });
    const { client, calls } = reportingClient({ timeoutMs: 100, attempts: 2 });
    const { result, wallSeconds } = await timed(() => client.checkInventory(sku));
    const err = rejection(result);
    assert.ok(err instanceof WmsUnavailableError);
    assert.equal(err.message, `WMS check of SKU ${sku} failed 2 attempts: no answer within 100 ms`);
    assert.deepEqual([err.attempts, err.wmsFailed], [2, true]);
    assert.deepEqual(outcomesWithin(calls, wallSeconds), ['timeout', 'timeout']);
    assert.equal((await wmsRequestsFor(sku)).length, 2);
  });

  it('cuts the attempt’s timeout to a shorter deadline: a deadline outcome naming the cut, not a WMS failure', async (t) => {
    const sku = plainSku();
    await stubSku(t, sku, { availableQuantity: 5, delayMs: 1_500 });
    const { client, calls } = reportingClient({ timeoutMs: 1_000, attempts: 1 });
    const { result, wallSeconds } = await timed(() => client.checkInventory(sku, { deadline: deadlineIn(150) }));
    const err = rejection(result);
    assert.ok(err instanceof WmsUnavailableError);
    const cut = /^WMS check of SKU .+ failed 1 attempts: no answer within (\d+) ms$/.exec(err.message)?.[1];
    assert.ok(cut !== undefined && Number(cut) > 0 && Number(cut) <= 150, `the attempt is cut to the deadline: ${err.message}`);
    assert.equal(err.wmsFailed, false, 'our deadline ran out, not the WMS');
    assert.deepEqual(outcomesWithin(calls, wallSeconds), ['deadline']);
  });

  it('makes no further attempt once the deadline has run out', async (t) => {
    const sku = plainSku();
    await stubSku(t, sku, { availableQuantity: 5, delayMs: 1_500 });
    const { client, calls } = reportingClient({ timeoutMs: 1_000 });
    const { result, wallSeconds } = await timed(() => client.checkInventory(sku, { deadline: deadlineIn(150) }));
    const err = rejection(result);
    assert.ok(err instanceof WmsUnavailableError);
    assert.equal(err.message, `WMS check of SKU ${sku} failed 1 attempts: the answer deadline left no time for another attempt`);
    assert.deepEqual([err.attempts, err.wmsFailed], [1, false]);
    assert.deepEqual(outcomesWithin(calls, wallSeconds), ['deadline']);
    assert.equal((await wmsRequestsFor(sku)).length, 1);
  });

  it('makes no attempt at all under a deadline already spent', async (t) => {
    const sku = plainSku();
    await stubSku(t, sku, { availableQuantity: 5 });
    const { client, calls } = reportingClient();
    const err = rejection((await timed(() => client.checkInventory(sku, { deadline: deadlineIn(0) }))).result);
    assert.ok(err instanceof WmsUnavailableError);
    assert.equal(err.message, `WMS check of SKU ${sku} failed 0 attempts: the answer deadline left no time for another attempt`);
    assert.deepEqual([err.attempts, err.wmsFailed], [0, false]);
    assert.deepEqual(calls, []);
    assert.equal((await wmsRequestsFor(sku)).length, 0);
  });
});

/** The list's page shapes tests/operations/wms-list-client.test.ts does not try; every stub answers only its own key. */
describe('listInventory: the pages the WMS list answers', () => {
  const listKey = () => `test-wms-client-${randomUUID()}`;
  const listStub = (key: string) => ({ urlPath: '/api/v1/inventory', headers: { Authorization: { equalTo: `Bearer ${key}` } } });
  const json = { 'Content-Type': 'application/json' };

  it('asks for the first page without a query string, with the bearer key and JSON, and reports one ok call', async (t) => {
    const key = listKey();
    await stubWms(t, listStub(key), { status: 200, headers: json, jsonBody: { items: [] } });
    const { client, calls } = reportingClient({ apiKey: key });
    const { result, wallSeconds } = await timed(() => client.listInventory());
    assert.deepEqual(result, { status: 'fulfilled', value: { items: [], nextCursor: null } });
    assert.deepEqual(outcomesWithin(calls, wallSeconds), ['ok']);
    assert.deepEqual(
      (await listRequestsWith(key)).map((r) => [r.url, header(r, 'accept')]),
      [['/api/v1/inventory', 'application/json']],
    );
  });

  it('reads a numeric nextCursor as a string and keeps each item’s other fields', async (t) => {
    const key = listKey();
    const item = { sku: 'A-1', availableQuantity: 3, reservedQuantity: 1, totalQuantity: 4, locationId: 'WH-9' };
    await stubWms(t, listStub(key), { status: 200, headers: json, jsonBody: { items: [item], nextCursor: 7 } });
    const { client } = reportingClient({ apiKey: key });
    assert.deepEqual(await client.listInventory(), { items: [item], nextCursor: '7' });
  });

  // [the page, why it is unusable]: a body that is not JSON, then each rule of a page in turn.
  const unusable: Array<[string, string]> = [
    ['plenty', 'not a JSON object'],
    ['null', 'not a JSON object'],
    ['{"nextCursor":null}', 'no items array'],
    ['{"items":[],"nextCursor":true}', 'nextCursor is neither a string nor null'],
    ['{"items":[{"sku":"A-1","availableQuantity":1},null]}', 'item 1 has no SKU'],
    ['{"items":[{"sku":5,"availableQuantity":1}]}', 'item 0 has no SKU'],
    ['{"items":[{"sku":"","availableQuantity":1}]}', 'item 0 has no SKU'],
    ['{"items":[{"sku":"A-1","availableQuantity":1.5}]}', 'item 0 (A-1) has no integer availableQuantity'],
  ];
  for (const [body, reason] of unusable) {
    it(`fails at once on the page ${body}: "${reason}"`, async (t) => {
      const key = listKey();
      await stubWms(t, listStub(key), { status: 200, headers: json, body });
      const { client, calls } = reportingClient({ apiKey: key });
      const { result, wallSeconds } = await timed(() => client.listInventory());
      const err = rejection(result);
      assert.ok(err instanceof WmsListUnavailableError);
      assert.equal(err.message, `WMS list page (first) failed 1 attempts: WMS list answered an unusable page: ${reason}`);
      assert.deepEqual(outcomesWithin(calls, wallSeconds), ['bad_response']);
      assert.equal((await listRequestsWith(key)).length, 1);
    });
  }

  it('fails at once on a 300 answer, even with a usable page', async (t) => {
    const key = listKey();
    await stubWms(t, listStub(key), { status: 300, headers: json, jsonBody: { items: [], nextCursor: null } });
    const { client, calls } = reportingClient({ apiKey: key });
    const { result, wallSeconds } = await timed(() => client.listInventory());
    const err = rejection(result);
    assert.ok(err instanceof WmsListUnavailableError);
    assert.equal(err.message, 'WMS list page (first) failed 1 attempts: WMS list answered 300');
    assert.deepEqual(outcomesWithin(calls, wallSeconds), ['bad_response']);
  });

  it('retries a 429 and names the cursor of the page that failed', async (t) => {
    const key = listKey();
    await stubWms(t, listStub(key), { status: 429, headers: json, jsonBody: { error: 'slow down' } });
    const { client, calls } = reportingClient({ apiKey: key, attempts: 2 });
    const { result, wallSeconds } = await timed(() => client.listInventory({ cursor: 'page-9' }));
    const err = rejection(result);
    assert.ok(err instanceof WmsListUnavailableError);
    assert.equal(err.name, 'WmsListUnavailableError');
    assert.equal(err.message, 'WMS list page at cursor page-9 failed 2 attempts: answered 429');
    assert.deepEqual([err.cursor, err.attempts], ['page-9', 2]);
    assert.ok(err.cause instanceof TransientWmsError && err.cause.message === 'answered 429', 'the cause is the last attempt’s failure');
    assert.deepEqual(outcomesWithin(calls, wallSeconds), ['server_error', 'server_error']);
    assert.deepEqual(
      (await listRequestsWith(key)).map((r) => r.url),
      ['/api/v1/inventory?cursor=page-9', '/api/v1/inventory?cursor=page-9'],
    );
  });

  it('makes no attempt under a deadline already spent', async (t) => {
    const key = listKey();
    await stubWms(t, listStub(key), { status: 200, headers: json, jsonBody: { items: [], nextCursor: null } });
    const { client, calls } = reportingClient({ apiKey: key });
    const err = rejection((await timed(() => client.listInventory({ deadline: deadlineIn(0) }))).result);
    assert.ok(err instanceof WmsListUnavailableError);
    assert.equal(err.message, 'WMS list page (first) failed 0 attempts: the deadline left no time for another attempt');
    assert.deepEqual(calls, []);
    assert.equal((await listRequestsWith(key)).length, 0);
  });
});

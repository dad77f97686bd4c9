import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { closeDb, createTestProduct, dbPool, type TestProduct } from '../support/db.js';
import { buildShopifyOrder, lineOf, randomOrderId } from '../support/orders.js';
import { shopifyHeaders, signBody } from '../support/sign.js';
import { stackEnv } from '../support/stack-env.js';
import { stubWmsInventory, wiremock } from '../support/wiremock.js';
import {
  closedPort,
  type DataApiHandle,
  type IntakeHandle,
  type LogLine,
  startDataApi,
  startIntake,
  WEBHOOK_SECRET,
} from './intake-harness.js';

/**
 * docs/spec.md sections 2, 2.1, 7 and 10: what orders/create answers for each refusal, the log
 * line and the orders_total sample each answer leaves, and the ledger row of a refused order. The
 * api runs in-process against the stack's PostgreSQL (through an in-process data-api), Redis and
 * WireMock; WireMock also stands in for a data-api (or the gateway before it) that refuses the api.
 */

const PATH = '/api/shopify/webhooks/orders';
/** SHOPIFY_SHOP_DOMAIN as an operator may write it; deliveries name the shop in lower case (shopifyHeaders). */
const CONFIGURED_SHOP = 'Demo-Merchant.MyShopify.com';

let dataApi: DataApiHandle;
/** WEBHOOK_REFUSAL_STATUS unset (4xx), SHOPIFY_SHOP_DOMAIN set. */
let intake: IntakeHandle;
/** With the refused-orders ledger. */
let recording: IntakeHandle;
/** WEBHOOK_REFUSAL_STATUS=200. */
let answers200: IntakeHandle;
/** The data-api cannot be reached. */
let offline: IntakeHandle;
/** Its data-api is WireMock under a path of this run's own, which answers what each test registers. */
let gateway: IntakeHandle;
const gatewayPath = `/test-data-api-${randomUUID()}`;
/** A variant our stock and the WMS both hold plenty of. */
let variant: TestProduct;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  dataApi = await startDataApi();
  intake = await startIntake({ dataApiUrl: dataApi.url, shopDomain: CONFIGURED_SHOP });
  recording = await startIntake({ dataApiUrl: dataApi.url, ledger: true });
  answers200 = await startIntake({ dataApiUrl: dataApi.url, refusalStatus: '200' });
  offline = await startIntake({ dataApiUrl: `http://127.0.0.1:${await closedPort()}` });
  gateway = await startIntake({ dataApiUrl: `${stackEnv().WIREMOCK_URL}${gatewayPath}` });
  variant = await createTestProduct({ availableQuantity: 1_000 });
  cleanups.push(await stubWmsInventory(variant.sku, { availableQuantity: 1_000 }));
});

after(async () => {
  await Promise.all(cleanups.map((cleanup) => cleanup()));
  for (const handle of [intake, recording, answers200, offline, gateway]) await handle?.stop();
  await dataApi?.stop();
  await closeDb();
});

/** An order of the stocked variant, which every check passes. */
const goodOrder = (orderId = randomOrderId()) => buildShopifyOrder({ orderId, lines: [lineOf(variant, 1)] });
/** An order validation refuses for one field, its id still readable. */
const zeroQuantityOrder = (orderId = randomOrderId()) =>
  buildShopifyOrder({ orderId, lines: [{ productId: 8_000_000_000_001, quantity: 0 }] });

/** Posts bytes with exactly these headers (the harness's post always adds the usual Shopify ones). */
async function postRaw(handle: IntakeHandle, raw: string, headers: Record<string, string>) {
  const response = await fetch(`${handle.url}${PATH}`, { method: 'POST', headers, body: raw, signal: AbortSignal.timeout(20_000) });
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
}

/** Signed Shopify headers for `raw` without `name`. */
function headersWithout(raw: string, name: string): Record<string, string> {
  const { [name]: _omitted, ...headers } = shopifyHeaders(raw, WEBHOOK_SECRET);
  return headers;
}

/** The lines `handle` logged while `action` ran. */
async function linesDuring<T>(handle: IntakeHandle, action: () => Promise<T>): Promise<{ result: T; lines: LogLine[] }> {
  const mark = handle.lines.length;
  const result = await action();
  return { result, lines: handle.lines.slice(mark) };
}

/** The order.rejected lines among `lines`, as a reader of the log sees them (their fields, none undefined). */
const rejectedLines = (lines: LogLine[]) =>
  lines
    .filter((l) => l.event === 'order.rejected')
    .map(({ level, msg, code, status, answeredStatus, orderId }) =>
      Object.fromEntries(Object.entries({ level, msg, code, status, answeredStatus, orderId }).filter(([, v]) => v !== undefined)),
    );

/** orders_total by outcome, from the api's /metrics text. */
async function ordersTotal(handle: IntakeHandle): Promise<Map<string, number>> {
  const text = await (await fetch(`${handle.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const samples = new Map<string, number>();
  for (const match of text.matchAll(/^orders_total\{[^}]*outcome="([^"]+)"[^}]*\} (\S+)$/gm)) samples.set(match[1]!, Number(match[2]));
  return samples;
}

/** How much each orders_total outcome grew while `action` ran (outcomes that did not grow left out). */
async function countedDuring(handle: IntakeHandle, action: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await ordersTotal(handle);
  await action();
  const counted: Record<string, number> = {};
  for (const [outcome, n] of await ordersTotal(handle)) {
    const grew = n - (before.get(outcome) ?? 0);
    if (grew !== 0) counted[outcome] = grew;
  }
  return counted;
}

/** The data-api's (or its gateway's) answer to the api's resolve for this order alone, until removed. */
async function dataApiAnswers(orderId: number, status: number, body: Record<string, unknown>): Promise<() => Promise<void>> {
  const mock = wiremock();
  const mapping = await mock.register(
    { method: 'POST', endpoint: `${gatewayPath}/internal/variants/resolve`, body: { orderId: String(orderId) } },
    { status, headers: { 'Content-Type': 'application/problem+json' }, body },
    { requestIgnoreExtraElements: true },
  );
  return async () => {
    await mock.deleteMapping((mapping as { id: string }).id).catch(() => undefined);
  };
}

/** order-manage-data-api's own answer to a token it does not take (services/order-manage-data-api/src/routes/auth.ts). */
const TOKEN_REFUSED = {
  type: 'urn:problem:unauthorized',
  title: 'Unauthorized',
  status: 401,
  code: 'UNAUTHORIZED',
  detail: 'A valid bearer token is required for the internal API.',
};
/** A gateway in front of the data-api refusing the api. */
const GATEWAY_FORBIDS = { type: 'urn:problem:forbidden', title: 'Forbidden', status: 403, code: 'FORBIDDEN', detail: 'Not allowed.' };

/** Posts an order through the gateway while it answers the resolve with `status` and `body`. */
async function postRefusedByDataApi(status: number, body: Record<string, unknown>) {
  const orderId = randomOrderId();
  const remove = await dataApiAnswers(orderId, status, body);
  try {
    return { orderId, ...(await linesDuring(gateway, () => gateway.post(goodOrder(orderId)))) };
  } finally {
    await remove();
  }
}

describe('orders/create answers', () => {
  it('answers a delivery without X-Shopify-Hmac-Sha256 401 INVALID_SIGNATURE, saying it is missing or does not match', async () => {
    const raw = JSON.stringify(goodOrder());
    const res = await postRaw(intake, raw, headersWithout(raw, 'x-shopify-hmac-sha256'));
    assert.deepEqual(
      [res.status, res.json.code, res.json.detail],
      [401, 'INVALID_SIGNATURE', 'The X-Shopify-Hmac-Sha256 header is missing or does not match the body.'],
    );
  });

  it('answers a well-formed signature of other bytes 401 INVALID_SIGNATURE, saying it does not match the body', async () => {
    const order = goodOrder();
    const res = await intake.post(order, { 'x-shopify-hmac-sha256': signBody('other bytes', WEBHOOK_SECRET) });
    assert.deepEqual(
      [res.status, res.json.code, res.json.detail],
      [401, 'INVALID_SIGNATURE', 'The X-Shopify-Hmac-Sha256 header does not match the body.'],
    );
  });

  it('answers a body over 1 MiB 413 PAYLOAD_TOO_LARGE, naming the limit', async () => {
    const res = await intake.post({ ...goodOrder(), note: 'x'.repeat(1024 * 1024) });
    assert.deepEqual(
      [res.status, res.json.code, res.json.detail],
      [413, 'PAYLOAD_TOO_LARGE', 'The request body is larger than 1048576 bytes (1 MiB).'],
    );
  });

  it('answers a body in an encoding it cannot decode 400 INVALID_PAYLOAD, naming why it could not be read', async () => {
    const res = await intake.post(JSON.stringify(goodOrder()), { 'content-encoding': 'x-unknown' });
    assert.deepEqual(
      [res.status, res.json.code, res.json.detail],
      [400, 'INVALID_PAYLOAD', 'The request body could not be read (encoding.unsupported).'],
    );
  });

  it('answers a gzip body that does not inflate 400 INVALID_PAYLOAD, the body unreadable', async () => {
    const res = await intake.post('not gzip at all', { 'content-encoding': 'gzip' });
    assert.deepEqual(
      [res.status, res.json.code, res.json.detail],
      [400, 'INVALID_PAYLOAD', 'The request body could not be read (unreadable).'],
    );
  });

  it('answers 400 INVALID_PAYLOAD naming every failing field and header as "path reason", joined by "; ", with the order id', async () => {
    const orderId = randomOrderId();
    const order = { ...zeroQuantityOrder(orderId), currency: 'usd' };
    const res = await intake.post(order, { 'x-shopify-webhook-id': '' });
    assert.equal(res.status, 400);
    assert.equal(res.json.code, 'INVALID_PAYLOAD');
    assert.equal(
      res.json.detail,
      'The order failed validation: currency currency must be a 3-letter code; ' +
        'line_items[0].quantity quantity must be an integer of at least 1; headers.x-shopify-webhook-id is required.',
    );
    assert.equal(res.json.orderId, String(orderId));
  });

  it('answers a valid order without X-Shopify-Webhook-Id 400 INVALID_PAYLOAD naming the header and the order id', async () => {
    const orderId = randomOrderId();
    const res = await intake.post(goodOrder(orderId), { 'x-shopify-webhook-id': '' });
    assert.deepEqual(
      [res.status, res.json.detail, res.json.orderId],
      [400, 'The order failed validation: headers.x-shopify-webhook-id is required.', String(orderId)],
    );
  });

  it('answers an order whose id cannot be read 400 INVALID_PAYLOAD without an order id', async () => {
    const res = await intake.post({ ...goodOrder(), id: 'not-an-id' });
    assert.equal(res.status, 400);
    assert.equal(res.json.detail, 'The order failed validation: id id must be a positive integer below 2^63.');
    assert.equal('orderId' in res.json, false);
  });

  it('answers a delivery without X-Shopify-Shop-Domain 401 UNKNOWN_SHOP, saying the header is missing', async () => {
    const raw = JSON.stringify(goodOrder());
    const res = await postRaw(intake, raw, headersWithout(raw, 'x-shopify-shop-domain'));
    assert.deepEqual(
      [res.status, res.json.code, res.json.detail],
      [401, 'UNKNOWN_SHOP', 'The X-Shopify-Shop-Domain header is missing: this system takes deliveries of one shop only.'],
    );
  });

  it('quotes at most 255 characters of another shop’s domain in the 401 UNKNOWN_SHOP detail', async () => {
    const shop = `${'a'.repeat(300)}.myshopify.com`;
    const res = await intake.post(goodOrder(), { 'x-shopify-shop-domain': shop });
    assert.equal(res.status, 401);
    assert.equal(res.json.detail, `The delivery comes from shop ${'a'.repeat(255)}, which is not the shop this system serves.`);
  });

  it('takes the configured shop whatever the letter case of the header and of SHOPIFY_SHOP_DOMAIN', async () => {
    const res = await intake.post(zeroQuantityOrder(), { 'x-shopify-shop-domain': 'DEMO-MERCHANT.MYSHOPIFY.COM' });
    assert.deepEqual([res.status, res.json.code], [400, 'INVALID_PAYLOAD'], 'past the shop check, validation answers');
  });

  it('answers a delivery of another topic 400 UNEXPECTED_TOPIC, naming the path, the topic it takes and the one sent', async () => {
    const res = await intake.post(goodOrder(), { 'x-shopify-topic': 'orders/updated' });
    assert.equal(res.status, 400);
    assert.deepEqual(
      [res.json.code, res.json.detail, res.json.expectedTopic, res.json.topic],
      ['UNEXPECTED_TOPIC', `${PATH} takes orders/create deliveries; this one is orders/updated.`, 'orders/create', 'orders/updated'],
    );
  });

  it('answers a delivery with an empty X-Shopify-Topic 400 UNEXPECTED_TOPIC, saying the topic is empty', async () => {
    const res = await intake.post(goodOrder(), { 'x-shopify-topic': '' });
    assert.equal(res.status, 400);
    assert.deepEqual(
      [res.json.code, res.json.detail, res.json.topic],
      ['UNEXPECTED_TOPIC', `${PATH} takes orders/create deliveries; this one is of an empty topic.`, ''],
    );
  });

  it('takes a delivery without X-Shopify-Topic as the path’s own topic', async () => {
    const raw = JSON.stringify(zeroQuantityOrder());
    const res = await postRaw(intake, raw, headersWithout(raw, 'x-shopify-topic'));
    assert.deepEqual([res.status, res.json.code], [400, 'INVALID_PAYLOAD'], 'past the topic check, validation answers');
  });

  it('answers 503 DATA_API_UNAVAILABLE with Retry-After 2 and the order id when the data-api cannot be reached', async () => {
    const orderId = randomOrderId();
    const res = await offline.post(goodOrder(orderId));
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '2');
    assert.deepEqual(
      [res.json.code, res.json.detail, res.json.orderId],
      ['DATA_API_UNAVAILABLE', 'The order store cannot be reached or did not answer in time; retry later.', String(orderId)],
    );
  });

  for (const [who, status, body] of [
    ['the data-api refuses the api’s token (401)', 401, TOKEN_REFUSED],
    ['a gateway before the data-api forbids the api (403)', 403, GATEWAY_FORBIDS],
  ] as const) {
    it(`answers 500 INTERNAL_ERROR, not a refusal of the order, when ${who}`, async () => {
      const { result: res } = await postRefusedByDataApi(status, body);
      assert.equal(res.status, 500);
      assert.deepEqual(res.json, {
        type: 'urn:problem:internal-error',
        title: 'Internal Server Error',
        status: 500,
        code: 'INTERNAL_ERROR',
        detail: 'The order store refused this service; the operator has been told.',
      });
    });
  }

  it('passes any other refusal of the data-api on as it is, naming the order', async () => {
    const errors = [{ path: 'lines[0].sku', reason: 'sku must be at most 64 characters' }];
    const { orderId, result: res } = await postRefusedByDataApi(400, {
      status: 400,
      code: 'INVALID_PAYLOAD',
      detail: 'The request failed validation.',
      errors,
    });
    assert.equal(res.status, 400);
    assert.deepEqual(
      [res.json.code, res.json.detail, res.json.errors, res.json.orderId],
      ['INVALID_PAYLOAD', 'The request failed validation.', errors, String(orderId)],
    );
  });
});

describe('orders/create log lines', () => {
  it('logs a refusal of a readable order as order.rejected with its status, code, detail and order id', async () => {
    const orderId = randomOrderId();
    const { lines } = await linesDuring(intake, () => intake.post(zeroQuantityOrder(orderId)));
    assert.deepEqual(rejectedLines(lines), [
      {
        level: 'warn',
        msg: 'order rejected with 400 INVALID_PAYLOAD: The order failed validation: line_items[0].quantity quantity must be an integer of at least 1.',
        code: 'INVALID_PAYLOAD',
        status: 400,
        orderId: String(orderId),
      },
    ]);
  });

  it('logs a refusal answered 200 (WEBHOOK_REFUSAL_STATUS=200) with the status it was answered with', async () => {
    const orderId = randomOrderId();
    const { result, lines } = await linesDuring(answers200, () => answers200.post(zeroQuantityOrder(orderId)));
    assert.equal(result.status, 200);
    assert.deepEqual(rejectedLines(lines), [
      {
        level: 'warn',
        msg:
          'order rejected with 400 INVALID_PAYLOAD (answered 200, WEBHOOK_REFUSAL_STATUS=200): ' +
          'The order failed validation: line_items[0].quantity quantity must be an integer of at least 1.',
        code: 'INVALID_PAYLOAD',
        status: 400,
        answeredStatus: 200,
        orderId: String(orderId),
      },
    ]);
  });

  it('logs a refusal of a delivery that names no order without an order id', async () => {
    const { lines } = await linesDuring(intake, () =>
      intake.post(goodOrder(), { 'x-shopify-hmac-sha256': signBody('other', WEBHOOK_SECRET) }),
    );
    assert.deepEqual(rejectedLines(lines), [
      {
        level: 'warn',
        msg: 'order rejected with 401 INVALID_SIGNATURE: The X-Shopify-Hmac-Sha256 header does not match the body.',
        code: 'INVALID_SIGNATURE',
        status: 401,
      },
    ]);
  });

  it('logs data_api.unavailable as an error naming the call that failed, then the 503 refusal', async () => {
    const orderId = randomOrderId();
    const { lines } = await linesDuring(offline, () => offline.post(goodOrder(orderId)));
    const unavailable = lines.filter((l) => l.event === 'data_api.unavailable');
    assert.equal(unavailable.length, 1);
    assert.equal(unavailable[0]!.level, 'error');
    assert.equal(unavailable[0]!.orderId, String(orderId));
    assert.match(unavailable[0]!.msg, /^order-manage-data-api unavailable: POST \/internal\/variants\/resolve: cannot connect \(.+\)$/);
    assert.deepEqual(rejectedLines(lines), [
      {
        level: 'warn',
        msg: 'order rejected with 503 DATA_API_UNAVAILABLE: The order store cannot be reached or did not answer in time; retry later.',
        code: 'DATA_API_UNAVAILABLE',
        status: 503,
        orderId: String(orderId),
      },
    ]);
  });

  for (const [status, body] of [
    [401, TOKEN_REFUSED],
    [403, GATEWAY_FORBIDS],
  ] as const) {
    it(`logs data_api.refused as an error telling the operator to check INTERNAL_API_TOKEN when the data-api answers ${status}`, async () => {
      const { orderId, lines } = await postRefusedByDataApi(status, body);
      assert.deepEqual(
        lines.filter((l) => l.event === 'data_api.refused').map(({ level, msg, orderId }) => ({ level, msg, orderId })),
        [
          {
            level: 'error',
            msg: `order-manage-data-api refused our credentials (${status}): check INTERNAL_API_TOKEN`,
            orderId: String(orderId),
          },
        ],
      );
    });
  }

  it('logs a redelivery as order.replayed, with no second SUCCESS line', async () => {
    const order = goodOrder();
    const webhookId = randomUUID();
    assert.equal((await intake.post(order, { 'x-shopify-webhook-id': webhookId })).status, 201);
    const { result, lines } = await linesDuring(intake, () => intake.post(order, { 'x-shopify-webhook-id': webhookId }));
    assert.deepEqual([result.status, result.headers.get('idempotent-replayed')], [201, 'true']);
    assert.deepEqual(
      lines
        .filter((l) => l.event === 'order.replayed' || l.event === 'order.accepted')
        .map(({ level, event, msg, orderId }) => ({ level, event, msg, orderId })),
      [
        {
          level: 'info',
          event: 'order.replayed',
          msg: `order ${order.id} redelivered (same webhook or same event): answering the original 201`,
          orderId: String(order.id),
        },
      ],
    );
  });
});

describe('orders_total', () => {
  it('counts each refusal under its problem code', async () => {
    const counted = await countedDuring(intake, async () => {
      await intake.post(goodOrder(), { 'x-shopify-hmac-sha256': signBody('other', WEBHOOK_SECRET) });
      await intake.post(goodOrder(), { 'x-shopify-shop-domain': 'another-merchant.myshopify.com' });
      await intake.post(zeroQuantityOrder());
      await intake.post(zeroQuantityOrder());
      await intake.post({ ...goodOrder(), note: 'x'.repeat(1024 * 1024) });
    });
    assert.deepEqual(counted, { INVALID_SIGNATURE: 1, UNKNOWN_SHOP: 1, INVALID_PAYLOAD: 2, PAYLOAD_TOO_LARGE: 1 });
  });

  it('counts a refusal answered 200 under its code, not as accepted', async () => {
    assert.deepEqual(await countedDuring(answers200, () => answers200.post(zeroQuantityOrder())), { INVALID_PAYLOAD: 1 });
  });

  it('counts an accepted order as accepted and its redelivery as replayed', async () => {
    const order = goodOrder();
    const webhookId = randomUUID();
    const counted = await countedDuring(intake, async () => {
      assert.equal((await intake.post(order, { 'x-shopify-webhook-id': webhookId })).status, 201);
      assert.equal((await intake.post(order, { 'x-shopify-webhook-id': webhookId })).status, 201);
    });
    assert.deepEqual(counted, { accepted: 1, replayed: 1 });
  });

  it('counts an unreachable data-api as DATA_API_UNAVAILABLE and a refused token as INTERNAL_ERROR', async () => {
    assert.deepEqual(await countedDuring(offline, () => offline.post(goodOrder())), { DATA_API_UNAVAILABLE: 1 });
    assert.deepEqual(await countedDuring(gateway, () => postRefusedByDataApi(401, TOKEN_REFUSED)), { INTERNAL_ERROR: 1 });
  });
});

describe('the refused-orders ledger', () => {
  it('records a 409 ORDER_ALREADY_EXISTS under the webhook id of the refused delivery', async () => {
    const order = goodOrder();
    assert.equal((await recording.post(order)).status, 201);
    const refusedWebhookId = randomUUID();
    assert.equal((await recording.post(order, { 'x-shopify-webhook-id': refusedWebhookId })).status, 409);
    await recording.drainLedger();
    const { rows } = await dbPool().query('SELECT code, status, webhook_id, deliveries FROM order_rejection WHERE order_id = $1', [
      String(order.id),
    ]);
    assert.deepEqual(rows, [{ code: 'ORDER_ALREADY_EXISTS', status: 409, webhook_id: refusedWebhookId, deliveries: 1 }]);
    await dbPool().query('DELETE FROM order_rejection WHERE order_id = $1', [String(order.id)]);
  });
});

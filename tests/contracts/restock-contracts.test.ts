/**
 * The cancellation and refund parts of contracts/api_request_response.json (`restocks`) and of
 * contracts/openapi.yaml are documents people read; these tests keep them true: the examples pass
 * the services' own schemas and are signed as Shopify signs, and real answers of both services
 * (built in-process on the stack's PostgreSQL and Redis) match the OpenAPI description.
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type pg from 'pg';
import { createLogger, parseJsonWithExactIds } from '@oms/common';
import { createApp as createApiApp } from '../../services/order-manage-api/src/app.js';
import { createDataApiClient } from '../../services/order-manage-api/src/clients/data-api.js';
import { createRedis } from '../../services/order-manage-api/src/clients/redis.js';
import { createRestockClient } from '../../services/order-manage-api/src/clients/restocks.js';
import { createWmsHold } from '../../services/order-manage-api/src/clients/wms-hold.js';
import { createWmsClient } from '../../services/order-manage-api/src/clients/wms.js';
import { type RestockTopic, validateRestock } from '../../services/order-manage-api/src/domain/refund.js';
import { createApp as createDataApiApp, createDataApiMetrics } from '../../services/order-manage-data-api/src/app.js';
import { createPool } from '../../services/order-manage-data-api/src/db/pool.js';
import { restockSchema } from '../../services/order-manage-data-api/src/routes/restocks.js';
import { parseInventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import { closeDb, createTestProduct, dbPool, randomOrderId } from '../support/db.js';
import { buildShopifyOrder, lineOf } from '../support/orders.js';
import { buildCancelledOrder, buildRefund, CANCELLED_PATH, lineItemIds, ORDERS_PATH, REFUNDS_PATH } from '../support/refunds.js';
import { shopifyHeaders, signBody } from '../support/sign.js';
import { $defs, ajv, assertMatchesOpenApi } from '../support/openapi.js';
import { REPO_ROOT, stackEnv } from '../support/stack-env.js';
import { stubWmsInventory } from '../support/wiremock.js';

interface ExampleCall {
  request: { method: string; url: string; headers: Record<string, string>; body: Record<string, unknown> };
  responses: Array<{ status: number; code?: string; headers: Record<string, string>; body: unknown }>;
}
interface RestockExamples {
  ordersCancelled: ExampleCall;
  refundsCreate: ExampleCall;
  dataApiRestock: ExampleCall;
  kafka: { key: string; headers: Record<string, string>; value: Record<string, unknown> };
}

const contracts = path.join(REPO_ROOT, 'contracts');
const examples = (JSON.parse(readFileSync(path.join(contracts, 'api_request_response.json'), 'utf8')) as { restocks: RestockExamples })
  .restocks;

const RESTOCKS_ROUTE = '/internal/orders/{orderId}/restocks';
const WEBHOOKS: Array<[keyof RestockExamples & ('ordersCancelled' | 'refundsCreate'), RestockTopic, string]> = [
  ['ordersCancelled', 'orders/cancelled', CANCELLED_PATH],
  ['refundsCreate', 'refunds/create', REFUNDS_PATH],
];

describe('the documented cancellation and refund examples are ones the services accept', () => {
  test("each webhook example is signed as Shopify signs it and passes order-manage-api's reading of its topic", () => {
    for (const [name, topic] of WEBHOOKS) {
      const { headers, body } = examples[name].request;
      assert.equal(headers['X-Shopify-Topic'], topic);
      assert.equal(headers['X-Shopify-Hmac-Sha256'], signBody(JSON.stringify(body), 'local-webhook-secret'), name);
      const read = validateRestock(topic, parseJsonWithExactIds(JSON.stringify(body)));
      assert.ok(read.ok, read.ok ? '' : JSON.stringify(read.errors));
      assert.deepEqual(
        read.intake.refundLines.map((l) => [l.id, l.lineItemId, l.quantity, l.restockType, l.locationId]),
        [
          ['1058498307', '13912345678001', 2, 'cancel', '65432109876'],
          ['1058498308', '13912345678002', 1, 'cancel', '65432109876'],
        ],
      );
    }
  });

  test("the data-api example request is what the api sends for the orders/cancelled example, and passes the data-api's schema", () => {
    const { body, headers } = examples.dataApiRestock.request;
    const parsed = restockSchema.safeParse(body);
    assert.ok(parsed.success, parsed.error?.message);
    const read = validateRestock('orders/cancelled', parseJsonWithExactIds(JSON.stringify(examples.ordersCancelled.request.body)));
    assert.ok(read.ok);
    const webhook = examples.ordersCancelled.request.headers;
    assert.deepEqual(body, {
      topic: 'orders/cancelled',
      webhookId: webhook['X-Shopify-Webhook-Id'],
      eventId: webhook['X-Shopify-Event-Id'],
      cancelledAt: read.intake.cancelledAt,
      refundLineItems: read.intake.refundLines,
    });
    assert.equal(headers['x-correlation-id'], webhook['X-Shopify-Webhook-Id']);
  });

  test("the cancel event example passes the stream processor's event schema and openapi.yaml's InventoryEvent, as a change Shopify made", () => {
    const parsed = parseInventoryEvent(JSON.stringify(examples.kafka.value));
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
    assert.deepEqual([parsed.event.reason, parsed.event.shopifyKnows, parsed.event.variantId], ['cancel', true, examples.kafka.key]);
    const validate = ajv.compile({ $defs, $ref: '#/$defs/InventoryEvent' });
    assert.ok(validate(examples.kafka.value), ajv.errorsText(validate.errors));
  });

  test('every documented answer matches openapi.yaml, and the webhook examples cover every status of docs/spec.md section 2.2', () => {
    for (const [name, , route] of WEBHOOKS) {
      for (const r of examples[name].responses)
        assertMatchesOpenApi(route, 'POST', { status: r.status, contentType: r.headers['Content-Type']!, body: r.body });
      const seen = new Set(examples[name].responses.map((r) => `${r.status} ${r.code ?? ''}`.trim()));
      for (const expected of [
        '200',
        '400 UNEXPECTED_TOPIC',
        '400 INVALID_PAYLOAD',
        '401 INVALID_SIGNATURE',
        '413 PAYLOAD_TOO_LARGE',
        '503 DATA_API_UNAVAILABLE',
      ]) {
        assert.ok(seen.has(expected), `${name}: no example for ${expected}`);
      }
    }
    for (const r of examples.dataApiRestock.responses)
      assertMatchesOpenApi(RESTOCKS_ROUTE, 'POST', { status: r.status, contentType: r.headers['Content-Type']!, body: r.body });
    const validate = ajv.compile({ $defs, $ref: '#/$defs/RestockRequest' });
    assert.ok(validate(examples.dataApiRestock.request.body), ajv.errorsText(validate.errors));
  });
});

const logger = createLogger({ service: 'restock-contracts-test', level: 'error' });
for (const transport of logger.transports) transport.silent = true;

async function listen(handler: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  body: unknown;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
}

describe('real cancellation and refund answers match openapi.yaml', () => {
  const TOKEN = `restock-contracts-${randomUUID()}`;
  const TOPIC = `restock-contracts-${randomUUID()}`;
  const SECRET = 'restock-contracts-webhook-secret';
  const createdOrders = new Set<string>();
  const createdVariants = new Set<string>();
  const cleanups: Array<() => Promise<void>> = [];
  let pool: pg.Pool;
  let dataApi: { server: Server; url: string };

  before(async () => {
    pool = createPool({ databaseUrl: stackEnv().DATABASE_URL, max: 5, logger, applicationName: 'restock-contracts-test' });
    dataApi = await listen(
      createDataApiApp({ pool, logger, metrics: createDataApiMetrics(), internalApiToken: TOKEN, inventoryTopic: TOPIC }),
    );
  });

  after(async () => {
    for (const cleanup of cleanups) await cleanup();
    const orders = [...createdOrders];
    await dbPool().query('DELETE FROM outbox_event WHERE topic = $1 OR order_id = ANY($2::bigint[])', [TOPIC, orders]);
    await dbPool().query('DELETE FROM webhook_event WHERE order_id = ANY($1::bigint[])', [orders]);
    await dbPool().query('DELETE FROM orders WHERE order_id = ANY($1::bigint[])', [orders]);
    await dbPool().query('DELETE FROM inventory WHERE variant_id = ANY($1::bigint[])', [[...createdVariants]]);
    await closeServer(dataApi.server);
    await pool.end();
    await closeDb();
  });

  test('both webhooks and the internal endpoint answer every status as openapi.yaml describes', async () => {
    const env = stackEnv();
    const redis = createRedis(env.REDIS_URL, logger);
    cleanups.push(async () => redis.disconnect());
    const closed = await listen(() => undefined);
    await closeServer(closed.server);
    const buildApi = (dataApiUrl: string) => {
      const options = { baseUrl: dataApiUrl, token: TOKEN, timeoutMs: 4_000 };
      return createApiApp({
        logger,
        dataApi: createDataApiClient(options),
        restocks: createRestockClient(options),
        wms: createWmsClient({ baseUrl: env.WMS_BASE_URL, apiKey: 'local-wms-key', timeoutMs: 2_000 }),
        wmsHold: createWmsHold({ redis, logger, ttlSeconds: 30, key: `wms:hold:restock-contracts-${randomUUID()}` }),
        redis,
        webhookSecret: SECRET,
        warehouseLocationId: env.SHOPIFY_LOCATION_ID,
      });
    };
    const api = await listen(buildApi(dataApi.url));
    const apiWithoutDataApi = await listen(buildApi(closed.url));
    cleanups.push(
      () => closeServer(api.server),
      () => closeServer(apiWithoutDataApi.server),
    );

    const variant = await createTestProduct({ availableQuantity: 10, atShopify: false });
    createdVariants.add(String(variant.variantId));
    cleanups.push(await stubWmsInventory(variant.sku, { availableQuantity: 100 }));
    const orderId = randomOrderId();
    createdOrders.add(String(orderId));
    const order = buildShopifyOrder({ orderId, lines: [lineOf(variant, 3)] });

    const send = (base: string, route: string, topic: string, body: unknown, overrides: Record<string, string | undefined> = {}) => {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      return call(`${base}${route}`, {
        method: 'POST',
        headers: shopifyHeaders(raw, SECRET, { 'x-shopify-topic': topic, ...overrides }),
        body: raw,
      });
    };
    assert.equal((await send(api.url, ORDERS_PATH, 'orders/create', order)).status, 201);

    const refund = buildRefund({
      orderId,
      lines: [{ lineItemId: lineItemIds(order)[0]!, quantity: 3, restockType: 'cancel', locationId: variant.locationId }],
    });
    const cancelled = buildCancelledOrder(order, [refund]);
    const event = randomUUID();
    const unknownOrderId = randomOrderId();
    const answers: Array<[string, Answer, number, string?]> = [
      [CANCELLED_PATH, await send(api.url, CANCELLED_PATH, 'orders/cancelled', cancelled, { 'x-shopify-event-id': event }), 200],
      [CANCELLED_PATH, await send(api.url, CANCELLED_PATH, 'orders/cancelled', cancelled, { 'x-shopify-event-id': event }), 200],
      [REFUNDS_PATH, await send(api.url, REFUNDS_PATH, 'refunds/create', refund), 200],
      [REFUNDS_PATH, await send(api.url, REFUNDS_PATH, 'refunds/create', buildRefund({ orderId: unknownOrderId, lines: [] })), 200],
      [
        REFUNDS_PATH,
        await send(api.url, REFUNDS_PATH, 'refunds/create', refund, { 'x-shopify-topic': 'orders/cancelled' }),
        400,
        'UNEXPECTED_TOPIC',
      ],
      [CANCELLED_PATH, await send(api.url, CANCELLED_PATH, 'orders/cancelled', { id: 'x' }), 400, 'INVALID_PAYLOAD'],
      [
        CANCELLED_PATH,
        await send(api.url, CANCELLED_PATH, 'orders/cancelled', cancelled, { 'x-shopify-hmac-sha256': signBody('other', SECRET) }),
        401,
        'INVALID_SIGNATURE',
      ],
      [
        REFUNDS_PATH,
        await send(api.url, REFUNDS_PATH, 'refunds/create', { ...refund, note: 'x'.repeat(1024 * 1024) }),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [REFUNDS_PATH, await send(apiWithoutDataApi.url, REFUNDS_PATH, 'refunds/create', refund), 503, 'DATA_API_UNAVAILABLE'],
      [
        ORDERS_PATH,
        await send(api.url, ORDERS_PATH, 'refunds/create', buildShopifyOrder({ lines: [lineOf(variant, 1)] })),
        400,
        'UNEXPECTED_TOPIC',
      ],
    ];
    for (const [route, answer, status, code] of answers) {
      assert.equal(answer.status, status, `${route}: ${JSON.stringify(answer.body)}`);
      if (code) assert.equal((answer.body as { code?: string }).code, code);
      assertMatchesOpenApi(route, 'POST', answer);
    }
    assert.deepEqual(answers[0]![1].body, { status: 'success', restocked: [{ variantId: String(variant.variantId), quantity: 3 }] });
    assert.equal(answers[1]![1].headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(
      [answers[2]![1].body, answers[3]![1].body],
      [
        { status: 'success', restocked: [] },
        { status: 'success', restocked: [] },
      ],
    );
    assert.match(answers[8]![1].headers.get('retry-after') ?? '', /^\d+$/);

    const post = (
      route: string,
      body: unknown,
      headers: Record<string, string> = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    ) => call(`${dataApi.url}${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const request = { topic: 'refunds/create', webhookId: randomUUID(), eventId: null, cancelledAt: null, refundLineItems: [] };
    const internal: Array<[Answer, number]> = [
      [await post(`/internal/orders/${orderId}/restocks`, request), 200],
      [await post(`/internal/orders/${randomInt(1, 2 ** 40)}/restocks`, { ...request, topic: 'orders/updated' }), 400],
      [await post('/internal/orders/0/restocks', request), 400],
      [await post(`/internal/orders/${orderId}/restocks`, request, {}), 401],
    ];
    for (const [answer, status] of internal) {
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      assertMatchesOpenApi(RESTOCKS_ROUTE, 'POST', answer);
    }
    assert.deepEqual(internal[0]![0].body, {
      orderId: String(orderId),
      orderStatus: 'cancelled',
      replayed: false,
      restocked: [],
      movements: [],
    });
  });
});

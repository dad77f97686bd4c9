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
import { createWmsHold } from '../../services/order-manage-api/src/clients/wms-hold.js';
import { createWmsClient } from '../../services/order-manage-api/src/clients/wms.js';
import { validateOrder } from '../../services/order-manage-api/src/domain/order.js';
import { createApp as createDataApiApp, createDataApiMetrics } from '../../services/order-manage-data-api/src/app.js';
import { createPool } from '../../services/order-manage-data-api/src/db/pool.js';
import { commitSchema, orderIdParam, resolveSchema } from '../../services/order-manage-data-api/src/routes/schemas.js';
import {
  AVAILABLE_QUANTITIES_QUERY,
  itemGid,
  locationGid,
  readAvailable,
} from '../../services/order-stream-process/src/clients/shopify-levels.js';
import { parseInventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import { buildCompareAndSetRequest, movementsUri } from '../../services/order-stream-process/src/domain/mutation.js';
import { decideConfirmation, isDelta } from '../../services/order-stream-process/src/domain/sync-rule.js';
import { closeDb, createTestProduct, dbPool, randomOrderId, type TestProduct } from '../support/db.js';
import { buildShopifyOrder, lineOf } from '../support/orders.js';
import { shopifyHeaders, signBody } from '../support/sign.js';
import { $defs, ajv, assertMatchesOpenApi } from '../support/openapi.js';
import { REPO_ROOT, stackEnv } from '../support/stack-env.js';
import { stubWmsInventory } from '../support/wiremock.js';

/**
 * contracts/api_request_response.json and contracts/openapi.yaml are documents people read; these
 * tests keep them true: the examples pass the services' own schemas, the mapping names real
 * columns, and real answers of both services (built in-process on the stack's PostgreSQL, Redis
 * and WireMock) match the OpenAPI description.
 */

interface ExampleResponse {
  status: number;
  code?: string;
  headers: Record<string, string>;
  body: unknown;
}
interface ExampleCall {
  request: { method: string; url: string; headers: Record<string, string>; body?: unknown };
  responses: ExampleResponse[];
}
interface Examples {
  webhook: ExampleCall;
  dataApi: { getOrder: ExampleCall; resolveVariants: ExampleCall; commitOrder: ExampleCall };
  wms: ExampleCall;
  shopify: ExampleCall & { read: ExampleCall };
  kafka: { topic: string; key: string; headers: Record<string, string>; value: Record<string, unknown> };
  mapping: Record<string, string>;
}

const contracts = path.join(REPO_ROOT, 'contracts');
const examplesText = readFileSync(path.join(contracts, 'api_request_response.json'), 'utf8');
const examples = JSON.parse(examplesText) as Examples;

/**
 * The test notification's ids are above 2^53, so JSON.parse would already have rounded them in
 * `examples`: this entry is read again the way the webhook reads a body, ids as bigints.
 */
interface TestNotification extends ExampleCall {
  commitRequest: { body: unknown };
}
const testNotification = (parseJsonWithExactIds(examplesText) as { webhookTestNotification: TestNotification }).webhookTestNotification;

/** JSON.stringify, except a bigint id is written as the integer it is, as Shopify writes it. */
const stringifyExact = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'bigint' ? (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(v.toString()) : v,
  );

const WEBHOOK = '/api/shopify/webhooks/orders';

describe('the documented examples are ones the services accept', () => {
  test('the webhook example body passes order-manage-api validation and its signature matches the body', () => {
    const { body, headers } = examples.webhook.request;
    const result = validateOrder(body);
    assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.errors));
    assert.equal(headers['X-Shopify-Hmac-Sha256'], signBody(JSON.stringify(body), 'local-webhook-secret'));
  });

  test('the data-api example requests pass the data-api request schemas', () => {
    const orderId = examples.dataApi.getOrder.request.url.split('/').pop()!;
    assert.ok(orderIdParam.safeParse(orderId).success);
    const resolve = resolveSchema.safeParse(examples.dataApi.resolveVariants.request.body);
    assert.ok(resolve.success, resolve.error?.message);
    const commit = commitSchema.safeParse(examples.dataApi.commitOrder.request.body);
    assert.ok(commit.success, commit.error?.message);
  });

  test('Shopify’s test notification keeps its ids above 2^53 exactly, from the body to the commit request and the 201', () => {
    const { request, commitRequest, responses } = testNotification;
    const result = validateOrder(request.body);
    assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.errors));
    assert.equal(result.intake.order.orderId, '820982911946154508');
    assert.equal(result.intake.order.customerId, '115310627314723954');
    assert.equal(request.headers['X-Shopify-Hmac-Sha256'], signBody(stringifyExact(request.body), 'local-webhook-secret'));
    const { webhookId, eventId } = (commitRequest.body as { order: { webhookId: string; eventId: string } }).order;
    assert.equal(webhookId, request.headers['X-Shopify-Webhook-Id']);
    // Each line as Shopify sent it, with the variant it resolves to: here its own variant_id.
    assert.deepEqual(commitRequest.body, {
      order: { ...result.intake.order, webhookId, eventId },
      lines: result.intake.lines.map(({ holdsStock: _holdsStock, ...line }) => line),
    });
    const commit = commitSchema.safeParse(commitRequest.body);
    assert.ok(commit.success, commit.error?.message);
    for (const r of responses) {
      assert.equal(
        (r.body as { order_id?: string; orderId?: string }).order_id ?? (r.body as { orderId?: string }).orderId,
        '820982911946154508',
      );
      assertMatchesOpenApi(WEBHOOK, 'POST', { status: r.status, contentType: r.headers['Content-Type']!, body: r.body });
    }
  });

  test('the documented request bodies match openapi.yaml’s request schemas', () => {
    const requests: Array<[string, unknown]> = [
      ['ShopifyOrder', examples.webhook.request.body],
      ['ResolveRequest', examples.dataApi.resolveVariants.request.body],
      ['CommitRequest', examples.dataApi.commitOrder.request.body],
      // Every id in it is a string, so JSON.parse has rounded nothing.
      ['CommitRequest', JSON.parse(stringifyExact(testNotification.commitRequest.body))],
    ];
    for (const [schema, body] of requests) {
      const validate = ajv.compile({ $defs, $ref: `#/$defs/${schema}` });
      assert.ok(validate(body), `${schema}: ${ajv.errorsText(validate.errors)}`);
    }
  });

  test('the Kafka example event passes the stream processor’s event schema and openapi.yaml’s InventoryEvent, keyed by its variant', () => {
    for (const value of [examples.kafka.value, (examples.kafka as unknown as { dlq: { value: unknown } }).dlq.value]) {
      const parsed = parseInventoryEvent(JSON.stringify(value));
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
      assert.equal(examples.kafka.key, parsed.event.variantId);
      const validate = ajv.compile({ $defs, $ref: '#/$defs/InventoryEvent' });
      assert.ok(validate(value), `InventoryEvent: ${ajv.errorsText(validate.errors)}`);
    }
  });

  test('the documented Shopify calls are what the stream processor sends for the documented event: a read, then a compare-and-set down to the database', () => {
    const parsed = parseInventoryEvent(JSON.stringify(examples.kafka.value));
    assert.ok(parsed.ok);
    const event = parsed.event;
    assert.equal(isDelta(event), false, 'an order Shopify created is never sent as a delta');
    const ids = [itemGid(event.inventoryItemId)];
    assert.deepEqual(examples.shopify.read.request.body, {
      query: AVAILABLE_QUANTITIES_QUERY,
      variables: { ids, locationId: locationGid(event.locationId) },
    });
    const shopify = readAvailable((examples.shopify.read.responses[0]!.body as { data: unknown }).data, ids).get(ids[0]!);
    assert.equal(typeof shopify, 'number');
    // The database holds what the movement left (no newer movement since).
    const decision = decideConfirmation({
      newest: event,
      bringToDatabase: false,
      shopify: shopify as number,
      database: { availableQuantity: event.availableAfter, version: event.inventoryVersion },
    });
    assert.equal(decision.action, 'lower');
    const built = buildCompareAndSetRequest(
      [
        {
          inventoryItemId: event.inventoryItemId,
          locationId: event.locationId,
          from: decision.shopify,
          to: decision.database.availableQuantity,
          version: decision.database.version,
        },
      ],
      'confirm-1',
      (key) => movementsUri([event.movementId], key),
    );
    assert.deepEqual(examples.shopify.request.body, built);
    for (const q of built.variables.input.quantities) assert.notEqual(q.changeFromQuantity, null, 'never a blind set');
  });

  test('every documented webhook and data-api response matches openapi.yaml', () => {
    const calls: Array<[string, string, ExampleCall]> = [
      [WEBHOOK, 'POST', examples.webhook],
      ['/internal/orders/{orderId}', 'GET', examples.dataApi.getOrder],
      ['/internal/variants/resolve', 'POST', examples.dataApi.resolveVariants],
      ['/internal/orders', 'POST', examples.dataApi.commitOrder],
    ];
    for (const [route, method, call] of calls) {
      for (const r of call.responses) {
        assertMatchesOpenApi(route, method, { status: r.status, contentType: r.headers['Content-Type']!, body: r.body });
      }
    }
  });

  test('the webhook examples cover every status and code of docs/spec.md section 2', () => {
    const seen = new Set(examples.webhook.responses.map((r) => `${r.status} ${r.code ?? ''}`.trim()));
    for (const r of examples.webhook.responses.filter((x) => x.status === 503)) {
      assert.match(r.headers['Retry-After'] ?? '', /^\d+$/, `${r.code} documents its Retry-After`);
    }
    for (const expected of [
      '201',
      '401 INVALID_SIGNATURE',
      '413 PAYLOAD_TOO_LARGE',
      '400 INVALID_PAYLOAD',
      '409 ORDER_ALREADY_EXISTS',
      '422 PRODUCT_NOT_FOUND',
      '422 INSUFFICIENT_INVENTORY',
      '503 WMS_UNAVAILABLE',
      '503 DATA_API_UNAVAILABLE',
    ]) {
      assert.ok(seen.has(expected), `no example for ${expected}`);
    }
  });

  test('every column the webhook mapping names exists in the migrated database', async () => {
    const { rows } = await dbPool().query<{ name: string }>(
      `SELECT table_name || '.' || column_name AS name FROM information_schema.columns WHERE table_schema = current_schema()`,
    );
    const columns = new Set(rows.map((r) => r.name));
    const missing = Object.entries(examples.mapping).filter(([, column]) => !columns.has(column));
    assert.deepEqual(missing, []);
    assert.ok(Object.keys(examples.mapping).length >= 13);
  });
});

const logger = createLogger({ service: 'design-document-test', level: 'error' });
// The refusals these tests provoke are logged as errors by design; the answers are what is checked.
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

describe('real answers match openapi.yaml', () => {
  const TOKEN = `design-doc-${randomUUID()}`;
  const TOPIC = `design-doc-${randomUUID()}`;
  const SECRET = 'design-doc-webhook-secret';
  const WAREHOUSE = stackEnv().SHOPIFY_LOCATION_ID;
  const createdOrders = new Set<number | string>();
  const createdVariants = new Set<number>();
  const cleanups: Array<() => Promise<void>> = [];
  let pool: pg.Pool;
  let dataApi: { server: Server; url: string };

  const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

  async function variant(availableQuantity: number, productId?: number): Promise<TestProduct> {
    const v = await createTestProduct({ availableQuantity, price: '24.90', productId, atShopify: false });
    createdVariants.add(v.variantId);
    return v;
  }

  function orderId(): number {
    const id = randomOrderId();
    createdOrders.add(id);
    return id;
  }

  const lineItemId = () => String(20_000_000_000_000 + randomInt(1, 2 ** 40));
  const unknownVariant = () => ({
    productId: String(8_990_000_000_000 + randomInt(1, 1e9)),
    variantId: String(41_990_000_000_000 + randomInt(1, 1e9)),
    sku: `DESIGN-DOC-MISSING-${randomInt(1, 1e9)}`,
  });

  /** The internal commit request as the api sends it: ids as decimal strings, one line of `v`. */
  const commitBody = (
    id: number,
    v: { productId: string | number; variantId: string | number; sku: string },
    quantity: number,
    webhookId = randomUUID(),
  ) => ({
    order: {
      orderId: String(id),
      orderNumber: 1042,
      name: '#1042',
      customerId: null,
      currency: 'USD',
      totalPrice: '24.90',
      financialStatus: 'paid',
      createdAt: '2026-11-24T03:00:00-05:00',
      webhookId,
      eventId: null,
      locationId: null,
    },
    lines: [
      {
        lineItemId: lineItemId(),
        productId: String(v.productId),
        variantId: String(v.variantId),
        sku: v.sku,
        title: 'Test product',
        quantity,
        price: '24.90',
      },
    ],
  });

  /** An order of a tip alone: one line that reserves nothing. */
  const tipCommitBody = (id: number) => ({
    ...commitBody(id, { productId: 1, variantId: 1, sku: '' }, 1),
    lines: [{ lineItemId: lineItemId(), productId: null, variantId: null, sku: '', title: 'Tip', quantity: 1, price: '5.00' }],
  });

  before(async () => {
    pool = createPool({ databaseUrl: stackEnv().DATABASE_URL, max: 5, logger, applicationName: 'design-document-test' });
    dataApi = await listen(
      createDataApiApp({ pool, logger, metrics: createDataApiMetrics(), internalApiToken: TOKEN, inventoryTopic: TOPIC }),
    );
  });

  after(async () => {
    for (const cleanup of cleanups) await cleanup();
    const orders = [...createdOrders].map(String);
    await dbPool().query('DELETE FROM outbox_event WHERE topic = $1 OR order_id = ANY($2::bigint[])', [TOPIC, orders]);
    await dbPool().query('DELETE FROM orders WHERE order_id = ANY($1::bigint[])', [orders]);
    await dbPool().query('DELETE FROM inventory WHERE variant_id = ANY($1::bigint[])', [[...createdVariants].map(String)]);
    await closeServer(dataApi.server);
    await pool.end();
    await closeDb();
  });

  test('order-manage-data-api answers every internal endpoint as openapi.yaml describes', async () => {
    const plenty = await variant(50);
    const sibling = await variant(40, plenty.productId);
    const scarce = await variant(1);
    const unknown = unknownVariant();
    const id = orderId();
    const webhookId = randomUUID();
    const post = (route: string, body: unknown, headers: Record<string, string> = auth) =>
      call(`${dataApi.url}${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
    const get = (route: string, headers: Record<string, string> = auth) => call(`${dataApi.url}${route}`, { headers });
    const lineOfVariant = (v: { productId: string | number; variantId: string | number | null; sku: string }) => ({
      lineItemId: lineItemId(),
      productId: String(v.productId),
      variantId: v.variantId === null ? null : String(v.variantId),
      sku: v.sku,
    });
    const resolveLines = [lineOfVariant(plenty), lineOfVariant({ ...sibling, variantId: null }), lineOfVariant(unknown)];
    const first = commitBody(id, plenty, 2, webhookId);
    const taken = commitBody(orderId(), plenty, 1);
    taken.lines[0]!.lineItemId = first.lines[0]!.lineItemId;

    const answers: Array<[string, string, Answer, number]> = [
      ['/internal/orders/{orderId}', 'GET', await get(`/internal/orders/${id}`), 404],
      ['/internal/orders/{orderId}', 'GET', await get('/internal/orders/abc'), 400],
      ['/internal/orders/{orderId}', 'GET', await get(`/internal/orders/${id}`, {}), 401],
      ['/internal/variants/resolve', 'POST', await post('/internal/variants/resolve', { orderId: String(id), lines: resolveLines }), 200],
      ['/internal/variants/resolve', 'POST', await post('/internal/variants/resolve', { lines: resolveLines }), 200],
      ['/internal/variants/resolve', 'POST', await post('/internal/variants/resolve', { orderId: String(id), lines: [] }), 400],
      [
        '/internal/variants/resolve',
        'POST',
        await post('/internal/variants/resolve', { lines: [{ ...lineOfVariant(plenty), productId: plenty.productId }] }),
        400,
      ],
      [
        '/internal/variants/resolve',
        'POST',
        await post('/internal/variants/resolve', { lines: Array.from({ length: 501 }, () => lineOfVariant(plenty)) }),
        400,
      ],
      ['/internal/variants/resolve', 'POST', await post('/internal/variants/resolve', { lines: resolveLines }, {}), 401],
      ['/internal/orders', 'POST', await post('/internal/orders', first), 201],
      ['/internal/orders/{orderId}', 'GET', await get(`/internal/orders/${id}`), 200],
      ['/internal/variants/resolve', 'POST', await post('/internal/variants/resolve', { orderId: String(id), lines: resolveLines }), 200],
      ['/internal/orders', 'POST', await post('/internal/orders', commitBody(id, plenty, 1)), 409],
      ['/internal/orders', 'POST', await post('/internal/orders', commitBody(orderId(), scarce, 5)), 422],
      ['/internal/orders', 'POST', await post('/internal/orders', commitBody(orderId(), unknown, 1)), 422],
      ['/internal/orders', 'POST', await post('/internal/orders', commitBody(orderId(), plenty, 2_000_000)), 400],
      ['/internal/orders', 'POST', await post('/internal/orders', taken), 400],
      ['/internal/orders', 'POST', await post('/internal/orders', tipCommitBody(orderId())), 201],
      ['/internal/orders', 'POST', await post('/internal/orders', commitBody(orderId(), plenty, 1), {}), 401],
    ];
    for (const [route, method, answer, expected] of answers) {
      assert.equal(answer.status, expected, `${method} ${route}: ${JSON.stringify(answer.body)}`);
      assertMatchesOpenApi(route, method, answer);
    }
    assert.equal(answers[2]![2].headers.get('www-authenticate'), 'Bearer');
    // What the resolve found: the first line by its variant id, the second by its SKU among its product's variants.
    const resolved = answers[3]![2].body as {
      existingOrder: unknown;
      resolved: Array<{ variantId: string }>;
      unresolved: Array<{ variantId: string }>;
    };
    assert.equal(resolved.existingOrder, null);
    assert.deepEqual(
      resolved.resolved.map((r) => r.variantId),
      [String(plenty.variantId), String(sibling.variantId)],
    );
    assert.deepEqual(
      resolved.unresolved.map((r) => r.variantId),
      [unknown.variantId],
    );
    assert.ok(!('existingOrder' in (answers[4]![2].body as object)), 'without orderId, no existingOrder');
  });

  test('order-manage-api answers the webhook as openapi.yaml describes, for every status of docs/spec.md section 2', async () => {
    const env = stackEnv();
    const redis = createRedis(env.REDIS_URL, logger);
    const holdKey = `wms:hold:design-doc-${randomUUID()}`;
    cleanups.push(async () => {
      await redis.del(holdKey).catch(() => undefined);
      redis.disconnect();
    });
    const closed = await listen(() => undefined);
    const closedUrl = closed.url;
    await closeServer(closed.server);
    const buildApi = (dataApiUrl: string, token = TOKEN) =>
      createApiApp({
        logger,
        dataApi: createDataApiClient({ baseUrl: dataApiUrl, token, timeoutMs: 4_000 }),
        wms: createWmsClient({ baseUrl: env.WMS_BASE_URL, apiKey: 'local-wms-key', timeoutMs: 2_000, backoffMs: 10 }),
        wmsHold: createWmsHold({ redis, logger, ttlSeconds: 30, key: holdKey }),
        redis,
        webhookSecret: SECRET,
        warehouseLocationId: WAREHOUSE,
      });
    const api = await listen(buildApi(dataApi.url));
    const apiWithoutDataApi = await listen(buildApi(closedUrl));
    const apiWithWrongToken = await listen(buildApi(dataApi.url, 'not-the-internal-token'));
    cleanups.push(
      () => closeServer(api.server),
      () => closeServer(apiWithoutDataApi.server),
      () => closeServer(apiWithWrongToken.server),
    );

    const inStock = await variant(50);
    const scarce = await variant(1);
    const wmsFailing = await variant(50);
    for (const [v, stub] of [
      [inStock, { availableQuantity: 50 }],
      [scarce, { availableQuantity: 1 }],
      [wmsFailing, { status: 500 }],
    ] as const) {
      cleanups.push(await stubWmsInventory(v.sku, stub));
    }
    const missing = unknownVariant();

    const deliverRaw = (base: string, raw: string, overrides: Record<string, string | undefined> = {}) =>
      call(`${base}${WEBHOOK}`, { method: 'POST', headers: shopifyHeaders(raw, SECRET, overrides), body: raw });
    const deliver = (base: string, order: Record<string, unknown>, overrides: Record<string, string | undefined> = {}) =>
      deliverRaw(base, JSON.stringify(order), overrides);
    const order = (lines: Parameters<typeof buildShopifyOrder>[0]['lines'], id = orderId(), locationId?: number) =>
      buildShopifyOrder({ orderId: id, lines, locationId });

    const accepted = order([lineOf(inStock, 1)]);
    const webhookId = randomUUID();
    const answers: Array<[Answer, number, string?]> = [
      [await deliver(api.url, accepted, { 'x-shopify-webhook-id': webhookId }), 201],
      [await deliver(api.url, accepted, { 'x-shopify-webhook-id': webhookId }), 201],
      [await deliver(api.url, accepted), 409, 'ORDER_ALREADY_EXISTS'],
      [
        await deliver(api.url, order([lineOf(inStock, 1)]), { 'x-shopify-hmac-sha256': 'bm90IHRoZSBzaWduYXR1cmU=' }),
        401,
        'INVALID_SIGNATURE',
      ],
      [await deliver(api.url, { ...order([lineOf(inStock, 1)]), note: 'x'.repeat(1024 * 1024) }), 413, 'PAYLOAD_TOO_LARGE'],
      [await deliver(api.url, order([lineOf(inStock, 0)])), 400, 'INVALID_PAYLOAD'],
      [
        await deliver(
          api.url,
          order([
            lineOf(inStock, 1),
            { productId: Number(missing.productId), variantId: Number(missing.variantId), sku: missing.sku, quantity: 1 },
          ]),
        ),
        422,
        'PRODUCT_NOT_FOUND',
      ],
      [await deliver(api.url, order([lineOf(scarce, 3)])), 422, 'INSUFFICIENT_INVENTORY'],
      [await deliver(api.url, order([lineOf(wmsFailing, 1)])), 503, 'WMS_UNAVAILABLE'],
      [await deliver(apiWithoutDataApi.url, order([lineOf(inStock, 1)])), 503, 'DATA_API_UNAVAILABLE'],
    ];
    for (const [answer, status, code] of answers) {
      assert.equal(answer.status, status, JSON.stringify(answer.body));
      if (code) assert.equal((answer.body as { code?: string }).code, code);
      assertMatchesOpenApi(WEBHOOK, 'POST', answer);
    }
    assert.equal(answers[1]![0].headers.get('idempotent-replayed'), 'true');
    assert.deepEqual((answers[6]![0].body as { variants?: unknown }).variants, [missing], 'the unknown variant as it was sent');
    assert.deepEqual((answers[7]![0].body as { items?: unknown }).items, [
      { variantId: String(scarce.variantId), sku: scarce.sku, requested: 3, available: 1 },
    ]);
    for (const [answer] of answers.filter(([, status]) => status === 503)) {
      assert.match(answer.headers.get('retry-after') ?? '', /^\d+$/, 'every 503 carries Retry-After');
    }

    // An order id above 2^53, as Shopify's test notification has: a JSON number cannot even be built
    // for it here, so the body's text gets it, and the 201 and the stored row must give it back exactly.
    await redis.del(holdKey); // the WMS failure above put the WMS on hold
    const bigId = String(2n ** 60n + BigInt(randomInt(1, 2 ** 47)));
    createdOrders.add(bigId);
    const placeholder = order([lineOf(inStock, 1)]);
    const bigRaw = JSON.stringify(placeholder).replace(`{"id":${placeholder.id},`, `{"id":${bigId},`);
    assert.ok(bigRaw.startsWith(`{"id":${bigId},`));
    const big = await deliverRaw(api.url, bigRaw);
    assert.equal(big.status, 201, JSON.stringify(big.body));
    assert.equal((big.body as { order_id?: unknown }).order_id, bigId);
    assertMatchesOpenApi(WEBHOOK, 'POST', big);
    // Read as text: a row read back into a JS number would round it again.
    const { rows } = await dbPool().query<{ order_id: string }>('SELECT order_id::text AS order_id FROM orders WHERE order_id = $1', [
      bigId,
    ]);
    assert.deepEqual(rows, [{ order_id: bigId }]);

    // Lines that hold no stock are no demand: a gift card of an unknown product, a tip, a line that ships nothing.
    const noStock = order([{ productId: Number(missing.productId), variantId: Number(missing.variantId), sku: missing.sku, quantity: 1 }]);
    const [line] = noStock.line_items as Array<Record<string, unknown> & { id: number }>;
    noStock.line_items = [
      { ...line!, gift_card: true },
      { ...line!, id: line!.id + 1, product_id: null, variant_id: null, sku: null, title: 'Tip' },
      { ...line!, id: line!.id + 2, requires_shipping: false, title: 'Gift wrapping' },
    ];
    const giftAndTip = await deliver(api.url, noStock);
    assert.equal(giftAndTip.status, 201, JSON.stringify(giftAndTip.body));
    assertMatchesOpenApi(WEBHOOK, 'POST', giftAndTip);

    // A point-of-sale order another shop location sold reserves nothing, even of a variant that is short.
    const pos = await deliver(api.url, order([lineOf(scarce, 3)], orderId(), Number(WAREHOUSE) + 1));
    assert.equal(pos.status, 201, JSON.stringify(pos.body));
    assertMatchesOpenApi(WEBHOOK, 'POST', pos);

    // The data-api refusing the api's own token is no fault of the order, and no outage either.
    const refused = await deliver(apiWithWrongToken.url, order([lineOf(inStock, 1)]));
    assert.equal(refused.status, 500, JSON.stringify(refused.body));
    assert.equal((refused.body as { code?: string }).code, 'INTERNAL_ERROR');
    assertMatchesOpenApi(WEBHOOK, 'POST', refused);
  });
});

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { ORDER_LIMITS, runWithCorrelation } from '@oms/common';
import { createDataApiClient, DataApiRefusedError, DataApiUnavailableError, type CommitRequest } from '../../services/order-manage-api/src/clients/data-api.js';
import { CONSUMER_TOKEN, DATA_API, EXAMPLE, ORDER_API, PACT_DIR, removePact, SHOPIFY_ID_PATTERN } from './pact-support.js';

/**
 * What order-manage-api relies on from order-manage-data-api, recorded by driving the api's real
 * data-api client against Pact's mock server. Ids come from the provider states at verification
 * (fromProviderState), so the provider creates fresh rows each run; the examples only make the
 * pact readable.
 */
const { eachLike, fromProviderState, integer, iso8601DateTimeWithMillis, regex, string } = MatchersV3;

const provider = new PactV4({ consumer: ORDER_API, provider: DATA_API, dir: PACT_DIR, logLevel: 'warn' });

const JSON_TYPE = regex('^application/json(;.*)?$', 'application/json; charset=utf-8');
const PROBLEM_TYPE = regex('^application/problem\\+json(;.*)?$', 'application/problem+json; charset=utf-8');
const CORRELATION_ID = EXAMPLE.correlationId;

const requestHeaders = (token = CONSUMER_TOKEN, withBody = false) => ({
  authorization: regex(/^Bearer \S+$/, `Bearer ${token}`),
  'x-correlation-id': regex(/^[A-Za-z0-9._:-]{1,128}$/, CORRELATION_ID),
  ...(withBody ? { 'Content-Type': regex('^application/json(;.*)?$', 'application/json') } : {}),
});

const client = (baseUrl: string, token = CONSUMER_TOKEN) => createDataApiClient({ baseUrl, token, timeoutMs: 4_000 });
const asCaller = <T>(fn: () => Promise<T>) => runWithCorrelation(CORRELATION_ID, fn);

const orderIdFromState = () => fromProviderState('${orderId}', EXAMPLE.orderId);
const productIdFromState = () => fromProviderState('${productId}', EXAMPLE.productId);

const ORDER_FIELDS = {
  orderNumber: 1001,
  name: '#1001',
  customerId: null,
  currency: 'USD',
  totalPrice: '49.80',
  financialStatus: 'paid',
  createdAt: '2026-11-24T08:00:00-05:00',
  eventId: '0d6c1f62-8f57-4a8a-9a55-000000000001',
};
const LINE_FIELDS = { sku: 'TSHIRT-BLK-M', title: 'Organic cotton T-shirt, black, M', price: '24.90' };
const DELIVERY = 'f0b1c2d3-0000-4000-8000-000000000001';

interface CommitOptions<Id> {
  productId: Id;
  quantity: number;
  webhookId?: string;
}

/**
 * A tip as Shopify sends it (product_id null), with the line item id of Shopify's test notification:
 * above 2^53, so the pact shows that a line item id travels as an exact decimal string too.
 */
const TIP_LINE = { lineItemId: '866550311766439020', sku: '', title: 'Tip', quantity: 1, price: '5.00' };

/** A commit body as the webhook route builds it, recorded with ids the provider state supplies. */
function commitBody(options: CommitOptions<unknown>) {
  return {
    order: { ...ORDER_FIELDS, orderId: orderIdFromState(), webhookId: options.webhookId ?? DELIVERY },
    lines: [{ ...LINE_FIELDS, productId: options.productId, quantity: options.quantity }],
    nonStockLines: [],
  };
}

/** The same body with the example ids, as the client sends it in the consumer test. */
function commitRequest(options: CommitOptions<string>): CommitRequest {
  return {
    order: { ...ORDER_FIELDS, orderId: EXAMPLE.orderId, webhookId: options.webhookId ?? DELIVERY },
    lines: [{ ...LINE_FIELDS, productId: options.productId, quantity: options.quantity }],
    nonStockLines: [],
  };
}

describe('order-manage-api → order-manage-data-api (HTTP pact)', () => {
  before(() => removePact(ORDER_API, DATA_API));

  const productShape = (productId: unknown) => ({
    productId,
    sku: string('TSHIRT-BLK-M'),
    title: string('Organic cotton T-shirt, black, M'),
    price: regex(/^\d{1,10}\.\d{2}$/, '24.90'),
    currency: regex(/^[A-Z]{3}$/, 'USD'),
    availableQuantity: integer(120),
  });

  test('looking up an accepted order gives its webhook id, so a Shopify retry is told apart from a new delivery', async () => {
    await provider
      .addInteraction()
      .given('an order exists')
      .uponReceiving('a lookup of an existing order and its product')
      .withRequest('POST', '/internal/products/lookup', (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({ orderId: orderIdFromState(), productIds: [productIdFromState()] }),
      )
      .willRespondWith(200, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({
          existingOrder: {
            orderId: orderIdFromState(),
            webhookId: fromProviderState('${webhookId}', EXAMPLE.webhookId),
            status: regex(/^(committed|cancelled)$/, 'committed'),
            receivedAt: iso8601DateTimeWithMillis('2026-11-24T08:00:01.250Z'),
          },
          products: eachLike(productShape(productIdFromState())),
          missingProductIds: [],
        }),
      )
      .executeTest(async (mock) => {
        const { existingOrder } = await asCaller(() => client(mock.url).lookup(EXAMPLE.orderId, [EXAMPLE.productId]));
        assert.equal(existingOrder?.orderId, EXAMPLE.orderId);
        assert.equal(existingOrder?.webhookId, EXAMPLE.webhookId);
      });
  });

  test('a wrong bearer token is refused with 401, which the api passes on as a refusal, never as a transient outage', async () => {
    await provider
      .addInteraction()
      .given('no order exists')
      .uponReceiving('a request with a wrong bearer token')
      .withRequest('POST', '/internal/products/lookup', (b) =>
        b.headers(requestHeaders('not-the-internal-token', true)).jsonBody({ orderId: orderIdFromState(), productIds: [] }),
      )
      .willRespondWith(401, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE, 'www-authenticate': 'Bearer' }).jsonBody({ status: 401, code: 'UNAUTHORIZED', detail: string('A valid bearer token is required.') }),
      )
      .executeTest(async (mock) => {
        await assert.rejects(
          asCaller(() => client(mock.url, 'not-the-internal-token').lookup(EXAMPLE.orderId, [])),
          (err: unknown) => err instanceof DataApiRefusedError && err.problem.status === 401 && err.problem.code === 'UNAUTHORIZED',
        );
      });
  });

  test('looking up an order of tips and gift cards names no product and finds no order: a new delivery', async () => {
    await provider
      .addInteraction()
      .given('no order exists')
      .uponReceiving('a lookup of an order that does not exist, naming no product')
      .withRequest('POST', '/internal/products/lookup', (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({ orderId: orderIdFromState(), productIds: [] }),
      )
      .willRespondWith(200, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({ existingOrder: null, products: [], missingProductIds: [] }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() => client(mock.url).lookup(EXAMPLE.orderId, []));
        assert.deepEqual(result, { existingOrder: null, products: [], missingProductIds: [] });
      });
  });

  test('looking up a new order\'s known products gives each one its price and stock, no existing order and no missing id', async () => {
    await provider
      .addInteraction()
      .given('two products exist')
      .uponReceiving('a lookup of products that all exist')
      .withRequest('POST', '/internal/products/lookup', (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({
          orderId: orderIdFromState(),
          productIds: [productIdFromState(), fromProviderState('${otherProductId}', EXAMPLE.otherProductId)],
        }),
      )
      .willRespondWith(200, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({
          existingOrder: null,
          products: eachLike(productShape(regex(SHOPIFY_ID_PATTERN, EXAMPLE.productId)), 2),
          missingProductIds: [],
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() => client(mock.url).lookup(EXAMPLE.orderId, [EXAMPLE.productId, EXAMPLE.otherProductId]));
        assert.equal(result.products.length, 2);
        assert.deepEqual(result.missingProductIds, []);
        assert.equal(typeof result.products[0]!.availableQuantity, 'number');
        assert.match(result.products[0]!.price, /^\d+\.\d{2}$/);
      });
  });

  test('looking up a new order\'s products of which one is unknown names the missing id', async () => {
    await provider
      .addInteraction()
      .given('one product exists and another does not')
      .uponReceiving('a lookup of products of which one is missing')
      .withRequest('POST', '/internal/products/lookup', (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({
          orderId: orderIdFromState(),
          productIds: [productIdFromState(), fromProviderState('${missingProductId}', EXAMPLE.missingProductId)],
        }),
      )
      .willRespondWith(200, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({
          existingOrder: null,
          products: eachLike(productShape(productIdFromState())),
          missingProductIds: [fromProviderState('${missingProductId}', EXAMPLE.missingProductId)],
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() => client(mock.url).lookup(EXAMPLE.orderId, [EXAMPLE.productId, EXAMPLE.missingProductId]));
        assert.deepEqual(result.missingProductIds, [EXAMPLE.missingProductId]);
        assert.deepEqual(result.products.map((p) => p.productId), [EXAMPLE.productId]);
      });
  });

  test('committing a new order with enough stock answers 201', async () => {
    await provider
      .addInteraction()
      .given('a new order for a product with enough stock')
      .uponReceiving('a commit of a new order')
      .withRequest('POST', '/internal/orders', (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody(commitBody({ productId: productIdFromState(), quantity: 2 })),
      )
      .willRespondWith(201, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({ orderId: orderIdFromState(), status: 'committed' }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() => client(mock.url).commitOrder(commitRequest({ productId: EXAMPLE.productId, quantity: 2 })));
        assert.deepEqual(result, { kind: 'committed' });
      });
  });

  test('committing an order whose only line holds no stock (a tip) answers 201 with no product reserved', async () => {
    await provider
      .addInteraction()
      .given('a new order that holds no stock')
      .uponReceiving('a commit of a new order with no stock line')
      .withRequest('POST', '/internal/orders', (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({
          order: { ...ORDER_FIELDS, totalPrice: '5.00', orderId: orderIdFromState(), webhookId: DELIVERY },
          lines: [],
          nonStockLines: [{ ...TIP_LINE, lineItemId: regex(SHOPIFY_ID_PATTERN, TIP_LINE.lineItemId) }],
        }),
      )
      .willRespondWith(201, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({ orderId: orderIdFromState(), status: 'committed', items: [] }),
      )
      .executeTest(async (mock) => {
        const request: CommitRequest = {
          order: { ...ORDER_FIELDS, totalPrice: '5.00', orderId: EXAMPLE.orderId, webhookId: DELIVERY },
          lines: [],
          nonStockLines: [TIP_LINE],
        };
        const result = await asCaller(() => client(mock.url).commitOrder(request));
        assert.deepEqual(result, { kind: 'committed' });
      });
  });

  test('committing an order id already accepted answers 409 with the webhook id it was accepted from', async () => {
    await provider
      .addInteraction()
      .given('an order exists')
      .uponReceiving('a commit of an order id that was already accepted')
      .withRequest('POST', '/internal/orders', (b) =>
        b
          .headers(requestHeaders(CONSUMER_TOKEN, true))
          .jsonBody(commitBody({ productId: productIdFromState(), quantity: 1, webhookId: 'a-different-delivery' })),
      )
      .willRespondWith(409, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 409,
          code: 'ORDER_ALREADY_EXISTS',
          orderId: orderIdFromState(),
          existingWebhookId: fromProviderState('${webhookId}', EXAMPLE.webhookId),
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() =>
          client(mock.url).commitOrder(commitRequest({ productId: EXAMPLE.productId, quantity: 1, webhookId: 'a-different-delivery' })),
        );
        assert.deepEqual(result, { kind: 'already_exists', existingWebhookId: EXAMPLE.webhookId });
      });
  });

  test('committing more than the stock answers 422 INSUFFICIENT_INVENTORY with requested and available per product', async () => {
    await provider
      .addInteraction()
      .given('a new order for a product with less stock than ordered')
      .uponReceiving('a commit of an order with too little stock')
      .withRequest('POST', '/internal/orders', (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody(commitBody({ productId: productIdFromState(), quantity: 5 })),
      )
      .willRespondWith(422, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 422,
          code: 'INSUFFICIENT_INVENTORY',
          orderId: orderIdFromState(),
          items: eachLike({ productId: productIdFromState(), requested: integer(5), available: integer(1) }),
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() => client(mock.url).commitOrder(commitRequest({ productId: EXAMPLE.productId, quantity: 5 })));
        assert.equal(result.kind, 'insufficient_inventory');
        assert.deepEqual(result.kind === 'insufficient_inventory' && result.items, [{ productId: EXAMPLE.productId, requested: 5, available: 1 }]);
      });
  });

  test('committing an order naming an unknown product answers 422 PRODUCT_NOT_FOUND with the product ids', async () => {
    await provider
      .addInteraction()
      .given('a new order for a product that does not exist')
      .uponReceiving('a commit of an order naming an unknown product')
      .withRequest('POST', '/internal/orders', (b) =>
        b
          .headers(requestHeaders(CONSUMER_TOKEN, true))
          .jsonBody(commitBody({ productId: fromProviderState('${missingProductId}', EXAMPLE.missingProductId), quantity: 1 })),
      )
      .willRespondWith(422, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 422,
          code: 'PRODUCT_NOT_FOUND',
          productIds: [fromProviderState('${missingProductId}', EXAMPLE.missingProductId)],
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() => client(mock.url).commitOrder(commitRequest({ productId: EXAMPLE.missingProductId, quantity: 1 })));
        assert.equal(result.kind, 'product_not_found');
        assert.deepEqual(result.kind === 'product_not_found' && result.productIds, [EXAMPLE.missingProductId]);
      });
  });

  test('a commit the data-api finds invalid answers 400 INVALID_PAYLOAD listing each field', async () => {
    await provider
      .addInteraction()
      .given('a new order for a product with enough stock')
      .uponReceiving('a commit with a quantity above what the data-api accepts')
      .withRequest('POST', '/internal/orders', (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody(commitBody({ productId: productIdFromState(), quantity: 2_000_000 })),
      )
      .willRespondWith(400, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 400,
          code: 'INVALID_PAYLOAD',
          errors: eachLike({ path: string('lines.0.quantity'), reason: string('quantity must be at most 1000000') }),
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() => client(mock.url).commitOrder(commitRequest({ productId: EXAMPLE.productId, quantity: 2_000_000 })));
        assert.equal(result.kind, 'invalid_payload');
        assert.deepEqual(result.kind === 'invalid_payload' && result.errors, [{ path: 'lines.0.quantity', reason: 'quantity must be at most 1000000' }]);
      });
  });

  test('a lookup the data-api refuses answers 400, which the api passes on as a permanent refusal, never a 503', async () => {
    await provider
      .addInteraction()
      .given('the database is reachable')
      .uponReceiving('a lookup naming an id that is not a positive integer')
      .withRequest('POST', '/internal/products/lookup', (b) => b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({ orderId: EXAMPLE.orderId, productIds: ['0'] }))
      .willRespondWith(400, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 400,
          code: 'INVALID_PAYLOAD',
          errors: eachLike({ path: string('productIds.0'), reason: string('productId must be a positive integer below 2^63, as a decimal string') }),
        }),
      )
      .executeTest(async (mock) => {
        await assert.rejects(
          asCaller(() => client(mock.url).lookup(EXAMPLE.orderId, ['0'])),
          (err: unknown) => err instanceof DataApiRefusedError && err.problem.status === 400 && err.problem.code === 'INVALID_PAYLOAD',
        );
      });
  });

  test('a lookup of more products than an order can hold answers 400, a refusal the api must not retry as an outage', async () => {
    const { maxLines } = ORDER_LIMITS;
    // One more than the limit both services share: the data-api, not the api, is what refuses here.
    const tooMany = Array.from({ length: maxLines + 1 }, (_, i) => String(BigInt(EXAMPLE.productId) + BigInt(i)));
    await provider
      .addInteraction()
      .given('the database is reachable')
      .uponReceiving('a lookup of more products than an order can hold')
      .withRequest('POST', '/internal/products/lookup', (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({ orderId: EXAMPLE.orderId, productIds: eachLike(regex(SHOPIFY_ID_PATTERN, EXAMPLE.productId), maxLines + 1) }),
      )
      .willRespondWith(400, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 400,
          code: 'INVALID_PAYLOAD',
          errors: eachLike({ path: 'productIds', reason: string(`Too big: expected array to have <=${maxLines} items`) }),
        }),
      )
      .executeTest(async (mock) => {
        await assert.rejects(asCaller(() => client(mock.url).lookup(EXAMPLE.orderId, tooMany)), (err: unknown) => {
          assert.ok(err instanceof DataApiRefusedError, `expected DataApiRefusedError, got ${String(err)}`);
          assert.equal(err.problem.status, 400);
          assert.equal(err.problem.code, 'INVALID_PAYLOAD');
          assert.deepEqual(err.problem.errors, [{ path: 'productIds', reason: `Too big: expected array to have <=${maxLines} items` }]);
          return true;
        });
      });
  });

  test('a lookup body over 64 KiB answers 413 PAYLOAD_TOO_LARGE, a refusal the api must not retry as an outage', async () => {
    // Longer than any lookup the api builds (500 ids are about 12 KB), and below the 100 KB that
    // Pact's verifier proxy reads before it forwards: the 413 comes from the data-api itself.
    const padding = 'x'.repeat(70_000);
    await provider
      .addInteraction()
      .given('the database is reachable')
      .uponReceiving('a lookup whose body is larger than 64 KiB')
      .withRequest('POST', '/internal/products/lookup', (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({ orderId: EXAMPLE.orderId, productIds: [padding] }),
      )
      .willRespondWith(413, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 413,
          code: 'PAYLOAD_TOO_LARGE',
          detail: string('The request body is larger than 64 KiB.'),
        }),
      )
      .executeTest(async (mock) => {
        await assert.rejects(asCaller(() => client(mock.url).lookup(EXAMPLE.orderId, [padding])), (err: unknown) => {
          assert.ok(err instanceof DataApiRefusedError, `expected DataApiRefusedError, got ${String(err)}`);
          assert.equal(err.problem.status, 413);
          assert.equal(err.problem.code, 'PAYLOAD_TOO_LARGE');
          return true;
        });
      });
  });

  test('an order store whose database is down answers 503 DATABASE_UNAVAILABLE, which the api treats as transient', async () => {
    await provider
      .addInteraction()
      .given('the database is unreachable')
      .uponReceiving('a lookup while the database is unreachable')
      .withRequest('POST', '/internal/products/lookup', (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({ orderId: EXAMPLE.orderId, productIds: [EXAMPLE.productId] }),
      )
      .willRespondWith(503, (b) =>
        b
          .headers({ 'Content-Type': PROBLEM_TYPE, 'Retry-After': regex(/^\d+$/, '1') })
          .jsonBody({ status: 503, code: 'DATABASE_UNAVAILABLE', detail: string('The database is unavailable; retry shortly.') }),
      )
      .executeTest(async (mock) => {
        await assert.rejects(asCaller(() => client(mock.url).lookup(EXAMPLE.orderId, [EXAMPLE.productId])), DataApiUnavailableError);
      });
  });
});

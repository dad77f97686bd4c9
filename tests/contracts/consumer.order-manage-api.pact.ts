import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { ORDER_LIMITS, runWithCorrelation } from '@oms/common';
import {
  createDataApiClient,
  DataApiRefusedError,
  DataApiUnavailableError,
  type CommitRequest,
} from '../../services/order-manage-api/src/clients/data-api.js';
import { createRestockClient } from '../../services/order-manage-api/src/clients/restocks.js';
import type { StockLine } from '../../services/order-manage-api/src/domain/order.js';
import { CONSUMER_TOKEN, DATA_API, EXAMPLE, ORDER_API, PACT_DIR, removePact, SHOPIFY_ID_PATTERN } from './pact-support.js';

/**
 * What order-manage-api relies on from order-manage-data-api, recorded by driving the api's real
 * data-api client against Pact's mock server: resolving an order's lines to variants (with the order
 * if it was already accepted) and committing it. Ids come from the provider states at verification
 * (fromProviderState), so the provider creates fresh rows each run; the examples only make the pact
 * readable.
 */
const { eachLike, fromProviderState, integer, iso8601DateTimeWithMillis, regex, string } = MatchersV3;

const provider = new PactV4({ consumer: ORDER_API, provider: DATA_API, dir: PACT_DIR, logLevel: 'warn' });

const JSON_TYPE = regex('^application/json(;.*)?$', 'application/json; charset=utf-8');
const PROBLEM_TYPE = regex('^application/problem\\+json(;.*)?$', 'application/problem+json; charset=utf-8');
const CORRELATION_ID = EXAMPLE.correlationId;
const RESOLVE = '/internal/variants/resolve';
const ORDERS = '/internal/orders';

const requestHeaders = (token = CONSUMER_TOKEN, withBody = false) => ({
  authorization: regex(/^Bearer \S+$/, `Bearer ${token}`),
  'x-correlation-id': regex(/^[A-Za-z0-9._:-]{1,128}$/, CORRELATION_ID),
  ...(withBody ? { 'Content-Type': regex('^application/json(;.*)?$', 'application/json') } : {}),
});

const client = (baseUrl: string, token = CONSUMER_TOKEN, timeoutMs = 4_000) => createDataApiClient({ baseUrl, token, timeoutMs });
const asCaller = <T>(fn: () => Promise<T>) => runWithCorrelation(CORRELATION_ID, fn);

/** The provider state's value under `name`, with the example the consumer test runs with. */
const state = (name: keyof typeof EXAMPLE) => fromProviderState(`\${${name}}`, EXAMPLE[name]);
const ID = (example: string) => regex(SHOPIFY_ID_PATTERN, example);

/** A stock line as validation hands it to the client (only lineItemId, productId, variantId and sku go on the wire). */
function stockLine(fields: { lineItemId: string; productId: string; variantId: string | null; sku: string; quantity?: number }): StockLine {
  return { title: 'Organic cotton T-shirt, black, M', quantity: fields.quantity ?? 1, price: '24.90', holdsStock: true, ...fields };
}

/** A resolve request as the client sends it, recorded with the ids the provider state supplies. */
const resolveBody = (lines: Array<Record<string, unknown>>) => ({ orderId: state('orderId'), lines });

const ORDER_FIELDS = {
  orderNumber: 1001,
  name: '#1001',
  customerId: null,
  currency: 'USD',
  totalPrice: '49.80',
  financialStatus: 'paid',
  createdAt: '2026-11-24T08:00:00-05:00',
  eventId: '0d6c1f62-8f57-4a8a-9a55-000000000001',
  locationId: null,
};
const LINE_FIELDS = { title: 'Organic cotton T-shirt, black, M', price: '24.90' };
const DELIVERY = 'f0b1c2d3-0000-4000-8000-000000000001';

/**
 * A tip as Shopify sends it (product_id null): a line that reserves nothing, kept with the order.
 * Its id is the provider state's (line item ids are unique across orders, as Shopify's are).
 */
const TIP = { productId: null, variantId: null, sku: '', title: 'Tip', quantity: 1, price: '5.00' };

interface CommitOptions {
  quantity: number;
  webhookId?: string;
  /** Default the state's variant; `missing` names a variant the inventory does not hold. */
  variant?: 'known' | 'missing';
}

/** A commit body as the intake builds it, with the ids the provider state supplies. */
function commitBody({ quantity, webhookId = DELIVERY, variant = 'known' }: CommitOptions) {
  const ids =
    variant === 'known'
      ? { productId: state('productId'), variantId: state('variantId'), sku: state('sku') }
      : { productId: state('missingProductId'), variantId: state('missingVariantId'), sku: state('missingSku') };
  return {
    order: { ...ORDER_FIELDS, orderId: state('orderId'), webhookId },
    lines: [{ ...LINE_FIELDS, lineItemId: state('lineItemId'), ...ids, quantity }],
  };
}

/** The same body with the example ids, as the client sends it in the consumer test. */
function commitRequest({ quantity, webhookId = DELIVERY, variant = 'known' }: CommitOptions): CommitRequest {
  const ids =
    variant === 'known'
      ? { productId: EXAMPLE.productId, variantId: EXAMPLE.variantId, sku: EXAMPLE.sku }
      : { productId: EXAMPLE.missingProductId, variantId: EXAMPLE.missingVariantId, sku: EXAMPLE.missingSku };
  return {
    order: { ...ORDER_FIELDS, orderId: EXAMPLE.orderId, webhookId },
    lines: [{ ...LINE_FIELDS, lineItemId: EXAMPLE.lineItemId, ...ids, quantity }],
  };
}

/** A resolved line: the variant a line draws on and its stock. */
const resolvedLine = (lineItemId: unknown, variantId: unknown, sku: unknown) => ({
  lineItemId,
  variantId,
  productId: state('productId'),
  sku,
  availableQuantity: integer(120),
});

describe('order-manage-api → order-manage-data-api (HTTP pact)', () => {
  before(() => removePact(ORDER_API, DATA_API));

  test('resolving the lines of an accepted order gives its webhook and event ids, so a Shopify retry is told apart from a new delivery', async () => {
    await provider
      .addInteraction()
      .given('an order exists')
      .uponReceiving('a resolve of an existing order and its variant')
      .withRequest('POST', RESOLVE, (b) =>
        b
          .headers(requestHeaders(CONSUMER_TOKEN, true))
          .jsonBody(
            resolveBody([
              { lineItemId: state('lineItemId'), productId: state('productId'), variantId: state('variantId'), sku: state('sku') },
            ]),
          ),
      )
      .willRespondWith(200, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({
          existingOrder: {
            orderId: state('orderId'),
            webhookId: state('webhookId'),
            eventId: state('eventId'),
            status: regex(/^(accepted|cancelled)$/, 'accepted'),
            receivedAt: iso8601DateTimeWithMillis('2026-11-24T08:00:01.250Z'),
          },
          resolved: [resolvedLine(state('lineItemId'), state('variantId'), state('sku'))],
          unresolved: [],
        }),
      )
      .executeTest(async (mock) => {
        const line = stockLine({
          lineItemId: EXAMPLE.lineItemId,
          productId: EXAMPLE.productId,
          variantId: EXAMPLE.variantId,
          sku: EXAMPLE.sku,
        });
        const { existingOrder } = await asCaller(() => client(mock.url).resolve(EXAMPLE.orderId, [line]));
        assert.equal(existingOrder?.orderId, EXAMPLE.orderId);
        assert.equal(existingOrder?.webhookId, EXAMPLE.webhookId);
        assert.equal(existingOrder?.eventId, EXAMPLE.eventId);
      });
  });

  test('a wrong bearer token is refused with 401, which the api passes on as a refusal, never as a transient outage', async () => {
    await provider
      .addInteraction()
      .given('no order exists')
      .uponReceiving('a resolve with a wrong bearer token')
      .withRequest('POST', RESOLVE, (b) =>
        b
          .headers(requestHeaders('not-the-internal-token', true))
          .jsonBody(
            resolveBody([{ lineItemId: EXAMPLE.lineItemId, productId: EXAMPLE.productId, variantId: EXAMPLE.variantId, sku: EXAMPLE.sku }]),
          ),
      )
      .willRespondWith(401, (b) =>
        b
          .headers({ 'Content-Type': PROBLEM_TYPE, 'www-authenticate': 'Bearer' })
          .jsonBody({ status: 401, code: 'UNAUTHORIZED', detail: string('A valid bearer token is required.') }),
      )
      .executeTest(async (mock) => {
        const line = stockLine({
          lineItemId: EXAMPLE.lineItemId,
          productId: EXAMPLE.productId,
          variantId: EXAMPLE.variantId,
          sku: EXAMPLE.sku,
        });
        await assert.rejects(
          asCaller(() => client(mock.url, 'not-the-internal-token').resolve(EXAMPLE.orderId, [line])),
          (err: unknown) => err instanceof DataApiRefusedError && err.problem.status === 401 && err.problem.code === 'UNAUTHORIZED',
        );
      });
  });

  test('resolving a new order finds each line’s variant by its variant id, with its SKU and stock, and no existing order', async () => {
    await provider
      .addInteraction()
      .given('two variants of one product exist')
      .uponReceiving('a resolve of lines naming their variant ids')
      .withRequest('POST', RESOLVE, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody(
          resolveBody([
            { lineItemId: state('lineItemId'), productId: state('productId'), variantId: state('variantId'), sku: state('sku') },
            {
              lineItemId: state('otherLineItemId'),
              productId: state('productId'),
              variantId: state('otherVariantId'),
              sku: state('otherSku'),
            },
          ]),
        ),
      )
      .willRespondWith(200, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({
          existingOrder: null,
          resolved: [
            resolvedLine(state('lineItemId'), state('variantId'), state('sku')),
            resolvedLine(state('otherLineItemId'), state('otherVariantId'), state('otherSku')),
          ],
          unresolved: [],
        }),
      )
      .executeTest(async (mock) => {
        const lines = [
          stockLine({ lineItemId: EXAMPLE.lineItemId, productId: EXAMPLE.productId, variantId: EXAMPLE.variantId, sku: EXAMPLE.sku }),
          stockLine({
            lineItemId: EXAMPLE.otherLineItemId,
            productId: EXAMPLE.productId,
            variantId: EXAMPLE.otherVariantId,
            sku: EXAMPLE.otherSku,
          }),
        ];
        const result = await asCaller(() => client(mock.url).resolve(EXAMPLE.orderId, lines));
        assert.equal(result.existingOrder, null);
        assert.deepEqual(
          result.resolved.map((r) => [r.lineItemId, r.variantId, r.sku]),
          [
            [EXAMPLE.lineItemId, EXAMPLE.variantId, EXAMPLE.sku],
            [EXAMPLE.otherLineItemId, EXAMPLE.otherVariantId, EXAMPLE.otherSku],
          ],
        );
        assert.deepEqual(result.unresolved, []);
        assert.equal(typeof result.resolved[0]!.availableQuantity, 'number');
      });
  });

  test('a line without a variant id (a deleted variant) is resolved by its SKU among its product’s variants', async () => {
    await provider
      .addInteraction()
      .given('two variants of one product exist')
      .uponReceiving('a resolve of a line with a null variant id')
      .withRequest('POST', RESOLVE, (b) =>
        b
          .headers(requestHeaders(CONSUMER_TOKEN, true))
          .jsonBody(
            resolveBody([{ lineItemId: state('lineItemId'), productId: state('productId'), variantId: null, sku: state('otherSku') }]),
          ),
      )
      .willRespondWith(200, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({
          existingOrder: null,
          resolved: [resolvedLine(state('lineItemId'), state('otherVariantId'), state('otherSku'))],
          unresolved: [],
        }),
      )
      .executeTest(async (mock) => {
        const line = stockLine({ lineItemId: EXAMPLE.lineItemId, productId: EXAMPLE.productId, variantId: null, sku: EXAMPLE.otherSku });
        const result = await asCaller(() => client(mock.url).resolve(EXAMPLE.orderId, [line]));
        assert.deepEqual(
          result.resolved.map((r) => r.variantId),
          [EXAMPLE.otherVariantId],
        );
      });
  });

  test('resolving a line whose variant the inventory does not hold names it, as sent, among the unresolved', async () => {
    await provider
      .addInteraction()
      .given('one variant exists and another does not')
      .uponReceiving('a resolve of lines of which one names an unknown variant')
      .withRequest('POST', RESOLVE, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody(
          resolveBody([
            { lineItemId: state('lineItemId'), productId: state('productId'), variantId: state('variantId'), sku: state('sku') },
            {
              lineItemId: state('otherLineItemId'),
              productId: state('missingProductId'),
              variantId: state('missingVariantId'),
              sku: state('missingSku'),
            },
          ]),
        ),
      )
      .willRespondWith(200, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({
          existingOrder: null,
          resolved: [resolvedLine(state('lineItemId'), state('variantId'), state('sku'))],
          unresolved: [
            {
              lineItemId: state('otherLineItemId'),
              productId: state('missingProductId'),
              variantId: state('missingVariantId'),
              sku: state('missingSku'),
            },
          ],
        }),
      )
      .executeTest(async (mock) => {
        const lines = [
          stockLine({ lineItemId: EXAMPLE.lineItemId, productId: EXAMPLE.productId, variantId: EXAMPLE.variantId, sku: EXAMPLE.sku }),
          stockLine({
            lineItemId: EXAMPLE.otherLineItemId,
            productId: EXAMPLE.missingProductId,
            variantId: EXAMPLE.missingVariantId,
            sku: EXAMPLE.missingSku,
          }),
        ];
        const result = await asCaller(() => client(mock.url).resolve(EXAMPLE.orderId, lines));
        assert.deepEqual(result.unresolved, [
          {
            lineItemId: EXAMPLE.otherLineItemId,
            productId: EXAMPLE.missingProductId,
            variantId: EXAMPLE.missingVariantId,
            sku: EXAMPLE.missingSku,
          },
        ]);
        assert.deepEqual(
          result.resolved.map((r) => r.variantId),
          [EXAMPLE.variantId],
        );
      });
  });

  test('committing a new order with enough stock answers 201 with each variant’s stock after', async () => {
    await provider
      .addInteraction()
      .given('a new order for a variant with enough stock')
      .uponReceiving('a commit of a new order')
      .withRequest('POST', ORDERS, (b) => b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody(commitBody({ quantity: 2 })))
      .willRespondWith(201, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({
          orderId: state('orderId'),
          status: 'accepted',
          items: [{ variantId: state('variantId'), availableAfter: integer(118), inventoryVersion: integer(2) }],
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() => client(mock.url).commitOrder(commitRequest({ quantity: 2 })));
        assert.deepEqual(result, { kind: 'committed' });
      });
  });

  test('committing an order whose only line holds no stock (a tip) answers 201 with no variant reserved', async () => {
    await provider
      .addInteraction()
      .given('a new order that holds no stock')
      .uponReceiving('a commit of a new order with no stock line')
      .withRequest('POST', ORDERS, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({
          order: { ...ORDER_FIELDS, totalPrice: '5.00', orderId: state('orderId'), webhookId: DELIVERY },
          lines: [{ ...TIP, lineItemId: state('lineItemId') }],
        }),
      )
      .willRespondWith(201, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({ orderId: state('orderId'), status: 'accepted', items: [] }),
      )
      .executeTest(async (mock) => {
        const request: CommitRequest = {
          order: { ...ORDER_FIELDS, totalPrice: '5.00', orderId: EXAMPLE.orderId, webhookId: DELIVERY },
          lines: [{ ...TIP, lineItemId: EXAMPLE.lineItemId }],
        };
        const result = await asCaller(() => client(mock.url).commitOrder(request));
        assert.deepEqual(result, { kind: 'committed' });
      });
  });

  test('committing a point-of-sale order another shop location sold (lines without a variant) answers 201 with nothing reserved', async () => {
    await provider
      .addInteraction()
      .given('a new order for a variant with enough stock')
      .uponReceiving('a commit of a point-of-sale order at another location')
      .withRequest('POST', ORDERS, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({
          order: { ...ORDER_FIELDS, orderId: state('orderId'), webhookId: DELIVERY, locationId: ID('70100000001') },
          lines: [
            {
              ...LINE_FIELDS,
              lineItemId: state('lineItemId'),
              productId: state('productId'),
              variantId: null,
              sku: state('sku'),
              quantity: 2,
            },
          ],
        }),
      )
      .willRespondWith(201, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({ orderId: state('orderId'), status: 'accepted', items: [] }),
      )
      .executeTest(async (mock) => {
        const request: CommitRequest = {
          order: { ...ORDER_FIELDS, orderId: EXAMPLE.orderId, webhookId: DELIVERY, locationId: '70100000001' },
          lines: [
            {
              ...LINE_FIELDS,
              lineItemId: EXAMPLE.lineItemId,
              productId: EXAMPLE.productId,
              variantId: null,
              sku: EXAMPLE.sku,
              quantity: 2,
            },
          ],
        };
        const result = await asCaller(() => client(mock.url).commitOrder(request));
        assert.deepEqual(result, { kind: 'committed' });
      });
  });

  test('committing an order id already accepted answers 409 with the webhook and event ids it was accepted from', async () => {
    await provider
      .addInteraction()
      .given('an order exists')
      .uponReceiving('a commit of an order id that was already accepted')
      .withRequest('POST', ORDERS, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody(commitBody({ quantity: 1, webhookId: 'a-different-delivery' })),
      )
      .willRespondWith(409, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 409,
          code: 'ORDER_ALREADY_EXISTS',
          orderId: state('orderId'),
          existingWebhookId: state('webhookId'),
          existingEventId: state('eventId'),
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() =>
          client(mock.url).commitOrder(commitRequest({ quantity: 1, webhookId: 'a-different-delivery' })),
        );
        assert.deepEqual(result, { kind: 'already_exists', existingWebhookId: EXAMPLE.webhookId, existingEventId: EXAMPLE.eventId });
      });
  });

  test('committing more than a variant’s stock answers 422 INSUFFICIENT_INVENTORY with the variant, its SKU, requested and available', async () => {
    await provider
      .addInteraction()
      .given('a new order for a variant with less stock than ordered')
      .uponReceiving('a commit of an order with too little stock')
      .withRequest('POST', ORDERS, (b) => b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody(commitBody({ quantity: 5 })))
      .willRespondWith(422, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 422,
          code: 'INSUFFICIENT_INVENTORY',
          orderId: state('orderId'),
          items: [{ variantId: state('variantId'), sku: state('sku'), requested: integer(5), available: integer(1) }],
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() => client(mock.url).commitOrder(commitRequest({ quantity: 5 })));
        assert.equal(result.kind, 'insufficient_inventory');
        assert.deepEqual(result.kind === 'insufficient_inventory' && result.items, [
          { variantId: EXAMPLE.variantId, sku: EXAMPLE.sku, requested: 5, available: 1 },
        ]);
      });
  });

  test('committing an order naming a variant the inventory no longer holds answers 422 PRODUCT_NOT_FOUND with the variant ids', async () => {
    await provider
      .addInteraction()
      .given('a new order for a variant that does not exist')
      .uponReceiving('a commit of an order naming an unknown variant')
      .withRequest('POST', ORDERS, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody(commitBody({ quantity: 1, variant: 'missing' })),
      )
      .willRespondWith(422, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 422,
          code: 'PRODUCT_NOT_FOUND',
          orderId: state('orderId'),
          variantIds: [state('missingVariantId')],
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() => client(mock.url).commitOrder(commitRequest({ quantity: 1, variant: 'missing' })));
        assert.equal(result.kind, 'product_not_found');
        assert.deepEqual(result.kind === 'product_not_found' && { productIds: result.productIds, variants: result.variants }, {
          productIds: [EXAMPLE.missingProductId],
          variants: [{ productId: EXAMPLE.missingProductId, variantId: EXAMPLE.missingVariantId, sku: EXAMPLE.missingSku }],
        });
      });
  });

  test('a commit the data-api finds invalid answers 400 INVALID_PAYLOAD listing each field', async () => {
    await provider
      .addInteraction()
      .given('a new order for a variant with enough stock')
      .uponReceiving('a commit with a quantity above what the data-api accepts')
      .withRequest('POST', ORDERS, (b) => b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody(commitBody({ quantity: 2_000_000 })))
      .willRespondWith(400, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 400,
          code: 'INVALID_PAYLOAD',
          errors: eachLike({ path: string('lines.0.quantity'), reason: string('quantity must be at most 1000000') }),
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() => client(mock.url).commitOrder(commitRequest({ quantity: 2_000_000 })));
        assert.equal(result.kind, 'invalid_payload');
        assert.deepEqual(result.kind === 'invalid_payload' && result.errors, [
          { path: 'lines.0.quantity', reason: 'quantity must be at most 1000000' },
        ]);
      });
  });

  test('a commit reusing a line item id of another order answers 400 INVALID_PAYLOAD: Shopify’s line item ids are unique', async () => {
    await provider
      .addInteraction()
      .given('an order exists')
      .uponReceiving('a commit of a new order whose line item id belongs to the existing order')
      .withRequest('POST', ORDERS, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({
          order: { ...ORDER_FIELDS, orderId: state('newOrderId'), webhookId: DELIVERY },
          lines: [
            {
              ...LINE_FIELDS,
              lineItemId: state('lineItemId'),
              productId: state('productId'),
              variantId: state('variantId'),
              sku: state('sku'),
              quantity: 1,
            },
          ],
        }),
      )
      .willRespondWith(400, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 400,
          code: 'INVALID_PAYLOAD',
          errors: [{ path: 'lines', reason: string(`line item ${EXAMPLE.lineItemId} already belongs to another order`) }],
        }),
      )
      .executeTest(async (mock) => {
        const request = commitRequest({ quantity: 1 });
        const result = await asCaller(() =>
          client(mock.url).commitOrder({ ...request, order: { ...request.order, orderId: EXAMPLE.newOrderId } }),
        );
        assert.equal(result.kind, 'invalid_payload');
      });
  });

  test('a resolve the data-api refuses answers 400, which the api passes on as a permanent refusal, never a 503', async () => {
    await provider
      .addInteraction()
      .given('the database is reachable')
      .uponReceiving('a resolve naming an id that is not a positive integer')
      .withRequest('POST', RESOLVE, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({
          orderId: EXAMPLE.orderId,
          lines: [{ lineItemId: EXAMPLE.lineItemId, productId: '0', variantId: EXAMPLE.variantId, sku: EXAMPLE.sku }],
        }),
      )
      .willRespondWith(400, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 400,
          code: 'INVALID_PAYLOAD',
          errors: eachLike({
            path: string('lines.0.productId'),
            reason: string('productId must be a positive integer below 2^63, as a decimal string'),
          }),
        }),
      )
      .executeTest(async (mock) => {
        const line = stockLine({ lineItemId: EXAMPLE.lineItemId, productId: '0', variantId: EXAMPLE.variantId, sku: EXAMPLE.sku });
        await assert.rejects(
          asCaller(() => client(mock.url).resolve(EXAMPLE.orderId, [line])),
          (err: unknown) => err instanceof DataApiRefusedError && err.problem.status === 400 && err.problem.code === 'INVALID_PAYLOAD',
        );
      });
  });

  test('a resolve of more lines than an order can hold answers 400, a refusal the api must not retry as an outage', async () => {
    const { maxLines } = ORDER_LIMITS;
    // One more than the limit both services share: the data-api, not the api, is what refuses here.
    const tooMany = Array.from({ length: maxLines + 1 }, (_, i) =>
      stockLine({
        lineItemId: String(BigInt(EXAMPLE.lineItemId) + BigInt(i)),
        productId: EXAMPLE.productId,
        variantId: EXAMPLE.variantId,
        sku: EXAMPLE.sku,
      }),
    );
    await provider
      .addInteraction()
      .given('the database is reachable')
      .uponReceiving('a resolve of more lines than an order can hold')
      .withRequest('POST', RESOLVE, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({
          orderId: EXAMPLE.orderId,
          lines: eachLike(
            {
              lineItemId: ID(EXAMPLE.lineItemId),
              productId: ID(EXAMPLE.productId),
              variantId: ID(EXAMPLE.variantId),
              sku: string(EXAMPLE.sku),
            },
            maxLines + 1,
          ),
        }),
      )
      .willRespondWith(400, (b) =>
        b.headers({ 'Content-Type': PROBLEM_TYPE }).jsonBody({
          status: 400,
          code: 'INVALID_PAYLOAD',
          errors: eachLike({ path: 'lines', reason: string(`Too big: expected array to have <=${maxLines} items`) }),
        }),
      )
      .executeTest(async (mock) => {
        // Pact's mock server takes a while to match 501 lines; the timeout is the mock's, not the contract's.
        await assert.rejects(
          asCaller(() => client(mock.url, CONSUMER_TOKEN, 60_000).resolve(EXAMPLE.orderId, tooMany)),
          (err: unknown) => {
            assert.ok(err instanceof DataApiRefusedError, `expected DataApiRefusedError, got ${String(err)}`);
            assert.equal(err.problem.status, 400);
            assert.equal(err.problem.code, 'INVALID_PAYLOAD');
            assert.deepEqual(err.problem.errors, [{ path: 'lines', reason: `Too big: expected array to have <=${maxLines} items` }]);
            return true;
          },
        );
      });
  });

  test('an order store whose database is down answers 503 DATABASE_UNAVAILABLE with Retry-After, which the api treats as transient', async () => {
    await provider
      .addInteraction()
      .given('the database is unreachable')
      .uponReceiving('a resolve while the database is unreachable')
      .withRequest('POST', RESOLVE, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({
          orderId: EXAMPLE.orderId,
          lines: [{ lineItemId: EXAMPLE.lineItemId, productId: EXAMPLE.productId, variantId: EXAMPLE.variantId, sku: EXAMPLE.sku }],
        }),
      )
      .willRespondWith(503, (b) =>
        b
          .headers({ 'Content-Type': PROBLEM_TYPE, 'Retry-After': regex(/^\d+$/, '1') })
          .jsonBody({ status: 503, code: 'DATABASE_UNAVAILABLE', detail: string('The database is unavailable; retry shortly.') }),
      )
      .executeTest(async (mock) => {
        const line = stockLine({
          lineItemId: EXAMPLE.lineItemId,
          productId: EXAMPLE.productId,
          variantId: EXAMPLE.variantId,
          sku: EXAMPLE.sku,
        });
        await assert.rejects(
          asCaller(() => client(mock.url).resolve(EXAMPLE.orderId, [line])),
          DataApiUnavailableError,
        );
      });
  });
});

/**
 * Cancellations and refunds (docs/spec.md section 2.2): the api's restock client against the data-api's
 * `POST /internal/orders/:orderId/restocks`, which decides in one transaction what comes back.
 */
describe('order-manage-api → order-manage-data-api: units coming back (HTTP pact)', () => {
  const restockClient = (baseUrl: string) => createRestockClient({ baseUrl, token: CONSUMER_TOKEN, timeoutMs: 4_000 });
  const REFUND_LINE = '1058498307';
  const RESTOCK_EVENT = '3c9e2a5d-0b1f-4e7a-8d6c-000000000026';
  const restocksPath = fromProviderState('/internal/orders/${orderId}/restocks', `/internal/orders/${EXAMPLE.orderId}/restocks`);
  const refundLine = (quantity: number) => ({
    id: fromProviderState('${refundLineItemId}', REFUND_LINE),
    lineItemId: state('lineItemId'),
    quantity,
    restockType: 'return',
    locationId: state('locationId'),
  });
  const refundLineSent = (quantity: number) => ({
    id: REFUND_LINE,
    lineItemId: EXAMPLE.lineItemId,
    quantity,
    restockType: 'return',
    locationId: EXAMPLE.locationId,
  });

  test('a refund that restocks a line the order reserved puts its units back: the variants and quantities, and the movement written', async () => {
    await provider
      .addInteraction()
      .given('an order reserved 2 units of a variant')
      .uponReceiving('a refund restocking the reserved line')
      .withRequest('POST', restocksPath, (b) =>
        b
          .headers(requestHeaders(CONSUMER_TOKEN, true))
          .jsonBody({ topic: 'refunds/create', webhookId: DELIVERY, eventId: null, cancelledAt: null, refundLineItems: [refundLine(2)] }),
      )
      .willRespondWith(200, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({
          orderId: state('orderId'),
          orderStatus: 'accepted',
          replayed: false,
          restocked: [{ variantId: state('variantId'), quantity: 2 }],
          movements: [
            {
              movementId: ID(EXAMPLE.movementId),
              refundLineItemId: fromProviderState('${refundLineItemId}', REFUND_LINE),
              variantId: state('variantId'),
              reason: 'return',
              delta: 2,
              availableAfter: integer(120),
            },
          ],
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() =>
          restockClient(mock.url).restock(EXAMPLE.orderId, {
            topic: 'refunds/create',
            webhookId: DELIVERY,
            eventId: null,
            cancelledAt: null,
            refundLineItems: [refundLineSent(2)],
          }),
        );
        assert.deepEqual(
          [result.orderStatus, result.replayed, result.restocked],
          ['accepted', false, [{ variantId: EXAMPLE.variantId, quantity: 2 }]],
        );
        assert.deepEqual(
          result.movements.map((m) => [m.refundLineItemId, m.reason, m.delta]),
          [[REFUND_LINE, 'return', 2]],
        );
      });
  });

  test('a cancellation of an order the system never accepted restocks nothing and says so: 200, never a refusal', async () => {
    await provider
      .addInteraction()
      .given('no order exists')
      .uponReceiving('a cancellation of an unknown order')
      .withRequest('POST', restocksPath, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({
          topic: 'orders/cancelled',
          webhookId: DELIVERY,
          eventId: null,
          cancelledAt: '2026-11-24T10:00:00-05:00',
          refundLineItems: [{ id: REFUND_LINE, lineItemId: EXAMPLE.lineItemId, quantity: 1, restockType: 'cancel', locationId: null }],
        }),
      )
      .willRespondWith(200, (b) =>
        b
          .headers({ 'Content-Type': JSON_TYPE })
          .jsonBody({ orderId: state('orderId'), orderStatus: 'unknown', replayed: false, restocked: [], movements: [] }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() =>
          restockClient(mock.url).restock(EXAMPLE.orderId, {
            topic: 'orders/cancelled',
            webhookId: DELIVERY,
            eventId: null,
            cancelledAt: '2026-11-24T10:00:00-05:00',
            refundLineItems: [{ id: REFUND_LINE, lineItemId: EXAMPLE.lineItemId, quantity: 1, restockType: 'cancel', locationId: null }],
          }),
        );
        assert.deepEqual([result.orderStatus, result.restocked], ['unknown', []]);
      });
  });

  test('an event handled before is answered with its first answer, marked replayed, and writes nothing', async () => {
    await provider
      .addInteraction()
      .given('a refund event put 1 unit back')
      .uponReceiving('the same refund event again')
      .withRequest('POST', restocksPath, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({
          topic: 'refunds/create',
          webhookId: DELIVERY,
          eventId: fromProviderState('${restockEventId}', RESTOCK_EVENT),
          cancelledAt: null,
          refundLineItems: [refundLine(1)],
        }),
      )
      .willRespondWith(200, (b) =>
        b.headers({ 'Content-Type': JSON_TYPE }).jsonBody({
          orderId: state('orderId'),
          orderStatus: 'accepted',
          replayed: true,
          restocked: [{ variantId: state('variantId'), quantity: 1 }],
          movements: [],
        }),
      )
      .executeTest(async (mock) => {
        const result = await asCaller(() =>
          restockClient(mock.url).restock(EXAMPLE.orderId, {
            topic: 'refunds/create',
            webhookId: DELIVERY,
            eventId: RESTOCK_EVENT,
            cancelledAt: null,
            refundLineItems: [refundLineSent(1)],
          }),
        );
        assert.deepEqual(
          [result.replayed, result.restocked, result.movements],
          [true, [{ variantId: EXAMPLE.variantId, quantity: 1 }], []],
        );
      });
  });

  test('a restock while the database is down answers 503 with Retry-After, which the api treats as transient (Shopify delivers again)', async () => {
    await provider
      .addInteraction()
      .given('the database is unreachable')
      .uponReceiving('a refund while the database is unreachable')
      .withRequest('POST', `/internal/orders/${EXAMPLE.orderId}/restocks`, (b) =>
        b.headers(requestHeaders(CONSUMER_TOKEN, true)).jsonBody({
          topic: 'refunds/create',
          webhookId: DELIVERY,
          eventId: null,
          cancelledAt: null,
          refundLineItems: [refundLineSent(1)],
        }),
      )
      .willRespondWith(503, (b) =>
        b
          .headers({ 'Content-Type': PROBLEM_TYPE, 'Retry-After': regex(/^\d+$/, '1') })
          .jsonBody({ status: 503, code: 'DATABASE_UNAVAILABLE', detail: string('The database is unavailable; retry shortly.') }),
      )
      .executeTest(async (mock) => {
        await assert.rejects(
          asCaller(() =>
            restockClient(mock.url).restock(EXAMPLE.orderId, {
              topic: 'refunds/create',
              webhookId: DELIVERY,
              eventId: null,
              cancelledAt: null,
              refundLineItems: [refundLineSent(1)],
            }),
          ),
          DataApiUnavailableError,
        );
      });
  });
});

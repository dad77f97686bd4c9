import { randomInt, randomUUID } from 'node:crypto';
import { type APIRequestContext, type APIResponse, expect, test } from '@playwright/test';
import { Redis } from 'ioredis';
import type { InventoryEvent } from '../../services/order-manage-data-api/src/events.js';
import { readEvents } from '../support/kafka.js';
import { successMarkers } from '../support/logs.js';
import { inventoryItemGid, lastQuantities, shopifyRequests } from '../support/shopify.js';
import { closeDb, countOutboxRows, createTestProduct, readInventory, readOrder, readOrderDetails, type TestProduct } from '../support/db.js';
import { buildShopifyOrder, type OrderLine, randomOrderId } from '../support/orders.js';
import { shopifyHeaders } from '../support/sign.js';
import { stackEnv } from '../support/stack-env.js';
import { stubWmsInventory } from '../support/wiremock.js';

/**
 * README section 3, one test per scenario. Each test signs its own webhooks, creates its own
 * products (random ids, never the demo catalogue) and programs the WMS for them, so the scenarios
 * can run beside each other and beside every other test on the same stack.
 */

const WEBHOOK_PATH = '/api/shopify/webhooks/orders';
const removers: Array<() => Promise<void>> = [];

/**
 * A fault test that made the stack's WMS fail leaves `wms:hold` set for up to a minute, and every
 * order meanwhile answers 503: say so plainly instead of failing seven scenarios obscurely.
 */
test.beforeAll(async () => {
  const redis = new Redis(stackEnv().REDIS_URL, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const ttl = await redis.ttl('wms:hold');
    expect(ttl, `wms:hold is set in Redis for ${ttl} s more: orders answer 503 WMS_UNAVAILABLE until it expires`).toBe(-2);
  } finally {
    redis.disconnect();
  }
});

test.afterEach(async () => {
  await Promise.all(removers.splice(0).map((remove) => remove()));
});

test.afterAll(async () => {
  await closeDb();
});

/** A product in our inventory whose stock the WMS confirms. */
async function stockedProduct(quantity: number, price = '19.90'): Promise<TestProduct> {
  const product = await createTestProduct({ availableQuantity: quantity, price });
  removers.push(await stubWmsInventory(product.productId, { availableQuantity: quantity, sku: product.sku }));
  return product;
}

const pretty = (value: unknown) => JSON.stringify(value, null, 2);

/**
 * Posts the order exactly as Shopify would: raw JSON bytes, signed with the store's webhook secret.
 * The signed request and the answer are attached to the report, so a reader sees what was sent and
 * what came back (the HMAC header, never the secret).
 */
async function deliverOrder(request: APIRequestContext, order: Record<string, unknown>, webhookId = randomUUID()): Promise<APIResponse> {
  const raw = JSON.stringify(order);
  const headers = shopifyHeaders(raw, stackEnv().SHOPIFY_WEBHOOK_SECRET, { 'x-shopify-webhook-id': webhookId });
  const response = await request.post(WEBHOOK_PATH, { headers, data: raw });
  const info = test.info();
  const n = info.attachments.filter((a) => a.name.startsWith('signed request')).length + 1;
  await info.attach(`signed request ${n}: POST ${WEBHOOK_PATH}`, {
    contentType: 'application/json',
    body: pretty({ method: 'POST', path: WEBHOOK_PATH, headers, body: order }),
  });
  const contentType = response.headers()['content-type'] ?? '';
  const body = await response.text();
  await info.attach(`response ${n}: ${response.status()}${contentType.includes('problem+json') ? ' (problem)' : ''}`, {
    contentType: 'application/json',
    body: pretty({ status: response.status(), headers: response.headers(), body: body ? (JSON.parse(body) as unknown) : null }),
  });
  return response;
}

/** The report's annotations: which scenario of README section 3 and which SPEC.md sections a test proves. */
const proves = (scenario: string, spec: string) => ({
  annotation: [
    { type: 'scenario', description: scenario },
    { type: 'SPEC.md', description: spec },
  ],
});

/** Far from createTestProduct's id range, so no test ever creates it. */
const unknownProductId = () => 9_500_000_000_000 + randomInt(1, 2 ** 40);

const line = (product: TestProduct, quantity: number): OrderLine => ({ productId: product.productId, quantity, sku: product.sku, price: product.price, title: product.title });

async function expectAccepted(response: APIResponse, orderId: number): Promise<void> {
  expect(response.status()).toBe(201);
  expect(await response.json()).toEqual({ status: 'success', message: 'Order received and processed', order_id: String(orderId) });
}

async function expectRejected(response: APIResponse, status: number, code: string): Promise<Record<string, unknown>> {
  expect(response.status()).toBe(status);
  expect(response.headers()['content-type']).toContain('application/problem+json');
  const problem = (await response.json()) as Record<string, unknown>;
  expect(problem.code).toBe(code);
  return problem;
}

/** The database side of an accepted order: one order row, one detail row and one outbox event per product, stock decremented. */
async function expectOrderCommitted(orderId: number, webhookId: string, ordered: Ordered): Promise<void> {
  const order = await readOrder(orderId);
  expect(order, `order ${orderId} is stored`).not.toBeNull();
  expect(order!.webhookId).toBe(webhookId);
  expect(order!.status).toBe('committed');
  const details = await readOrderDetails(orderId);
  expect(details.map((d) => ({ productId: d.productId, quantity: d.quantity }))).toEqual(
    ordered.map(({ product, quantity }) => ({ productId: product.productId, quantity })).sort((a, b) => a.productId - b.productId),
  );
  for (const { product, quantity } of ordered) {
    expect((await readInventory(product.productId))!.availableQuantity, `stock of ${product.sku}`).toBe(product.availableQuantity - quantity);
  }
  expect(await countOutboxRows(orderId)).toBe(ordered.length);
}

/** A rejected order writes nothing: no order row, no outbox event, every product's stock as it was. */
async function expectNothingChanged(orderId: number, products: TestProduct[]): Promise<void> {
  expect(await readOrder(orderId)).toBeNull();
  expect(await readOrderDetails(orderId)).toEqual([]);
  expect(await countOutboxRows(orderId)).toBe(0);
  for (const product of products) {
    expect((await readInventory(product.productId))!.availableQuantity, `stock of ${product.sku}`).toBe(product.availableQuantity);
  }
}

/** One event per product on `inventory-updates`, keyed by product id, carrying the delivery's correlation id. */
async function expectInventoryEvents(orderId: number, webhookId: string, ordered: Ordered, since: number): Promise<void> {
  const events = await readEvents<InventoryEvent>({
    topic: 'inventory-updates',
    brokers: stackEnv().KAFKA_BROKERS.split(','),
    predicate: (event) => event.value.orderId === String(orderId),
    count: ordered.length,
    fromTimestamp: since,
  });
  const byProduct = new Map(events.map((event) => [event.value.productId, event]));
  expect(byProduct.size).toBe(ordered.length);
  for (const { product, quantity } of ordered) {
    const event = byProduct.get(String(product.productId))!;
    expect(event.key).toBe(String(product.productId));
    expect(event.headers['x-correlation-id']).toBe(webhookId);
    expect(event.value).toMatchObject({
      orderId: String(orderId),
      productId: String(product.productId),
      sku: product.sku,
      inventoryItemId: String(product.inventoryItemId),
      locationId: String(product.locationId),
      quantityOrdered: quantity,
      availableAfter: product.availableQuantity - quantity,
    });
    expect(event.value.eventId).toMatch(/^[0-9a-f-]{36}$/);
  }
}

/** Shopify ends up holding each product's new available quantity, set through inventorySetQuantities. */
async function expectShopifyUpdated(ordered: Ordered): Promise<void> {
  const itemIds = ordered.map(({ product }) => product.inventoryItemId);
  await expect
    .poll(async () => Object.fromEntries(lastQuantities(await shopifyRequests(itemIds))), { timeout: 20_000 })
    .toEqual(
      Object.fromEntries(ordered.map(({ product, quantity }) => [inventoryItemGid(product.inventoryItemId), product.availableQuantity - quantity])),
    );
  const [call] = await shopifyRequests(itemIds);
  expect(call!.headers['x-shopify-access-token']).toBeTruthy();
  expect(call!.body.query).toContain('inventorySetQuantities');
  expect(call!.body.query).toContain('@idempotent');
  expect(call!.body.variables.input).toMatchObject({ name: 'available', reason: 'correction' });
  for (const quantity of call!.body.variables.input.quantities) expect(quantity.changeFromQuantity).toBeNull();
}

type Ordered = Array<{ product: TestProduct; quantity: number }>;

/** Success scenarios prove the whole path: HTTP answer, database, Kafka event, Shopify update, and the log markers. */
async function acceptedScenario(request: APIRequestContext, ordered: Ordered): Promise<void> {
  const orderId = randomOrderId();
  const webhookId = randomUUID();
  const since = Date.now() - 1_000;
  const response = await test.step(`Shopify delivers order ${orderId} for ${ordered.length} product(s)`, () =>
    deliverOrder(request, buildShopifyOrder({ orderId, lines: ordered.map(({ product, quantity }) => line(product, quantity)) }), webhookId),
  );
  await test.step('the order is accepted with 201', () => expectAccepted(response, orderId));
  await test.step('the order is stored and each product’s stock goes down by what was ordered', () =>
    expectOrderCommitted(orderId, webhookId, ordered),
  );
  await test.step('one inventory event per product is published to Kafka', () => expectInventoryEvents(orderId, webhookId, ordered, since));
  await test.step('Shopify receives each product’s new available quantity', () => expectShopifyUpdated(ordered));
  await test.step('every service logs its SUCCESS line for the order', async () => {
    await expect
      .poll(() => successMarkers(orderId).sort(), { timeout: 10_000 })
      .toEqual(
        [
          'order-manage-api order.accepted',
          'order-manage-data-api inventory.event.published',
          'order-manage-data-api order.committed',
          ...ordered.map(() => 'order-stream-process shopify.inventory.updated'),
        ].sort(),
      );
  });
}

test.describe('Order intake scenarios (README section 3)', () => {
  test('3.1 A customer buys one product and the order is accepted', proves('3.1', '§2 webhook, §4 commit, §5 event, §6 Shopify, §7 SUCCESS logs, §9'), async ({ request }) => {
    const product = await test.step('the store has 10 of a T-shirt in stock, and the warehouse agrees', () => stockedProduct(10));
    await acceptedScenario(request, [{ product, quantity: 1 }]);
  });

  test('3.2 A customer buys three products, each in stock, and the order is accepted', proves('3.2', '§2 webhook, §4 commit, §5 event, §6 Shopify, §7 SUCCESS logs, §9'), async ({ request }) => {
    const products = await test.step('the store has three products, each with more stock than will be ordered', () =>
      Promise.all([stockedProduct(10), stockedProduct(5), stockedProduct(8)]),
    );
    await acceptedScenario(request, [
      { product: products[0]!, quantity: 2 },
      { product: products[1]!, quantity: 1 },
      { product: products[2]!, quantity: 3 },
    ]);
  });

  test('3.3 A customer buys five products, each in stock, and the order is accepted', proves('3.3', '§2 webhook, §4 commit, §5 event, §6 Shopify, §7 SUCCESS logs, §9'), async ({ request }) => {
    const products = await test.step('the store has five products, each with more stock than will be ordered', () =>
      Promise.all([stockedProduct(20), stockedProduct(6), stockedProduct(9), stockedProduct(4), stockedProduct(15)]),
    );
    await acceptedScenario(
      request,
      products.map((product, i) => ({ product, quantity: i + 1 })),
    );
  });

  test('3.4 The same order number arriving again from another delivery is refused and stock is taken only once', proves('3.4', '§2 idempotent redelivery and ORDER_ALREADY_EXISTS, §4 primary key, §9'), async ({ request }) => {
    const product = await test.step('the store has 10 of a product in stock', () => stockedProduct(10));
    const orderId = randomOrderId();
    const order = buildShopifyOrder({ orderId, lines: [line(product, 2)] });
    const firstWebhookId = randomUUID();
    await test.step(`Shopify delivers order ${orderId} and it is accepted`, async () => {
      await expectAccepted(await deliverOrder(request, order, firstWebhookId), orderId);
    });
    await test.step('Shopify retries that same delivery: the original answer is repeated and nothing changes', async () => {
      const replay = await deliverOrder(request, order, firstWebhookId);
      await expectAccepted(replay, orderId);
      expect(replay.headers()['idempotent-replayed']).toBe('true');
    });
    await test.step('another delivery carries the same order id: 409 ORDER_ALREADY_EXISTS', async () => {
      const problem = await expectRejected(await deliverOrder(request, order), 409, 'ORDER_ALREADY_EXISTS');
      expect(problem.orderId).toBe(String(orderId));
    });
    await test.step('the order exists once, from the first delivery, and stock went down only once', () =>
      expectOrderCommitted(orderId, firstWebhookId, [{ product, quantity: 2 }]),
    );
  });

  test('3.5 An order for a product the store does not carry is refused and nothing changes', proves('3.5', '§2 PRODUCT_NOT_FOUND, a rejected order changes nothing, §9'), async ({ request }) => {
    const missingId = await test.step('a product id that is not in the inventory', async () => {
      const id = unknownProductId();
      expect(await readInventory(id)).toBeNull();
      return id;
    });
    const orderId = randomOrderId();
    await test.step('Shopify delivers an order for it: 422 PRODUCT_NOT_FOUND names the product', async () => {
      const response = await deliverOrder(request, buildShopifyOrder({ orderId, lines: [{ productId: missingId, quantity: 1 }] }));
      const problem = await expectRejected(response, 422, 'PRODUCT_NOT_FOUND');
      expect(problem.productIds).toEqual([String(missingId)]);
      expect(problem.orderId).toBe(String(orderId));
    });
    await test.step('no order, no event, and the product still does not exist', async () => {
      await expectNothingChanged(orderId, []);
      expect(await readInventory(missingId)).toBeNull();
    });
  });

  test('3.6 An order for two products, one of which the store does not carry, is refused and nothing changes', proves('3.6', '§2 PRODUCT_NOT_FOUND, a rejected order changes nothing, §9'), async ({ request }) => {
    const known = await test.step('the store has 10 of one product; the other product is unknown', () => stockedProduct(10));
    const missingId = unknownProductId();
    const orderId = randomOrderId();
    await test.step('Shopify delivers the order: 422 PRODUCT_NOT_FOUND names only the unknown product', async () => {
      const response = await deliverOrder(request, buildShopifyOrder({ orderId, lines: [line(known, 1), { productId: missingId, quantity: 1 }] }));
      const problem = await expectRejected(response, 422, 'PRODUCT_NOT_FOUND');
      expect(problem.productIds).toEqual([String(missingId)]);
    });
    await test.step('no order, no event, and the known product keeps all 10', () => expectNothingChanged(orderId, [known]));
  });

  test('3.7 An order for two products, one without enough stock, is refused and nothing changes', proves('3.7', '§2 INSUFFICIENT_INVENTORY, a rejected order changes nothing, §9'), async ({ request }) => {
    const [plenty, scarce] = await test.step('the store has 10 of one product and only 2 of another', () =>
      Promise.all([stockedProduct(10), stockedProduct(2)]),
    );
    const orderId = randomOrderId();
    await test.step('Shopify delivers an order for 1 and 3 of them: 422 INSUFFICIENT_INVENTORY says what is short', async () => {
      const response = await deliverOrder(request, buildShopifyOrder({ orderId, lines: [line(plenty!, 1), line(scarce!, 3)] }));
      const problem = await expectRejected(response, 422, 'INSUFFICIENT_INVENTORY');
      expect(problem.items).toEqual([{ productId: String(scarce!.productId), requested: 3, available: 2 }]);
    });
    await test.step('no order, no event, and both products keep their stock', () => expectNothingChanged(orderId, [plenty!, scarce!]));
  });
});

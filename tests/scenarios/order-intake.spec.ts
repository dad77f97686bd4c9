import { randomInt, randomUUID } from 'node:crypto';
import { type APIRequestContext, type APIResponse, expect, test } from '@playwright/test';
import { Redis } from 'ioredis';
import type { InventoryEvent } from '../../services/order-manage-data-api/src/events.js';
import { successMarkers } from '../support/logs.js';
import { type KafkaEvent, readEvents } from '../support/kafka.js';
import { shopifyRequests } from '../support/shopify.js';
import { raisesBySystem, shopifyAvailable, shopifyLevels, shopifyRestocks, shopifyTakesOrder } from '../support/shopify-stand-in.js';
import {
  closeDb,
  countOutboxRows,
  createTestProduct,
  readInventory,
  readMovements,
  readOrder,
  readOrderDetails,
  type TestProduct,
} from '../support/db.js';
import { buildShopifyOrder, lineOf, type OrderLine, randomOrderId } from '../support/orders.js';
import { buildCancelledOrder, buildRefund, lineItemIds, type RestockTopic, TOPIC_PATHS } from '../support/refunds.js';
import { shopifyHeaders } from '../support/sign.js';
import { stackEnv } from '../support/stack-env.js';
import { stubWmsInventory, wmsRequestsFor } from '../support/wiremock.js';

/**
 * README section 3, one test per scenario. Each test signs its own webhooks, creates its own
 * variants (random ids, never the demo catalogue), sets their levels at the Shopify stand-in and
 * programs the WMS for them, so the scenarios can run beside each other and beside every other test
 * on the same stack.
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

/**
 * A variant in our inventory, at Shopify at the same figure (an in-sync store), whose stock the WMS
 * confirms. Pass `productId` to make another size of the same product.
 */
async function stockedVariant(
  quantity: number,
  options: { productId?: number; title?: string; price?: string } = {},
): Promise<TestProduct> {
  const variant = await createTestProduct({ ...options, availableQuantity: quantity, price: options.price ?? '19.90' });
  removers.push(await stubWmsInventory(variant.sku, { availableQuantity: quantity }));
  return variant;
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

/**
 * Posts a cancellation or a refund exactly as Shopify would, signed, with the given webhook and event
 * ids (a Shopify retry repeats both), attached to the report like an order.
 */
async function deliverRestock(
  request: APIRequestContext,
  topic: RestockTopic,
  body: Record<string, unknown>,
  ids: { webhookId: string; eventId: string },
): Promise<APIResponse> {
  const raw = JSON.stringify(body);
  const path = TOPIC_PATHS[topic];
  const headers = shopifyHeaders(raw, stackEnv().SHOPIFY_WEBHOOK_SECRET, {
    'x-shopify-topic': topic,
    'x-shopify-webhook-id': ids.webhookId,
    'x-shopify-event-id': ids.eventId,
  });
  const response = await request.post(path, { headers, data: raw });
  const info = test.info();
  const n = info.attachments.filter((a) => a.name.startsWith('signed request')).length + 1;
  await info.attach(`signed request ${n}: POST ${path} (${topic})`, {
    contentType: 'application/json',
    body: pretty({ method: 'POST', path, headers, body }),
  });
  const text = await response.text();
  await info.attach(`response ${n}: ${response.status()}`, {
    contentType: 'application/json',
    body: pretty({ status: response.status(), headers: response.headers(), body: text ? (JSON.parse(text) as unknown) : null }),
  });
  return response;
}

/** The report's annotations: which scenario of README section 3 and which docs/spec.md sections a test proves. */
const proves = (scenario: string, spec: string) => ({
  annotation: [
    { type: 'scenario', description: scenario },
    { type: 'docs/spec.md', description: spec },
  ],
});

/** Far from createTestProduct's id ranges, so no test ever creates them. */
const unknownProductId = () => 9_500_000_000_000 + randomInt(1, 2 ** 40);
const unknownVariantId = () => 9_600_000_000_000 + randomInt(1, 2 ** 40);

const line = (variant: TestProduct, quantity: number): OrderLine =>
  lineOf(variant, quantity, { price: variant.price, title: variant.title });

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

type Ordered = Array<{ variant: TestProduct; quantity: number }>;

/**
 * The database side of an accepted order: the order row, one detail row per line with what it
 * reserved, each variant down by its own quantity through exactly one `order` movement, and one
 * outbox event per variant.
 */
async function expectOrderCommitted(orderId: number, webhookId: string, ordered: Ordered): Promise<void> {
  const order = await readOrder(orderId);
  expect(order, `order ${orderId} is stored`).not.toBeNull();
  expect(order!.webhookId).toBe(webhookId);
  expect(order!.status).toBe('accepted');
  const details = await readOrderDetails(orderId);
  expect(
    details.map((d) => ({ productId: d.productId, variantId: d.variantId, quantity: d.quantity, reserved: d.reserved })).sort(byVariant),
  ).toEqual(
    ordered
      .map(({ variant, quantity }) => ({ productId: variant.productId, variantId: variant.variantId, quantity, reserved: quantity }))
      .sort(byVariant),
  );
  for (const { variant, quantity } of ordered) {
    const row = (await readInventory(variant.variantId))!;
    expect(row.availableQuantity, `stock of ${variant.sku}`).toBe(variant.availableQuantity - quantity);
    const movements = await readMovements(variant.variantId);
    expect(
      movements.map((m) => ({ reason: m.reason, delta: m.delta, reference: m.reference, availableAfter: m.availableAfter })),
      `movements of ${variant.sku}`,
    ).toEqual([
      { reason: 'import', delta: variant.availableQuantity, reference: 'test', availableAfter: variant.availableQuantity },
      { reason: 'order', delta: -quantity, reference: String(orderId), availableAfter: variant.availableQuantity - quantity },
    ]);
    expect(row.version, `version of ${variant.sku} counts its movements`).toBe(movements.length);
  }
  expect(await countOutboxRows(orderId)).toBe(ordered.length);
}

const byVariant = (a: { variantId: number | null }, b: { variantId: number | null }) => (a.variantId ?? 0) - (b.variantId ?? 0);

/** An accepted order sent after a scenario's own deliveries, whose event and Shopify call mark "everything before has gone out". */
interface Marker {
  orderId: number;
  variant: TestProduct;
}

/** Delivers a marker order (signed, outside the report's attachments) and waits until its event is out. */
async function markerOrder(): Promise<Marker> {
  const variant = await stockedVariant(10);
  const orderId = randomOrderId();
  const raw = JSON.stringify(buildShopifyOrder({ orderId, lines: [line(variant, 1)] }));
  const response = await fetch(`${stackEnv().ORDER_API_URL}${WEBHOOK_PATH}`, {
    method: 'POST',
    headers: shopifyHeaders(raw, stackEnv().SHOPIFY_WEBHOOK_SECRET, { 'x-shopify-webhook-id': randomUUID() }),
    body: raw,
    signal: AbortSignal.timeout(10_000),
  });
  expect(response.status, 'the marker order is accepted').toBe(201);
  await expect.poll(() => countOutboxRows(orderId, { unpublishedOnly: true }), { timeout: 30_000 }).toBe(0);
  return { orderId, variant };
}

/**
 * Every event published for the order, duplicates included. The relay claims outbox rows in id order
 * and marks them only after Kafka acknowledged them, so once a later order's event is out (the
 * marker), anything the relay sent for this order is on the topic: reading to the topic's end from
 * there, a second copy of an event is counted, and "one per variant" or "none" is exact.
 */
async function eventsOfOrder(orderId: number, since: number, marker?: Marker): Promise<Array<KafkaEvent<InventoryEvent>>> {
  await expect.poll(() => countOutboxRows(orderId, { unpublishedOnly: true }), { timeout: 30_000 }).toBe(0);
  const after = marker ?? (await markerOrder());
  const ours = new Set([String(orderId), String(after.orderId)]);
  const events = await readEvents<InventoryEvent>({
    topic: 'inventory-updates',
    brokers: stackEnv().KAFKA_BROKERS.split(','),
    predicate: (event) => ours.has(event.value.orderId ?? ''),
    untilEnd: true,
    fromTimestamp: since,
    timeoutMs: 30_000,
  });
  expect(events.filter((e) => e.value.orderId === String(after.orderId)).length, "the read reached the marker order's event").toBe(1);
  return events.filter((e) => e.value.orderId === String(orderId));
}

/** Exactly one event per variant on `inventory-updates`, keyed by variant id, carrying the delivery's correlation id. */
async function expectInventoryEvents(orderId: number, webhookId: string, ordered: Ordered, since: number): Promise<void> {
  const events = await eventsOfOrder(orderId, since);
  expect(events.map((e) => e.key).sort(), 'one event per variant, none twice').toEqual(
    ordered.map(({ variant }) => String(variant.variantId)).sort(),
  );
  for (const { variant, quantity } of ordered) {
    const event = events.find((e) => e.key === String(variant.variantId))!;
    const [movement] = (await readMovements(variant.variantId)).filter((m) => m.reason === 'order');
    expect(event.headers['x-correlation-id']).toBe(webhookId);
    expect(event.value).toMatchObject({
      movementId: movement!.id,
      reason: 'order',
      reference: String(orderId),
      orderId: String(orderId),
      variantId: String(variant.variantId),
      productId: String(variant.productId),
      sku: variant.sku,
      inventoryItemId: String(variant.inventoryItemId),
      locationId: String(variant.locationId),
      delta: -quantity,
      availableAfter: variant.availableQuantity - quantity,
      inventoryVersion: 2,
      shopifyKnows: true,
    });
    expect(event.value.eventId).toMatch(/^[0-9a-f-]{36}$/);
  }
}

/**
 * Shopify did not take the order (the scenario sends the webhook itself), so the stream lowers each
 * item at Shopify to the database's figure, never raising anything.
 */
async function expectShopifyLowered(ordered: Ordered): Promise<void> {
  await expect
    .poll(() => Promise.all(ordered.map(({ variant }) => shopifyAvailable(variant.inventoryItemId, variant.locationId))), {
      timeout: 30_000,
    })
    .toEqual(ordered.map(({ variant, quantity }) => variant.availableQuantity - quantity));
  for (const { variant } of ordered) {
    const [level] = await shopifyLevels(variant.inventoryItemId);
    expect(raisesBySystem(level!), `no raise of ${variant.sku} at Shopify`).toEqual([]);
    expect(level!.history.at(-1)!.cause, `${variant.sku} lowered by the system's compare-and-set`).toBe('set');
  }
}

/**
 * A refused order changes nothing: no order row, no line, no movement, no event, every variant's
 * stock as it was, and Shopify neither called nor changed for them.
 */
async function expectNothingChanged(orderId: number, variants: TestProduct[], since: number): Promise<void> {
  expect(await readOrder(orderId)).toBeNull();
  expect(await readOrderDetails(orderId)).toEqual([]);
  expect(await countOutboxRows(orderId)).toBe(0);
  for (const variant of variants) {
    expect((await readInventory(variant.variantId))!.availableQuantity, `stock of ${variant.sku}`).toBe(variant.availableQuantity);
    expect(
      (await readMovements(variant.variantId)).map((m) => m.reason),
      `movements of ${variant.sku}`,
    ).toEqual(['import']);
  }
  const marker = await markerOrder();
  expect(await eventsOfOrder(orderId, since, marker), 'no event').toEqual([]);
  // The stream has acted on an event published after the refusal: a Shopify call for it would be in the journal by now.
  await expect
    .poll(() => shopifyAvailable(marker.variant.inventoryItemId, marker.variant.locationId), { timeout: 30_000 })
    .toBe(marker.variant.availableQuantity - 1);
  if (variants.length > 0) expect(await shopifyRequests(variants.map((v) => v.inventoryItemId)), 'no Shopify call').toEqual([]);
  expect(
    await shopifyCallsNaming([String(orderId), ...variants.map((v) => String(v.variantId))]),
    'no Shopify call names the order or its variants',
  ).toEqual([]);
  for (const variant of variants) {
    const [level] = await shopifyLevels(variant.inventoryItemId);
    expect(
      level!.history.map((h) => h.cause),
      `${variant.sku} at Shopify`,
    ).toEqual(['seed']);
  }
}

/** The Shopify GraphQL calls in WireMock's journal whose body holds any of these texts (ids). */
async function shopifyCallsNaming(texts: string[]): Promise<unknown[]> {
  const response = await fetch(`${stackEnv().WIREMOCK_URL}/__admin/requests/find`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      method: 'POST',
      urlPathPattern: '/admin/api/.*/graphql\\.json',
      bodyPatterns: [{ matches: `(?s).*\\b(${texts.join('|')})\\b.*` }],
    }),
    signal: AbortSignal.timeout(10_000),
  });
  expect(response.status, "WireMock's journal").toBe(200);
  return ((await response.json()) as { requests: unknown[] }).requests;
}

/** The refusal came before the WMS: it was not asked about these SKUs. */
async function expectNoWmsCall(variants: TestProduct[]): Promise<void> {
  for (const variant of variants) expect(await wmsRequestsFor(variant.sku), `WMS calls for ${variant.sku}`).toEqual([]);
}

/** Success scenarios prove the whole path: HTTP answer, database, movements, Kafka events, Shopify, and the log markers. */
async function acceptedScenario(request: APIRequestContext, ordered: Ordered): Promise<void> {
  const orderId = randomOrderId();
  const webhookId = randomUUID();
  const since = Date.now() - 1_000;
  const response = await test.step(`Shopify delivers order ${orderId} for ${ordered.length} variant(s)`, () =>
    deliverOrder(
      request,
      buildShopifyOrder({ orderId, lines: ordered.map(({ variant, quantity }) => line(variant, quantity)) }),
      webhookId,
    ));
  await test.step('the order is accepted with 201', () => expectAccepted(response, orderId));
  await test.step('the order is stored and each variant’s stock goes down by what was ordered, one movement each', () =>
    expectOrderCommitted(orderId, webhookId, ordered));
  await test.step('exactly one inventory event per variant is published to Kafka', () =>
    expectInventoryEvents(orderId, webhookId, ordered, since));
  await test.step('Shopify is brought down to each variant’s new available quantity', () => expectShopifyLowered(ordered));
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
  test(
    '3.1 A customer buys one product and the order is accepted',
    proves('3.1', '§2 webhook, §4 commit and movement, §5 event, §6 Shopify, §7 SUCCESS logs, §9'),
    async ({ request }) => {
      const variant = await test.step('the store has 10 of a T-shirt in stock, and the warehouse agrees', () => stockedVariant(10));
      await acceptedScenario(request, [{ variant, quantity: 1 }]);
    },
  );

  test(
    '3.2 A customer buys three products, each in stock, and the order is accepted',
    proves('3.2', '§2 webhook, §4 commit and movements, §5 events, §6 Shopify, §7 SUCCESS logs, §9'),
    async ({ request }) => {
      const variants = await test.step('the store has three products, each with more stock than will be ordered', () =>
        Promise.all([stockedVariant(10), stockedVariant(5), stockedVariant(8)]));
      await acceptedScenario(request, [
        { variant: variants[0]!, quantity: 2 },
        { variant: variants[1]!, quantity: 1 },
        { variant: variants[2]!, quantity: 3 },
      ]);
    },
  );

  test(
    '3.3 A customer buys five products, each in stock, and the order is accepted',
    proves('3.3', '§2 webhook, §4 commit and movements, §5 events, §6 Shopify, §7 SUCCESS logs, §9'),
    async ({ request }) => {
      const variants = await test.step('the store has five products, each with more stock than will be ordered', () =>
        Promise.all([stockedVariant(20), stockedVariant(6), stockedVariant(9), stockedVariant(4), stockedVariant(15)]));
      await acceptedScenario(
        request,
        variants.map((variant, i) => ({ variant, quantity: i + 1 })),
      );
    },
  );

  test(
    '3.4 The same order number arriving again from another delivery is refused and stock is taken only once',
    proves('3.4', '§2 idempotent redelivery and ORDER_ALREADY_EXISTS, §4 primary key, §9'),
    async ({ request }) => {
      const variant = await test.step('the store has 10 of a product in stock', () => stockedVariant(10));
      const orderId = randomOrderId();
      const order = buildShopifyOrder({ orderId, lines: [line(variant, 2)] });
      const firstWebhookId = randomUUID();
      const since = Date.now() - 1_000;
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
        expectOrderCommitted(orderId, firstWebhookId, [{ variant, quantity: 2 }]));
      await test.step('the warehouse was asked once a delivery: the retry and the second delivery named a cached variant, so only the commit knew the order', async () => {
        // docs/design.md, "The variant cache": the answers are the database's, and the WMS is asked each time.
        expect(await wmsRequestsFor(variant.sku)).toHaveLength(3);
      });
      await test.step('one event was published, and Shopify was lowered once', async () => {
        await expectInventoryEvents(orderId, firstWebhookId, [{ variant, quantity: 2 }], since);
        await expectShopifyLowered([{ variant, quantity: 2 }]);
        const [level] = await shopifyLevels(variant.inventoryItemId);
        expect(level!.history.map((h) => [h.cause, h.available])).toEqual([
          ['seed', 10],
          ['set', 8],
        ]);
      });
    },
  );

  test(
    '3.5 An order for a product the store does not carry is refused and nothing changes',
    proves('3.5', '§2 PRODUCT_NOT_FOUND, a rejected order changes nothing, §9'),
    async ({ request }) => {
      const missing = await test.step('a product and variant that are not in the inventory', async () => {
        const productId = unknownProductId();
        const variantId = unknownVariantId();
        expect(await readInventory(variantId)).toBeNull();
        return { productId, variantId, sku: `TEST-${variantId}` };
      });
      const orderId = randomOrderId();
      const since = Date.now() - 1_000;
      await test.step('Shopify delivers an order for it: 422 PRODUCT_NOT_FOUND names the product and its variant as sent', async () => {
        const response = await deliverOrder(request, buildShopifyOrder({ orderId, lines: [{ ...missing, quantity: 1 }] }));
        const problem = await expectRejected(response, 422, 'PRODUCT_NOT_FOUND');
        expect(problem.productIds).toEqual([String(missing.productId)]);
        expect(problem.variants).toEqual([
          { productId: String(missing.productId), variantId: String(missing.variantId), sku: missing.sku },
        ]);
        expect(problem.orderId).toBe(String(orderId));
      });
      await test.step('no order, no movement, no event, no call to the warehouse, and the variant still does not exist', async () => {
        await expectNothingChanged(orderId, [], since);
        expect(await wmsRequestsFor(missing.sku)).toEqual([]);
        expect(
          await shopifyCallsNaming([String(missing.variantId), String(missing.productId)]),
          'no Shopify call names the unknown variant',
        ).toEqual([]);
        expect(await readInventory(missing.variantId)).toBeNull();
      });
    },
  );

  test(
    '3.6 An order for two products, one of which the store does not carry, is refused and nothing changes',
    proves('3.6', '§2 PRODUCT_NOT_FOUND, a rejected order changes nothing, §9'),
    async ({ request }) => {
      const known = await test.step('the store has 10 of one product; the other product is unknown', () => stockedVariant(10));
      const missing = { productId: unknownProductId(), variantId: unknownVariantId() };
      const orderId = randomOrderId();
      const since = Date.now() - 1_000;
      await test.step('Shopify delivers the order: 422 PRODUCT_NOT_FOUND names only the unknown product', async () => {
        const response = await deliverOrder(request, buildShopifyOrder({ orderId, lines: [line(known, 1), { ...missing, quantity: 1 }] }));
        const problem = await expectRejected(response, 422, 'PRODUCT_NOT_FOUND');
        expect(problem.productIds).toEqual([String(missing.productId)]);
        expect(problem.variants).toEqual([
          { productId: String(missing.productId), variantId: String(missing.variantId), sku: `TEST-${missing.variantId}` },
        ]);
      });
      await test.step('no order, no movement, no event, no call to the warehouse or Shopify, and the known product keeps all 10', async () => {
        await expectNothingChanged(orderId, [known], since);
        await expectNoWmsCall([known]);
        expect(await wmsRequestsFor(`TEST-${missing.variantId}`), 'no WMS call for the unknown variant').toEqual([]);
      });
    },
  );

  test(
    '3.7 An order for two products, one without enough stock, is refused and nothing changes',
    proves('3.7', '§2 INSUFFICIENT_INVENTORY, a rejected order changes nothing, §9'),
    async ({ request }) => {
      const [plenty, scarce] = await test.step('the store has 10 of one product and only 2 of another', () =>
        Promise.all([stockedVariant(10), stockedVariant(2)]));
      const orderId = randomOrderId();
      const since = Date.now() - 1_000;
      await test.step('Shopify delivers an order for 1 and 3 of them: 422 INSUFFICIENT_INVENTORY says which variant is short', async () => {
        const response = await deliverOrder(request, buildShopifyOrder({ orderId, lines: [line(plenty!, 1), line(scarce!, 3)] }));
        const problem = await expectRejected(response, 422, 'INSUFFICIENT_INVENTORY');
        expect(problem.items).toEqual([{ variantId: String(scarce!.variantId), sku: scarce!.sku, requested: 3, available: 2 }]);
      });
      await test.step('no order, no movement, no event, no call to the warehouse or Shopify, and both products keep their stock', async () => {
        await expectNothingChanged(orderId, [plenty!, scarce!], since);
        await expectNoWmsCall([plenty!, scarce!]);
      });
    },
  );

  test(
    '3.8 One product in three sizes: each size is counted apart, at Shopify too',
    proves('3.8', '§1 stock per variant, §2.1 a demand is a variant, §4 movements, §5 events, §6 Shopify'),
    async ({ request }) => {
      const [small, medium, large] = await test.step('the store has a linen shirt in S, M and L, 10 of each', async () => {
        const productId = 8_000_000_000_000 + randomInt(1, 2 ** 40);
        return [
          await stockedVariant(10, { productId, title: 'Linen shirt, S' }),
          await stockedVariant(10, { productId, title: 'Linen shirt, M' }),
          await stockedVariant(10, { productId, title: 'Linen shirt, L' }),
        ];
      });
      await acceptedScenario(request, [
        { variant: small!, quantity: 2 },
        { variant: medium!, quantity: 1 },
      ]);
      await test.step('size L is untouched: still 10 in the database and at Shopify, no movement, nothing sent', async () => {
        expect((await readInventory(large!.variantId))!.availableQuantity).toBe(10);
        expect((await readMovements(large!.variantId)).map((m) => m.reason)).toEqual(['import']);
        expect(await shopifyAvailable(large!.inventoryItemId, large!.locationId)).toBe(10);
        expect(await shopifyRequests([large!.inventoryItemId])).toEqual([]);
        expect(await wmsRequestsFor(large!.sku)).toEqual([]);
      });
      await test.step('S and M are 8 and 9 in the database and at Shopify', async () => {
        expect((await readInventory(small!.variantId))!.availableQuantity).toBe(8);
        expect((await readInventory(medium!.variantId))!.availableQuantity).toBe(9);
        expect(await shopifyAvailable(small!.inventoryItemId, small!.locationId)).toBe(8);
        expect(await shopifyAvailable(medium!.inventoryItemId, medium!.locationId)).toBe(9);
      });
    },
  );

  test(
    "3.9 A cancelled order's units come back once, however often Shopify tells us",
    proves('3.9', '§2 event ids, §2.2 cancellations and refunds, §4 movements, §5 events, §6 Shopify never undone'),
    async ({ request }) => {
      const [shirt, mug] = await test.step('the store has 10 T-shirts and 6 mugs, and Shopify agrees', async () => [
        await stockedVariant(10, { title: 'Organic cotton T-shirt, M' }),
        await stockedVariant(6, { title: 'Enamel mug' }),
      ]);
      const ordered: Ordered = [
        { variant: shirt!, quantity: 2 },
        { variant: mug!, quantity: 1 },
      ];
      const orderId = randomOrderId();
      const order = buildShopifyOrder({ orderId, lines: ordered.map(({ variant, quantity }) => line(variant, quantity)) });
      const item = ({ variant, quantity }: Ordered[number]) => ({
        inventoryItemId: variant.inventoryItemId,
        locationId: variant.locationId,
        quantity,
      });
      const since = Date.now() - 1_000;

      await test.step(`a customer buys 2 T-shirts and a mug: Shopify takes them, then delivers order ${orderId}, and it is accepted`, async () => {
        await shopifyTakesOrder(ordered.map(item));
        await expectAccepted(await deliverOrder(request, order), orderId);
        await expect
          .poll(() => successMarkers(orderId).filter((m) => m.startsWith('order-stream-process')).length, { timeout: 30_000 })
          .toBe(2);
        expect((await readInventory(shirt!.variantId))!.availableQuantity).toBe(8);
        expect(await shopifyAvailable(shirt!.inventoryItemId, shirt!.locationId)).toBe(8);
      });

      const refund = buildRefund({
        orderId,
        lines: lineItemIds(order).map((lineItemId, i) => ({
          lineItemId,
          quantity: ordered[i]!.quantity,
          restockType: 'cancel',
          locationId: ordered[i]!.variant.locationId,
        })),
      });
      const restockedBody = {
        status: 'success',
        restocked: ordered
          .map(({ variant, quantity }) => ({ variantId: String(variant.variantId), quantity }))
          .sort((a, b) => Number(a.variantId) - Number(b.variantId)),
      };
      const cancelled = buildCancelledOrder(order, [refund]);
      const cancellation = { webhookId: randomUUID(), eventId: randomUUID() };

      await test.step('the merchant cancels the order with restock: Shopify puts the units back itself, then tells us', async () => {
        await shopifyRestocks(ordered.map(item));
        const response = await deliverRestock(request, 'orders/cancelled', cancelled, cancellation);
        expect(response.status()).toBe(200);
        expect(await response.json()).toEqual(restockedBody);
      });

      await test.step('Shopify retries that delivery: the first answer again, nothing more comes back', async () => {
        const response = await deliverRestock(request, 'orders/cancelled', cancelled, cancellation);
        expect(response.status()).toBe(200);
        expect(response.headers()['idempotent-replayed']).toBe('true');
        expect(await response.json()).toEqual(restockedBody);
      });

      await test.step('Shopify also sends the same refund lines as refunds/create: nothing more comes back', async () => {
        const response = await deliverRestock(request, 'refunds/create', refund, { webhookId: randomUUID(), eventId: randomUUID() });
        expect(response.status()).toBe(200);
        expect(await response.json()).toEqual({ status: 'success', restocked: [] });
      });

      await test.step('the stock is back exactly once: one cancel movement per line, the order cancelled, every line restocked', async () => {
        for (const [i, { variant, quantity }] of ordered.entries()) {
          expect((await readInventory(variant.variantId))!.availableQuantity, `stock of ${variant.sku}`).toBe(variant.availableQuantity);
          const movements = (await readMovements(variant.variantId)).map((m) => ({
            reason: m.reason,
            delta: m.delta,
            reference: m.reference,
          }));
          expect(movements, `movements of ${variant.sku}`).toEqual([
            { reason: 'import', delta: variant.availableQuantity, reference: 'test' },
            { reason: 'order', delta: -quantity, reference: String(orderId) },
            { reason: 'cancel', delta: quantity, reference: String(refund.refund_line_items[i]!.id) },
          ]);
        }
        expect((await readOrder(orderId))!.status).toBe('cancelled');
        expect((await readOrderDetails(orderId)).map((d) => d.restocked).sort()).toEqual(ordered.map(({ quantity }) => quantity).sort());
      });

      await test.step('one cancel event per variant on Kafka, marked as a change Shopify made itself', async () => {
        const events = (await eventsOfOrder(orderId, since)).filter((e) => e.value.reason === 'cancel');
        expect(events.map((e) => e.key).sort()).toEqual(ordered.map(({ variant }) => String(variant.variantId)).sort());
        for (const [i, { variant, quantity }] of ordered.entries()) {
          const event = events.find((e) => e.key === String(variant.variantId))!;
          expect(event.value).toMatchObject({
            reason: 'cancel',
            delta: quantity,
            reference: String(refund.refund_line_items[i]!.id),
            orderId: String(orderId),
            shopifyKnows: true,
          });
          expect(event.headers['x-correlation-id']).toBe(cancellation.webhookId);
        }
      });

      await test.step("Shopify equals the database at rest, and the system never raised it: the units came back once, by Shopify's own restock", async () => {
        await expect
          .poll(() => Promise.all(ordered.map(({ variant }) => shopifyAvailable(variant.inventoryItemId, variant.locationId))), {
            timeout: 30_000,
          })
          .toEqual(ordered.map(({ variant }) => variant.availableQuantity));
        await expect
          .poll(() => successMarkers(orderId).filter((m) => m === 'order-stream-process shopify.inventory.updated').length, {
            timeout: 30_000,
          })
          .toBe(4);
        for (const { variant, quantity } of ordered) {
          const [level] = await shopifyLevels(variant.inventoryItemId);
          expect(raisesBySystem(level!), `no raise of ${variant.sku} by the system`).toEqual([]);
          expect(
            level!.history.map((h) => [h.cause, h.available]),
            `${variant.sku} at Shopify`,
          ).toEqual([
            ['seed', variant.availableQuantity],
            ['order', variant.availableQuantity - quantity],
            ['restock', variant.availableQuantity],
          ]);
        }
        expect(successMarkers(orderId)).toContain('order-manage-api order.restocked');
      });
    },
  );
});

/**
 * docs/spec.md section 2.2 through the running stack: `orders/cancelled` and `refunds/create` put a
 * reserved line's units back once, keyed by the refund line item, however and however often Shopify
 * delivers them; everything else changes nothing and answers 200. Each test creates its own
 * variants and orders (random ids) and signs its own deliveries.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { createLogger } from '@oms/common';
import { createApp } from '../../services/order-manage-api/src/app.js';
import { createDataApiClient } from '../../services/order-manage-api/src/clients/data-api.js';
import { createRedis } from '../../services/order-manage-api/src/clients/redis.js';
import { createRestockClient } from '../../services/order-manage-api/src/clients/restocks.js';
import { createWmsHold } from '../../services/order-manage-api/src/clients/wms-hold.js';
import { createWmsClient } from '../../services/order-manage-api/src/clients/wms.js';
import {
  closeDb,
  createTestProduct,
  dbPool,
  readInventory,
  readOrder,
  readOrderDetails,
  readOutboxRows,
  type TestProduct,
} from '../support/db.js';
import { waitFor } from '../support/eventually.js';
import { readServiceLog } from '../support/logs.js';
import { buildShopifyOrder, lineOf, type OrderLine, randomOrderId } from '../support/orders.js';
import {
  buildCancelledOrder,
  buildRefund,
  deliver,
  lineItemIds,
  type RefundLineInput,
  type RestockTopic,
  TOPIC_PATHS,
  type WebhookTopic,
} from '../support/refunds.js';
import { shopifyHeaders, signBody } from '../support/sign.js';
import { stackEnv } from '../support/stack-env.js';
import { stubWmsInventory } from '../support/wiremock.js';
import { readMovements } from '../data-api/helpers.js';
import { closedPort } from './intake-harness.js';

const removers: Array<() => Promise<void>> = [];

after(async () => {
  await Promise.all(removers.splice(0).map((remove) => remove()));
  await closeDb();
});

/** A variant in our inventory that the WMS confirms. */
async function stocked(quantity: number): Promise<TestProduct> {
  const variant = await createTestProduct({ availableQuantity: quantity });
  removers.push(await stubWmsInventory(variant.sku, { availableQuantity: 1_000_000 }));
  return variant;
}

interface PlacedOrder {
  orderId: number;
  body: Record<string, unknown>;
  /** The order's line item ids, in line order. */
  lines: number[];
}

/** An order the system accepted (201). */
async function placeOrder(lines: OrderLine[], options: { locationId?: number } = {}): Promise<PlacedOrder> {
  const orderId = randomOrderId();
  const body = buildShopifyOrder({ orderId, lines, ...options });
  const res = await deliver('orders/create', body);
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return { orderId, body, lines: lineItemIds(body) };
}

const restockLine = (
  lineItemId: number,
  quantity: number,
  restockType: RefundLineInput['restockType'],
  variant?: TestProduct,
): RefundLineInput => ({
  lineItemId,
  quantity,
  restockType,
  locationId: variant?.locationId ?? null,
});

const back = (...items: Array<[TestProduct, number]>) => ({
  status: 'success',
  restocked: items.sort(([a], [b]) => a.variantId - b.variantId).map(([v, quantity]) => ({ variantId: String(v.variantId), quantity })),
});
const nothingBack = { status: 'success', restocked: [] };

const stockOf = async (v: TestProduct) => (await readInventory(v.variantId))!.availableQuantity;
const returnsOf = async (v: TestProduct) =>
  (await readMovements(v.variantId))
    .filter((m) => m.reason === 'cancel' || m.reason === 'return')
    .map((m) => [m.reason, m.delta, m.reference]);

async function cancelledAt(orderId: number): Promise<Date | null> {
  const { rows } = await dbPool().query<{ cancelled_at: Date | null }>('SELECT cancelled_at FROM orders WHERE order_id = $1', [
    String(orderId),
  ]);
  return rows[0]!.cancelled_at;
}

/** The api's log lines for an order with this event, once it has written one. */
async function apiLog(orderId: number, event: string) {
  return waitFor(`an ${event} line for order ${orderId}`, async () => {
    const found = readServiceLog('order-manage-api').filter((l) => String(l.orderId) === String(orderId) && l.event === event);
    return found.length > 0 ? found : undefined;
  });
}

describe('a restocked refund line puts its units back once', () => {
  it('a cancelled order puts each restocked line back: 200 naming what came back, one cancel movement per refund line, the order cancelled, one event Shopify already knows per movement, a SUCCESS line', async () => {
    const [shirt, mug] = [await stocked(10), await stocked(5)];
    const order = await placeOrder([lineOf(shirt, 2), lineOf(mug, 1)]);
    const refund = buildRefund({
      orderId: order.orderId,
      lines: [restockLine(order.lines[0]!, 2, 'cancel', shirt), restockLine(order.lines[1]!, 1, 'cancel', mug)],
    });
    const [shirtRefund, mugRefund] = refund.refund_line_items.map((l) => String(l.id));

    const res = await deliver('orders/cancelled', buildCancelledOrder(order.body, [refund]));

    assert.equal(res.status, 200);
    assert.deepEqual(res.json, back([shirt, 2], [mug, 1]));
    assert.equal(await stockOf(shirt), 10);
    assert.equal(await stockOf(mug), 5);
    assert.deepEqual(await returnsOf(shirt), [['cancel', 2, shirtRefund]]);
    assert.deepEqual(await returnsOf(mug), [['cancel', 1, mugRefund]]);
    const [shirtMovement] = (await readMovements(shirt.variantId)).filter((m) => m.reason === 'cancel');
    const [mugMovement] = (await readMovements(mug.variantId)).filter((m) => m.reason === 'cancel');
    assert.equal(shirtMovement!.idempotencyKey, `refund-line:${shirtRefund}`);
    assert.equal((await readOrder(order.orderId))!.status, 'cancelled');
    assert.ok(await cancelledAt(order.orderId), 'cancelled_at is set');
    assert.deepEqual(
      (await readOrderDetails(order.orderId)).map((d) => [d.reserved, d.restocked]),
      [
        [2, 2],
        [1, 1],
      ],
    );

    const events = (await readOutboxRows(order.orderId)).map((r) => r.payload).filter((p) => p.reason === 'cancel');
    const expected = [
      [shirtMovement!.id, String(shirt.variantId), 2, shirtRefund, String(order.orderId), true],
      [mugMovement!.id, String(mug.variantId), 1, mugRefund, String(order.orderId), true],
    ];
    assert.deepEqual(
      events.map((e) => [e.movementId, e.variantId, e.delta, e.reference, e.orderId, e.shopifyKnows]).sort(),
      expected.sort(),
      'one event per movement, which Shopify already knows',
    );

    const [success] = await apiLog(order.orderId, 'order.restocked');
    assert.equal(success!.msg, `SUCCESS order ${order.orderId} restocked: 3 unit(s) of 2 variant(s) back (orders/cancelled)`);
  });

  it('the same refund line items count once, whether they come through orders/cancelled, refunds/create, both, or again', async () => {
    for (const first of ['refunds/create', 'orders/cancelled'] as RestockTopic[]) {
      const variant = await stocked(10);
      const order = await placeOrder([lineOf(variant, 3)]);
      const refund = buildRefund({ orderId: order.orderId, lines: [restockLine(order.lines[0]!, 3, 'cancel', variant)] });
      const cancelled = buildCancelledOrder(order.body, [refund]);
      const bodyOf = (topic: WebhookTopic) => (topic === 'refunds/create' ? refund : cancelled);
      const second: RestockTopic = first === 'refunds/create' ? 'orders/cancelled' : 'refunds/create';

      assert.deepEqual((await deliver(first, bodyOf(first))).json, back([variant, 3]), `${first} first`);
      for (const topic of [second, first, second]) {
        const res = await deliver(topic, bodyOf(topic));
        assert.equal(res.status, 200);
        assert.deepEqual(res.json, nothingBack, `${topic} after ${first}`);
      }
      assert.equal(await stockOf(variant), 10, `${first} first: back once`);
      assert.deepEqual(await returnsOf(variant), [['cancel', 3, String(refund.refund_line_items[0]!.id)]]);
      assert.deepEqual(
        (await readOrderDetails(order.orderId)).map((d) => d.restocked),
        [3],
      );
      assert.equal((await readOrder(order.orderId))!.status, 'cancelled');
    }
  });

  it('the same refund delivered concurrently through both topics still counts once', async () => {
    const variant = await stocked(20);
    const order = await placeOrder([lineOf(variant, 4)]);
    const refund = buildRefund({ orderId: order.orderId, lines: [restockLine(order.lines[0]!, 4, 'cancel', variant)] });
    const cancelled = buildCancelledOrder(order.body, [refund]);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? deliver('refunds/create', refund) : deliver('orders/cancelled', cancelled))),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(8).fill(200),
    );
    assert.deepEqual(
      answers.filter((a) => (a.json.restocked as unknown[]).length > 0).map((a) => a.json),
      [back([variant, 4])],
    );
    assert.equal(await stockOf(variant), 20);
    assert.equal((await returnsOf(variant)).length, 1);
  });

  it('partial refunds add up to what the line reserved, never more; a refund does not cancel the order', async () => {
    const variant = await stocked(10);
    const order = await placeOrder([lineOf(variant, 3)]);
    const [line] = order.lines;
    const first = buildRefund({ orderId: order.orderId, lines: [restockLine(line!, 2, 'return', variant)] });
    const second = buildRefund({ orderId: order.orderId, lines: [restockLine(line!, 2, 'return', variant)] });
    const third = buildRefund({ orderId: order.orderId, lines: [restockLine(line!, 1, 'legacy_restock', variant)] });

    assert.deepEqual((await deliver('refunds/create', first)).json, back([variant, 2]));
    assert.deepEqual((await deliver('refunds/create', second)).json, back([variant, 1]), 'only the 1 unit still out comes back');
    assert.deepEqual((await deliver('refunds/create', third)).json, nothingBack, 'the line is whole again');

    assert.equal(await stockOf(variant), 10);
    assert.deepEqual(await returnsOf(variant), [
      ['return', 2, String(first.refund_line_items[0]!.id)],
      ['return', 1, String(second.refund_line_items[0]!.id)],
    ]);
    assert.deepEqual(
      (await readOrderDetails(order.orderId)).map((d) => [d.reserved, d.restocked]),
      [[3, 3]],
    );
    assert.equal((await readOrder(order.orderId))!.status, 'accepted');
  });
});

describe('what changes nothing, and is still answered 200', () => {
  it('no_restock, a tip line and a restock at another location put nothing back', async () => {
    const variant = await stocked(10);
    const body = buildShopifyOrder({
      orderId: randomOrderId(),
      lines: [lineOf(variant, 2), { productId: 8_000_000_000_009, quantity: 1, title: 'Tip', price: '5.00' }],
    });
    const tip = (body.line_items as Array<Record<string, unknown>>)[1]!;
    tip.product_id = null;
    tip.variant_id = null;
    assert.equal((await deliver('orders/create', body)).status, 201);
    const [stockLine, tipLine] = lineItemIds(body);
    const orderId = body.id;

    const refunds = [
      buildRefund({ orderId, lines: [restockLine(stockLine!, 2, 'no_restock')] }),
      buildRefund({ orderId, lines: [restockLine(tipLine!, 1, 'return')] }),
      buildRefund({ orderId, lines: [{ lineItemId: stockLine!, quantity: 2, restockType: 'return', locationId: variant.locationId + 1 }] }),
    ];
    for (const refund of refunds) {
      const res = await deliver('refunds/create', refund);
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, nothingBack);
    }
    assert.equal(await stockOf(variant), 8);
    assert.deepEqual(await returnsOf(variant), []);
    assert.deepEqual((await readOrderDetails(orderId)).map((d) => [d.reserved, d.restocked]).sort(), [
      [0, 0],
      [2, 0],
    ]);
  });

  it('a cancelled point-of-sale sale of another shop is cancelled, and puts nothing back at the warehouse', async () => {
    const variant = await stocked(10);
    const order = await placeOrder([lineOf(variant, 2)], { locationId: Number(stackEnv().SHOPIFY_LOCATION_ID) + 7 });
    const refund = buildRefund({ orderId: order.orderId, lines: [restockLine(order.lines[0]!, 2, 'cancel')] });
    const res = await deliver('orders/cancelled', buildCancelledOrder(order.body, [refund]));
    assert.deepEqual([res.status, res.json], [200, nothingBack]);
    assert.equal(await stockOf(variant), 10);
    assert.deepEqual(await returnsOf(variant), []);
    assert.equal((await readOrder(order.orderId))!.status, 'cancelled');
  });

  it('a cancellation or refund of an order the system never saw, or refused, restocks nothing, answers 200 and is logged', async () => {
    const variant = await stocked(2);
    const unknownId = randomOrderId();
    const unknown = await deliver(
      'refunds/create',
      buildRefund({ orderId: unknownId, lines: [{ lineItemId: 13_000_000_000_001, quantity: 1, restockType: 'cancel' }] }),
    );
    assert.deepEqual([unknown.status, unknown.json], [200, nothingBack]);
    const [unknownLog] = await apiLog(unknownId, 'order.restock.none');
    assert.equal(unknownLog!.orderStatus, 'unknown');

    const refusedId = randomOrderId();
    const refusedBody = buildShopifyOrder({ orderId: refusedId, lines: [lineOf(variant, 5)] });
    assert.equal((await deliver('orders/create', refusedBody)).status, 422);
    const refund = buildRefund({ orderId: refusedId, lines: [restockLine(lineItemIds(refusedBody)[0]!, 5, 'cancel', variant)] });
    const refused = await deliver('orders/cancelled', buildCancelledOrder(refusedBody, [refund]));
    assert.deepEqual([refused.status, refused.json], [200, nothingBack]);
    const [refusedLog] = await apiLog(refusedId, 'order.restock.none');
    assert.equal(refusedLog!.orderStatus, 'refused');
    assert.equal(await readOrder(refusedId), null, 'a refused order is not created by its cancellation');
    assert.equal(await stockOf(variant), 2);
    assert.deepEqual(await returnsOf(variant), []);
  });
});

describe('Shopify delivering one event twice (X-Shopify-Event-Id)', () => {
  it('an event handled before is answered as the first time and changes nothing, even with another body', async () => {
    const variant = await stocked(10);
    const order = await placeOrder([lineOf(variant, 3)]);
    const eventId = randomUUID();
    const first = buildRefund({ orderId: order.orderId, lines: [restockLine(order.lines[0]!, 1, 'return', variant)] });
    const other = buildRefund({ orderId: order.orderId, lines: [restockLine(order.lines[0]!, 2, 'return', variant)] });

    const answer = await deliver('refunds/create', first, { 'x-shopify-event-id': eventId });
    assert.deepEqual(answer.json, back([variant, 1]));
    assert.equal(answer.headers['idempotent-replayed'], undefined);
    for (const body of [first, other]) {
      const again = await deliver('refunds/create', body, { 'x-shopify-event-id': eventId });
      assert.deepEqual([again.status, again.json], [200, back([variant, 1])]);
      assert.equal(again.headers['idempotent-replayed'], 'true');
    }
    assert.equal(await stockOf(variant), 8);
    assert.deepEqual(
      (await returnsOf(variant)).map(([, delta]) => delta),
      [1],
    );
    const [replayed] = await apiLog(order.orderId, 'order.restock.replayed');
    assert.match(replayed!.msg, /handled before/);

    // A cancellation event twice: the second changes nothing, not even the order it found cancelled.
    const cancelEvent = randomUUID();
    const cancelled = buildCancelledOrder(order.body, [other]);
    assert.deepEqual((await deliver('orders/cancelled', cancelled, { 'x-shopify-event-id': cancelEvent })).json, back([variant, 2]));
    const again = await deliver('orders/cancelled', cancelled, { 'x-shopify-event-id': cancelEvent });
    assert.deepEqual([again.json, again.headers['idempotent-replayed']], [back([variant, 2]), 'true']);
    assert.equal(await stockOf(variant), 10);
    assert.equal((await readOrder(order.orderId))!.status, 'cancelled');
  });

  it('an empty X-Shopify-Event-Id names no event: deliveries without one are each handled', async () => {
    const variant = await stocked(10);
    const order = await placeOrder([lineOf(variant, 3)]);
    const answers = [];
    for (const quantity of [1, 1]) {
      const refund = buildRefund({ orderId: order.orderId, lines: [restockLine(order.lines[0]!, quantity, 'return', variant)] });
      answers.push((await deliver('refunds/create', refund, { 'x-shopify-event-id': '' })).json);
    }
    assert.deepEqual(answers, [back([variant, 1]), back([variant, 1])]);
    assert.equal(await stockOf(variant), 9);
  });
});

describe('refused before the restock: signature, size, topic, body', () => {
  const headersFor = (topic: WebhookTopic, raw: string, overrides: Partial<Record<string, string>> = {}) =>
    shopifyHeaders(raw, stackEnv().SHOPIFY_WEBHOOK_SECRET, { 'x-shopify-topic': topic, ...overrides });

  async function post(path: string, raw: string | Buffer, headers: Record<string, string>) {
    const res = await fetch(`${stackEnv().ORDER_API_URL}${path}`, {
      method: 'POST',
      headers,
      body: raw,
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), json: JSON.parse(text) as Record<string, unknown> };
  }

  it("a delivery whose X-Shopify-Topic is not its path's topic is 400 UNEXPECTED_TOPIC on every path, and changes nothing", async () => {
    const variant = await stocked(10);
    const order = await placeOrder([lineOf(variant, 2)]);
    const refund = buildRefund({ orderId: order.orderId, lines: [restockLine(order.lines[0]!, 2, 'cancel', variant)] });
    const newOrderId = randomOrderId();
    const cases: Array<[WebhookTopic, string, unknown]> = [
      ['refunds/create', 'orders/cancelled', refund],
      ['orders/cancelled', 'refunds/create', buildCancelledOrder(order.body, [refund])],
      ['orders/create', 'orders/cancelled', buildShopifyOrder({ orderId: newOrderId, lines: [lineOf(variant, 1)] })],
      ['refunds/create', 'orders/updated', refund],
    ];
    for (const [pathTopic, sentTopic, body] of cases) {
      const res = await deliver(pathTopic, body, { 'x-shopify-topic': sentTopic });
      assert.equal(res.status, 400, `${sentTopic} at ${pathTopic}'s path`);
      assert.deepEqual([res.json.code, res.json.expectedTopic, res.json.topic], ['UNEXPECTED_TOPIC', pathTopic, sentTopic]);
    }
    assert.equal(await stockOf(variant), 8);
    assert.deepEqual(await returnsOf(variant), []);
    assert.equal((await readOrder(order.orderId))!.status, 'accepted');
    assert.equal(await readOrder(newOrderId), null);
  });

  it('checks the HMAC before anything of the body or the topic: no or a wrong signature is 401 even for a body that is not JSON', async () => {
    for (const topic of ['orders/cancelled', 'refunds/create'] as const) {
      const path = TOPIC_PATHS[topic];
      const raw = '{"id": not json';
      const wrong = await post(
        path,
        raw,
        headersFor(topic, raw, { 'x-shopify-hmac-sha256': signBody(raw, 'not-the-secret'), 'x-shopify-topic': 'orders/create' }),
      );
      assert.deepEqual([wrong.status, wrong.json.code, wrong.type], [401, 'INVALID_SIGNATURE', 'application/problem+json; charset=utf-8']);
      const { 'x-shopify-hmac-sha256': _none, ...unsigned } = headersFor(topic, raw);
      assert.deepEqual([(await post(path, raw, unsigned)).status], [401]);
      const signed = await post(path, raw, headersFor(topic, raw));
      assert.deepEqual([signed.status, signed.json.code], [400, 'INVALID_PAYLOAD']);
    }
  });

  it('refuses a body over 1 MiB with 413, and a body it cannot act on with 400 naming each field', async () => {
    const big = JSON.stringify({ id: 1, order_id: 2, refund_line_items: [], note: 'x'.repeat(1024 * 1024) });
    const tooLarge = await post(TOPIC_PATHS['refunds/create'], big, headersFor('refunds/create', big));
    assert.deepEqual([tooLarge.status, tooLarge.json.code], [413, 'PAYLOAD_TOO_LARGE']);

    const orderId = randomOrderId();
    const invalid = await deliver('refunds/create', {
      id: 5,
      order_id: orderId,
      refund_line_items: [{ id: 0, line_item_id: 3, quantity: 1, restock_type: 'return' }],
    });
    assert.equal(invalid.status, 400);
    assert.deepEqual(
      [invalid.json.code, invalid.json.orderId, invalid.json.errors],
      ['INVALID_PAYLOAD', String(orderId), [{ path: 'refund_line_items[0].id', reason: 'id must be a positive integer below 2^63' }]],
    );

    const noWebhookId = await deliver('refunds/create', buildRefund({ orderId, lines: [] }), { 'x-shopify-webhook-id': '' });
    assert.deepEqual(
      [noWebhookId.status, noWebhookId.json.errors],
      [400, [{ path: 'headers.x-shopify-webhook-id', reason: 'is required' }]],
    );
  });

  it('answers 503 DATA_API_UNAVAILABLE with Retry-After when the data-api cannot be reached, for Shopify to deliver again', async () => {
    const logger = createLogger({ service: 'order-manage-api', level: 'error' });
    for (const transport of logger.transports) transport.silent = true;
    const redis = createRedis(stackEnv().REDIS_URL, logger);
    const dataApiUrl = `http://127.0.0.1:${await closedPort()}`;
    const options = { baseUrl: dataApiUrl, token: 'test-internal-token', timeoutMs: 2_000 };
    const app = createApp({
      logger,
      redis,
      webhookSecret: 'test-webhook-secret',
      warehouseLocationId: stackEnv().SHOPIFY_LOCATION_ID,
      dataApi: createDataApiClient(options),
      restocks: createRestockClient(options),
      wms: createWmsClient({ baseUrl: stackEnv().WMS_BASE_URL, apiKey: 'test-wms-key', timeoutMs: 2_000 }),
      wmsHold: createWmsHold({ redis, logger, ttlSeconds: 60, key: `test:wms:hold:${randomUUID()}` }),
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      for (const topic of ['orders/cancelled', 'refunds/create'] as const) {
        const body = topic === 'refunds/create' ? buildRefund({ orderId: 42, lines: [] }) : { id: 42, cancelled_at: null, refunds: [] };
        const raw = JSON.stringify(body);
        const res = await fetch(`http://127.0.0.1:${port}${TOPIC_PATHS[topic]}`, {
          method: 'POST',
          headers: shopifyHeaders(raw, 'test-webhook-secret', { 'x-shopify-topic': topic }),
          body: raw,
          signal: AbortSignal.timeout(20_000),
        });
        assert.equal(res.status, 503, topic);
        assert.equal(res.headers.get('retry-after'), '2');
        assert.deepEqual(((await res.json()) as Record<string, unknown>).code, 'DATA_API_UNAVAILABLE');
      }
    } finally {
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      });
      redis.disconnect();
    }
  });
});

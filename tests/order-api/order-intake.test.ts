import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { closeDb, countOutboxRows, createTestProduct, dbPool, readInventory, readOrder, readOrderDetails } from '../support/db.js';
import { waitFor } from '../support/eventually.js';
import { buildShopifyOrder, randomOrderId } from '../support/orders.js';
import { stubWmsInventory, wmsRequestsFor } from '../support/wiremock.js';
import { closedPort, type DataApiHandle, type IntakeHandle, startDataApi, startIntake, WMS_KEY_HEADER } from './intake-harness.js';

let dataApi: DataApiHandle;
let intake: IntakeHandle;
const stubs: Array<() => Promise<void>> = [];

before(async () => {
  dataApi = await startDataApi();
  intake = await startIntake({ dataApiUrl: dataApi.url });
});

after(async () => {
  await Promise.all(stubs.map((remove) => remove()));
  await intake.stop();
  await dataApi.stop();
  await closeDb();
});

/** A product in our inventory that the WMS also stocks. */
async function stockedProduct(db: number, wms: number = db) {
  const product = await createTestProduct({ availableQuantity: db, price: '24.90' });
  stubs.push(await stubWmsInventory(product.productId, { availableQuantity: wms }));
  return product;
}

const accepted = (orderId: number) => ({ status: 'success', message: 'Order received and processed', order_id: String(orderId) });

describe('order intake: accepted orders', () => {
  it('accepts a valid order: 201, order and detail rows, stock decremented, one outbox event, SUCCESS log line', async () => {
    const product = await stockedProduct(10);
    const orderId = randomOrderId();
    const webhookId = randomUUID();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [{ productId: product.productId, quantity: 2, price: '24.90' }] }), {
      'x-shopify-webhook-id': webhookId,
    });
    assert.equal(res.status, 201);
    assert.deepEqual(res.json, accepted(orderId));
    assert.equal(res.headers.get('idempotent-replayed'), null);
    assert.equal(res.headers.get('x-correlation-id'), webhookId);

    const order = await readOrder(orderId);
    assert.equal(order?.webhookId, webhookId);
    assert.equal(order?.totalPrice, '49.80');
    assert.deepEqual(
      (await readOrderDetails(orderId)).map((d) => [d.productId, d.quantity, d.price]),
      [[product.productId, 2, '24.90']],
    );
    assert.equal((await readInventory(product.productId))!.availableQuantity, 8);
    assert.equal(await countOutboxRows(orderId), 1);

    const success = intake.lines.find((l) => l.event === 'order.accepted' && l.orderId === String(orderId));
    assert.ok(success, 'an order.accepted line for the order');
    assert.match(success.msg, /^SUCCESS/);
    assert.equal(success.correlationId, webhookId);
    assert.ok(
      dataApi.lines.some((l) => l.event === 'order.committed' && l.correlationId === webhookId),
      'the data-api logged the commit under the same correlation id',
    );

    const wmsCalls = await wmsRequestsFor(product.productId);
    assert.equal(wmsCalls.length, 1);
    assert.equal(wmsCalls[0]!.headers.Authorization, WMS_KEY_HEADER);
  });

  it('accepts a guest checkout (customer null) with an empty sku', async () => {
    const product = await stockedProduct(3);
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, customer: null, lines: [{ productId: product.productId, quantity: 1, sku: '' }] }));
    assert.equal(res.status, 201);
    assert.equal((await readOrder(orderId))?.customerId, null);
    assert.equal((await readInventory(product.productId))!.availableQuantity, 2);
  });

  it('accepts a POS order with no customer and a custom line: the custom line is kept, never checked or reserved', async () => {
    const product = await stockedProduct(5);
    const orderId = randomOrderId();
    const body = buildShopifyOrder({
      orderId,
      customer: null,
      lines: [
        { productId: product.productId, quantity: 2 },
        { productId: 8_000_000_000_004, quantity: 1, title: 'Custom engraving', price: '7.50' },
      ],
    });
    const custom = (body.line_items as Array<Record<string, unknown>>)[1]!;
    custom.product_id = null;
    custom.variant_id = null;
    body.source_name = 'pos';

    const res = await intake.post(body);

    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal((await readOrder(orderId))?.customerId, null);
    assert.deepEqual(
      (await readOrderDetails(orderId)).map((d) => [d.productId, d.lineItemId, d.title, d.quantity]),
      [
        [product.productId, null, product.title, 2],
        [null, String(custom.id), 'Custom engraving', 1],
      ],
    );
    assert.equal((await readInventory(product.productId))!.availableQuantity, 3);
    assert.equal(await countOutboxRows(orderId), 1, 'one event, for the stocked product only');
    assert.equal((await wmsRequestsFor(8_000_000_000_004)).length, 0);
  });

  it('sums two line items of one product into one demand: one detail row, one WMS check', async () => {
    const product = await stockedProduct(10);
    const orderId = randomOrderId();
    const res = await intake.post(
      buildShopifyOrder({ orderId, lines: [{ productId: product.productId, quantity: 2 }, { productId: product.productId, quantity: 3 }] }),
    );
    assert.equal(res.status, 201);
    assert.deepEqual((await readOrderDetails(orderId)).map((d) => [d.productId, d.quantity]), [[product.productId, 5]]);
    assert.equal((await readInventory(product.productId))!.availableQuantity, 5);
    assert.equal((await wmsRequestsFor(product.productId)).length, 1);
  });
});

describe('order intake: redelivery and duplicates', () => {
  it('answers a redelivery (same webhook id) with the original 201 and Idempotent-Replayed, writing nothing twice', async () => {
    const product = await stockedProduct(10);
    const orderId = randomOrderId();
    const body = buildShopifyOrder({ orderId, lines: [{ productId: product.productId, quantity: 4 }] });
    const webhookId = randomUUID();
    const first = await intake.post(body, { 'x-shopify-webhook-id': webhookId });
    assert.equal(first.status, 201);

    const again = await intake.post(body, { 'x-shopify-webhook-id': webhookId });
    assert.equal(again.status, 201);
    assert.deepEqual(again.json, accepted(orderId));
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal((await readInventory(product.productId))!.availableQuantity, 6);
    assert.equal((await readOrderDetails(orderId)).length, 1);
    assert.equal(await countOutboxRows(orderId), 1);
    assert.equal((await wmsRequestsFor(product.productId)).length, 2, 'the replay asks the WMS again: the commit, not a lookup first, finds the order');
    assert.equal(intake.lines.filter((l) => l.event === 'order.accepted' && l.orderId === String(orderId)).length, 1);
  });

  it('refuses the same order id from another delivery with 409 ORDER_ALREADY_EXISTS', async () => {
    const product = await stockedProduct(10);
    const orderId = randomOrderId();
    const body = buildShopifyOrder({ orderId, lines: [{ productId: product.productId, quantity: 1 }] });
    assert.equal((await intake.post(body)).status, 201);
    const res = await intake.post(body);
    assert.equal(res.status, 409);
    assert.equal(res.json.code, 'ORDER_ALREADY_EXISTS');
    assert.equal(res.json.orderId, String(orderId));
    assert.equal((await readInventory(product.productId))!.availableQuantity, 9);
    assert.equal(await countOutboxRows(orderId), 1);
  });
});

describe('order intake: validation over HTTP', () => {
  const rules: Array<[string, (body: Record<string, unknown>) => void, string]> = [
    ['id not a positive integer', (b) => (b.id = -3), 'id'],
    ['no line items', (b) => (b.line_items = []), 'line_items'],
    ['quantity 0', (b) => ((b.line_items as Array<Record<string, unknown>>)[0]!.quantity = 0), 'line_items[0].quantity'],
    ['quantity 1.5', (b) => ((b.line_items as Array<Record<string, unknown>>)[0]!.quantity = 1.5), 'line_items[0].quantity'],
    ['product_id missing', (b) => delete (b.line_items as Array<Record<string, unknown>>)[0]!.product_id, 'line_items[0].product_id'],
  ];
  for (const [name, mutate, path] of rules) {
    it(`refuses an order with ${name}: 400 INVALID_PAYLOAD naming ${path}`, async () => {
      const body = buildShopifyOrder({ lines: [{ productId: 8_000_000_000_002, quantity: 1 }] });
      mutate(body);
      const res = await intake.post(body);
      assert.equal(res.status, 400);
      assert.equal(res.json.code, 'INVALID_PAYLOAD');
      assert.deepEqual((res.json.errors as Array<{ path: string }>).map((e) => e.path), [path]);
      const warning = intake.lines.find((l) => l.level === 'warn' && l.code === 'INVALID_PAYLOAD' && String(l.msg).includes(path));
      assert.ok(warning, 'a warn line with the code');
    });
  }
});

describe('order intake: delivery headers', () => {
  it('refuses a delivery without X-Shopify-Webhook-Id, which redelivery detection needs', async () => {
    const res = await intake.post(buildShopifyOrder({ lines: [{ productId: 8_000_000_000_002, quantity: 1 }] }), { 'x-shopify-webhook-id': '' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json.errors, [{ path: 'headers.x-shopify-webhook-id', reason: 'is required' }]);
  });

  it('refuses a delivery of another topic', async () => {
    const res = await intake.post(buildShopifyOrder({ lines: [{ productId: 8_000_000_000_002, quantity: 1 }] }), { 'x-shopify-topic': 'orders/updated' });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json.errors, [{ path: 'headers.x-shopify-topic', reason: 'must be orders/create' }]);
  });
});

describe('order intake: products and stock', () => {
  it('refuses products missing from inventory with 422 PRODUCT_NOT_FOUND listing them, as our inventory (not the WMS) finds them', async () => {
    const known = await stockedProduct(10);
    const unknownId = known.productId + 1;
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [{ productId: known.productId, quantity: 1 }, { productId: unknownId, quantity: 1 }] }));
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'PRODUCT_NOT_FOUND');
    assert.deepEqual(res.json.productIds, [String(unknownId)]);
    assert.equal(res.json.orderId, String(orderId));
    assert.equal(await readOrder(orderId), null);
    assert.equal(res.json.detail, `Product(s) ${unknownId} are not in inventory.`);
    assert.equal((await readInventory(known.productId))!.availableQuantity, 10);
  });

  it('refuses a product the WMS does not know (404) with 422 PRODUCT_NOT_FOUND', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    stubs.push(await stubWmsInventory(product.productId, { status: 404 }));
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [{ productId: product.productId, quantity: 1 }] }));
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'PRODUCT_NOT_FOUND');
    assert.deepEqual(res.json.productIds, [String(product.productId)]);
    assert.equal((await wmsRequestsFor(product.productId)).length, 1, '404 is an answer, not a failure: no retry');
    assert.equal(await readOrder(orderId), null);
  });

  it('refuses more than the database holds with 422 INSUFFICIENT_INVENTORY items[]', async () => {
    const product = await stockedProduct(2, 50);
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [{ productId: product.productId, quantity: 3 }] }));
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'INSUFFICIENT_INVENTORY');
    assert.deepEqual(res.json.items, [{ productId: String(product.productId), requested: 3, available: 2 }]);
    assert.equal((await readInventory(product.productId))!.availableQuantity, 2);
  });

  it('refuses more than the WMS holds with 422 INSUFFICIENT_INVENTORY giving the WMS figure', async () => {
    const plenty = await stockedProduct(50);
    const short = await stockedProduct(50, 1);
    const orderId = randomOrderId();
    const res = await intake.post(
      buildShopifyOrder({ orderId, lines: [{ productId: plenty.productId, quantity: 2 }, { productId: short.productId, quantity: 2 }] }),
    );
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'INSUFFICIENT_INVENTORY');
    assert.deepEqual(res.json.items, [{ productId: String(short.productId), requested: 2, available: 1 }]);
    assert.equal(await readOrder(orderId), null);
    assert.equal((await readInventory(plenty.productId))!.availableQuantity, 50);
    assert.equal(await countOutboxRows(orderId), 0);
  });

  it('sells the last 5 units exactly once across 20 concurrent orders', async () => {
    const product = await stockedProduct(5, 1_000);
    const orderIds = Array.from({ length: 20 }, () => randomOrderId());
    const results = await Promise.all(
      orderIds.map((orderId) => intake.post(buildShopifyOrder({ orderId, lines: [{ productId: product.productId, quantity: 1 }] }))),
    );
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 5, `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 422).length, 15, `statuses: ${statuses.join(',')}`);
    assert.ok(results.filter((r) => r.status === 422).every((r) => r.json.code === 'INSUFFICIENT_INVENTORY'));
    assert.equal((await readInventory(product.productId))!.availableQuantity, 0);
    const committed = await Promise.all(orderIds.map((id) => readOrder(id)));
    assert.equal(committed.filter(Boolean).length, 5);
  });
});

describe('order intake: permanent refusals stay permanent', () => {
  it('answers an order of 501 distinct products with 400 before asking anyone (both services hold 500 at most)', async () => {
    const orderId = randomOrderId();
    const lines = Array.from({ length: 501 }, (_, i) => ({ productId: 8_000_000_100_000 + i, quantity: 1 }));
    const res = await intake.post(buildShopifyOrder({ orderId, lines }));
    assert.equal(res.status, 400);
    assert.equal(res.json.code, 'INVALID_PAYLOAD');
    assert.deepEqual(res.json.errors, [{ path: 'line_items', reason: 'line_items must hold at most 500 lines' }]);
    assert.equal((await wmsRequestsFor(8_000_000_100_000)).length, 0);
  });

  it('passes a refusal of order-manage-data-api on as the same 4xx, never a 503 Shopify would retry for hours', async () => {
    const product = await stockedProduct(5);
    const orderId = randomOrderId();
    // The data-api keeps at most 255 characters of X-Shopify-Event-Id; the api leaves that rule to it.
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [{ productId: product.productId, quantity: 1 }] }), {
      'x-shopify-event-id': 'e'.repeat(300),
    });
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.equal(res.json.code, 'INVALID_PAYLOAD');
    assert.equal(res.json.orderId, String(orderId));
    assert.deepEqual((res.json.errors as Array<{ path: string }>).map((e) => e.path), ['order.eventId']);
    assert.equal(await readOrder(orderId), null);
    assert.equal((await readInventory(product.productId))!.availableQuantity, 5);
  });
});

describe('order intake: data-api unreachable or slow', () => {
  it('answers 503 when the commit outlasts DATA_API_TIMEOUT_MS, and the redelivery gets the replayed 201 once the commit landed', async () => {
    const product = await stockedProduct(10);
    const impatient = await startIntake({ dataApiUrl: dataApi.url, dataApiTimeoutMs: 300 });
    const locker = await dbPool().connect();
    try {
      // Another transaction holds the product's row, so the data-api's commit waits on its lock.
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM inventory WHERE product_id = $1 FOR UPDATE', [String(product.productId)]);
      const orderId = randomOrderId();
      const body = buildShopifyOrder({ orderId, lines: [{ productId: product.productId, quantity: 1 }] });
      const webhookId = randomUUID();
      const res = await impatient.post(body, { 'x-shopify-webhook-id': webhookId });
      assert.equal(res.status, 503);
      assert.equal(res.json.code, 'DATA_API_UNAVAILABLE');
      assert.equal(res.json.orderId, String(orderId));

      await locker.query('COMMIT');
      await waitFor('the commit to finish after the api stopped waiting', async () => (await readOrder(orderId)) ?? undefined, 5_000, 20);

      const redelivery = await impatient.post(body, { 'x-shopify-webhook-id': webhookId });
      assert.equal(redelivery.status, 201);
      assert.equal(redelivery.headers.get('idempotent-replayed'), 'true');
      assert.equal((await readInventory(product.productId))!.availableQuantity, 9);
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      locker.release();
      await impatient.stop();
    }
  });

  it('answers 503 DATA_API_UNAVAILABLE when order-manage-data-api cannot be reached', async () => {
    const offline = await startIntake({ dataApiUrl: `http://127.0.0.1:${await closedPort()}` });
    try {
      const orderId = randomOrderId();
      const res = await offline.post(buildShopifyOrder({ orderId, lines: [{ productId: 8_000_000_000_003, quantity: 1 }] }));
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(res.headers.get('retry-after'), '2');
      assert.equal(res.json.code, 'DATA_API_UNAVAILABLE');
      assert.equal(res.json.orderId, String(orderId));
    } finally {
      await offline.stop();
    }
  });
});

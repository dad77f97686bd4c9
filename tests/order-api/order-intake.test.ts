import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  closeDb,
  countOutboxRows,
  createTestProduct,
  dbPool,
  readInventory,
  readMovements,
  readOrder,
  readOrderDetails,
} from '../support/db.js';
import { waitFor } from '../support/eventually.js';
import { buildShopifyOrder, lineOf, randomOrderId } from '../support/orders.js';
import { stackEnv } from '../support/stack-env.js';
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

/** A variant in our inventory that the WMS also stocks (by its SKU); `productId` makes it another variant of that product. */
async function stockedProduct(db: number, wms: number = db, productId?: number) {
  const product = await createTestProduct({ availableQuantity: db, price: '24.90', productId });
  stubs.push(await stubWmsInventory(product.sku, { availableQuantity: wms }));
  return product;
}

const accepted = (orderId: number) => ({ status: 'success', message: 'Order received and processed', order_id: String(orderId) });

/** Where the warehouse's stock sits at Shopify: a point-of-sale order at any other location took none of it. */
const warehouseLocation = () => Number(stackEnv().SHOPIFY_LOCATION_ID);
const ANOTHER_SHOP = 65_432_100_001;

describe('order intake: accepted orders', () => {
  it('accepts a valid order: 201, order and detail rows, stock decremented, one outbox event, SUCCESS log line', async () => {
    const product = await stockedProduct(10);
    const orderId = randomOrderId();
    const webhookId = randomUUID();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(product, 2, { price: '24.90' })] }), {
      'x-shopify-webhook-id': webhookId,
    });
    assert.equal(res.status, 201);
    assert.deepEqual(res.json, accepted(orderId));
    assert.equal(res.headers.get('idempotent-replayed'), null);
    assert.equal(res.headers.get('x-correlation-id'), webhookId);

    const order = await readOrder(orderId);
    assert.equal(order?.webhookId, webhookId);
    assert.equal(order?.totalPrice, '49.80');
    assert.equal(order?.status, 'accepted');
    assert.deepEqual(
      (await readOrderDetails(orderId)).map((d) => [d.productId, d.variantId, d.sku, d.quantity, d.price, d.reserved]),
      [[product.productId, product.variantId, product.sku, 2, '24.90', 2]],
    );
    assert.equal((await readInventory(product.variantId))!.availableQuantity, 8);
    assert.deepEqual(
      (await readMovements(product.variantId)).map((m) => [m.reason, m.delta, m.reference]),
      [
        ['import', 10, 'test'],
        ['order', -2, String(orderId)],
      ],
    );
    assert.equal(await countOutboxRows(orderId), 1);

    const success = intake.lines.find((l) => l.event === 'order.accepted' && l.orderId === String(orderId));
    assert.ok(success, 'an order.accepted line for the order');
    assert.equal(success.msg, `SUCCESS order ${orderId} accepted: 1 line(s), 1 variant(s) reserved`);
    assert.equal(success.variants, 1);
    assert.equal(success.lines, 1);
    assert.equal(success.correlationId, webhookId);
    assert.ok(
      dataApi.lines.some((l) => l.event === 'order.committed' && l.correlationId === webhookId),
      'the data-api logged the commit under the same correlation id',
    );

    const wmsCalls = await wmsRequestsFor(product.sku);
    assert.equal(wmsCalls.length, 1);
    assert.equal(wmsCalls[0]!.headers.Authorization, WMS_KEY_HEADER);
  });

  it('accepts a guest checkout (customer null) with an empty sku', async () => {
    const product = await stockedProduct(3);
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, customer: null, lines: [lineOf(product, 1, { sku: '' })] }));
    assert.equal(res.status, 201);
    assert.equal((await readOrder(orderId))?.customerId, null);
    assert.equal((await readInventory(product.variantId))!.availableQuantity, 2);
    assert.equal(
      (await wmsRequestsFor(product.sku)).length,
      1,
      'the WMS is asked by the SKU the inventory holds, not the empty one of the line',
    );
  });

  it('accepts a POS order at the warehouse with no customer and a custom line: the custom line is kept, never checked or reserved', async () => {
    const product = await stockedProduct(5);
    const orderId = randomOrderId();
    const body = buildShopifyOrder({
      orderId,
      customer: null,
      locationId: warehouseLocation(),
      lines: [lineOf(product, 2), { productId: 8_000_000_000_004, quantity: 1, title: 'Custom engraving', price: '7.50' }],
    });
    const custom = (body.line_items as Array<Record<string, unknown>>)[1]!;
    custom.product_id = null;
    custom.variant_id = null;
    body.source_name = 'pos';

    const res = await intake.post(body);

    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal((await readOrder(orderId))?.customerId, null);
    const stocked = (body.line_items as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual(
      (await readOrderDetails(orderId)).map((d) => [d.lineItemId, d.productId, d.variantId, d.title, d.quantity, d.reserved]),
      [
        [String(stocked.id), product.productId, product.variantId, product.title, 2, 2],
        [String(custom.id), null, null, 'Custom engraving', 1, 0],
      ],
    );
    assert.equal((await readInventory(product.variantId))!.availableQuantity, 3);
    assert.equal(await countOutboxRows(orderId), 1, 'one event, for the stocked variant only');
    assert.equal((await wmsRequestsFor(String(custom.sku))).length, 0);
  });

  it('sums two line items of one variant into one demand: two detail rows, one movement, one event, one WMS check', async () => {
    const product = await stockedProduct(10);
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(product, 2), lineOf(product, 3)] }));
    assert.equal(res.status, 201);
    assert.deepEqual(
      (await readOrderDetails(orderId)).map((d) => [d.variantId, d.quantity, d.reserved]),
      [
        [product.variantId, 2, 2],
        [product.variantId, 3, 3],
      ],
    );
    assert.equal((await readInventory(product.variantId))!.availableQuantity, 5);
    assert.deepEqual(
      (await readMovements(product.variantId)).map((m) => [m.reason, m.delta]),
      [
        ['import', 10],
        ['order', -5],
      ],
    );
    assert.equal(await countOutboxRows(orderId), 1);
    assert.equal((await wmsRequestsFor(product.sku)).length, 1);
  });

  it('takes each size of one product from its own stock: three variants, three movements, three events, three WMS checks', async () => {
    const small = await stockedProduct(80);
    const medium = await stockedProduct(120, 120, small.productId);
    const large = await stockedProduct(90, 90, small.productId);
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(small, 1), lineOf(medium, 2), lineOf(large, 3)] }));
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const after = await Promise.all([small, medium, large].map(async (v) => (await readInventory(v.variantId))!.availableQuantity));
    assert.deepEqual(after, [79, 118, 87]);
    assert.equal(await countOutboxRows(orderId), 3);
    for (const v of [small, medium, large]) assert.equal((await wmsRequestsFor(v.sku)).length, 1, v.sku);
    const success = intake.lines.find((l) => l.event === 'order.accepted' && l.orderId === String(orderId));
    assert.equal(success?.msg, `SUCCESS order ${orderId} accepted: 3 line(s), 3 variant(s) reserved`);
  });

  it("finds the variant of a line with variant_id null (a deleted variant) by its SKU among its product's variants", async () => {
    const other = await stockedProduct(10);
    const wanted = await stockedProduct(10, 10, other.productId);
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [{ productId: wanted.productId, sku: wanted.sku, quantity: 2 }] }));
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.deepEqual(
      (await readOrderDetails(orderId)).map((d) => [d.variantId, d.sku, d.reserved]),
      [[wanted.variantId, wanted.sku, 2]],
    );
    assert.equal((await readInventory(wanted.variantId))!.availableQuantity, 8);
    assert.equal((await readInventory(other.variantId))!.availableQuantity, 10);
  });

  it('accepts and stores a point-of-sale order of another location, reserving nothing: no WMS call, no movement, no event', async () => {
    const product = await stockedProduct(5);
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, locationId: ANOTHER_SHOP, lines: [lineOf(product, 2)] }));
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.deepEqual(res.json, accepted(orderId));
    assert.equal((await readOrder(orderId))?.status, 'accepted');
    assert.deepEqual(
      (await readOrderDetails(orderId)).map((d) => [d.productId, d.variantId, d.sku, d.quantity, d.reserved]),
      [[product.productId, null, product.sku, 2, 0]],
    );
    assert.equal((await readInventory(product.variantId))!.availableQuantity, 5);
    assert.equal((await readMovements(product.variantId)).length, 1, 'the import only');
    assert.equal(await countOutboxRows(orderId), 0);
    assert.equal((await wmsRequestsFor(product.sku)).length, 0);
    const success = intake.lines.find((l) => l.event === 'order.accepted' && l.orderId === String(orderId));
    assert.equal(success?.msg, `SUCCESS order ${orderId} accepted: 1 line(s), 0 variant(s) reserved`);
  });

  it('keeps a line with requires_shipping false (a digital good) in the order without reserving or checking it', async () => {
    const shipped = await stockedProduct(5);
    const digital = await stockedProduct(5);
    const orderId = randomOrderId();
    const body = buildShopifyOrder({ orderId, lines: [lineOf(shipped, 1), lineOf(digital, 1)] });
    (body.line_items as Array<Record<string, unknown>>)[1]!.requires_shipping = false;
    const res = await intake.post(body);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.deepEqual(
      (await readOrderDetails(orderId)).map((d) => [d.sku, d.variantId, d.reserved]),
      [
        [shipped.sku, shipped.variantId, 1],
        [digital.sku, null, 0],
      ],
    );
    assert.equal((await readInventory(shipped.variantId))!.availableQuantity, 4);
    assert.equal((await readInventory(digital.variantId))!.availableQuantity, 5);
    assert.equal((await wmsRequestsFor(digital.sku)).length, 0);
    assert.equal(await countOutboxRows(orderId), 1);
  });
});

describe('order intake: redelivery and duplicates', () => {
  it('answers a redelivery (same webhook id) with the original 201 and Idempotent-Replayed, writing nothing twice', async () => {
    const product = await stockedProduct(10);
    const orderId = randomOrderId();
    const body = buildShopifyOrder({ orderId, lines: [lineOf(product, 4)] });
    const webhookId = randomUUID();
    const first = await intake.post(body, { 'x-shopify-webhook-id': webhookId });
    assert.equal(first.status, 201);

    const again = await intake.post(body, { 'x-shopify-webhook-id': webhookId });
    assert.equal(again.status, 201);
    assert.deepEqual(again.json, accepted(orderId));
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal((await readInventory(product.variantId))!.availableQuantity, 6);
    assert.equal((await readOrderDetails(orderId)).length, 1);
    assert.equal(await countOutboxRows(orderId), 1);
    assert.equal(
      (await wmsRequestsFor(product.sku)).length,
      2,
      'its variant is cached: the WMS is asked again, and the commit finds the order',
    );
    assert.equal(intake.lines.filter((l) => l.event === 'order.accepted' && l.orderId === String(orderId)).length, 1);
  });

  it('answers the same event (X-Shopify-Event-Id) delivered under another webhook id, as a second subscription does, with the replayed 201', async () => {
    const product = await stockedProduct(10);
    const orderId = randomOrderId();
    const body = buildShopifyOrder({ orderId, lines: [lineOf(product, 3)] });
    const eventId = randomUUID();
    assert.equal((await intake.post(body, { 'x-shopify-event-id': eventId })).status, 201);
    const again = await intake.post(body, { 'x-shopify-event-id': eventId });
    assert.equal(again.status, 201, JSON.stringify(again.json));
    assert.deepEqual(again.json, accepted(orderId));
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal((await readInventory(product.variantId))!.availableQuantity, 7);
    assert.equal(await countOutboxRows(orderId), 1);
  });

  it('does not take two deliveries with an empty X-Shopify-Event-Id for the same event: the second, under another webhook id, is 409', async () => {
    const product = await stockedProduct(10);
    const orderId = randomOrderId();
    const body = buildShopifyOrder({ orderId, lines: [lineOf(product, 1)] });
    assert.equal((await intake.post(body, { 'x-shopify-event-id': '' })).status, 201);
    assert.equal((await readOrder(orderId))?.eventId, null, 'an empty header is stored as no event id');
    const res = await intake.post(body, { 'x-shopify-event-id': '' });
    assert.equal(res.status, 409);
    assert.equal(res.json.code, 'ORDER_ALREADY_EXISTS');
    assert.equal((await readInventory(product.variantId))!.availableQuantity, 9);
  });

  it('refuses the same order id from another delivery (another webhook, another event) with 409 ORDER_ALREADY_EXISTS', async () => {
    const product = await stockedProduct(10);
    const orderId = randomOrderId();
    const body = buildShopifyOrder({ orderId, lines: [lineOf(product, 1)] });
    assert.equal((await intake.post(body)).status, 201);
    const res = await intake.post(body);
    assert.equal(res.status, 409);
    assert.equal(res.json.code, 'ORDER_ALREADY_EXISTS');
    assert.equal(res.json.orderId, String(orderId));
    assert.equal((await readInventory(product.variantId))!.availableQuantity, 9);
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
      assert.deepEqual(
        (res.json.errors as Array<{ path: string }>).map((e) => e.path),
        [path],
      );
      const warning = intake.lines.find((l) => l.level === 'warn' && l.code === 'INVALID_PAYLOAD' && String(l.msg).includes(path));
      assert.ok(warning, 'a warn line with the code');
    });
  }
});

describe('order intake: delivery headers', () => {
  it('refuses a delivery without X-Shopify-Webhook-Id, which redelivery detection needs', async () => {
    const res = await intake.post(buildShopifyOrder({ lines: [{ productId: 8_000_000_000_002, quantity: 1 }] }), {
      'x-shopify-webhook-id': '',
    });
    assert.equal(res.status, 400);
    assert.deepEqual(res.json.errors, [{ path: 'headers.x-shopify-webhook-id', reason: 'is required' }]);
  });

  it('refuses a delivery of another topic with 400 UNEXPECTED_TOPIC, naming the topic it takes and the one sent', async () => {
    const res = await intake.post(buildShopifyOrder({ lines: [{ productId: 8_000_000_000_002, quantity: 1 }] }), {
      'x-shopify-topic': 'orders/updated',
    });
    assert.equal(res.status, 400);
    assert.deepEqual([res.json.code, res.json.expectedTopic, res.json.topic], ['UNEXPECTED_TOPIC', 'orders/create', 'orders/updated']);
  });
});

describe('order intake: products and stock', () => {
  it('refuses variants missing from inventory with 422 PRODUCT_NOT_FOUND naming their products and each variant as sent, as our inventory (not the WMS) finds them', async () => {
    const known = await stockedProduct(10);
    const unknownProduct = known.productId + 1;
    const unknownVariant = known.variantId + 1;
    const orderId = randomOrderId();
    const res = await intake.post(
      buildShopifyOrder({
        orderId,
        lines: [
          lineOf(known, 1),
          { productId: known.productId, variantId: unknownVariant, sku: 'GONE-SIZE', quantity: 1 },
          { productId: unknownProduct, quantity: 1 },
        ],
      }),
    );
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'PRODUCT_NOT_FOUND');
    assert.deepEqual(res.json.productIds, [String(known.productId), String(unknownProduct)]);
    assert.deepEqual(res.json.variants, [
      { productId: String(known.productId), variantId: String(unknownVariant), sku: 'GONE-SIZE' },
      { productId: String(unknownProduct), variantId: null, sku: `TEST-${unknownProduct}` },
    ]);
    assert.equal(res.json.orderId, String(orderId));
    assert.equal(
      res.json.detail,
      `Variant(s) ${unknownVariant} (GONE-SIZE) of product ${known.productId}, no variant (TEST-${unknownProduct}) of product ${unknownProduct} are not in inventory.`,
    );
    assert.equal(await readOrder(orderId), null);
    assert.equal((await readInventory(known.variantId))!.availableQuantity, 10);
    assert.equal((await wmsRequestsFor(known.sku)).length, 0);
  });

  it("refuses a line with variant_id null whose SKU is another product's variant with 422 PRODUCT_NOT_FOUND", async () => {
    const elsewhere = await stockedProduct(10);
    const productId = elsewhere.productId + 1;
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [{ productId, sku: elsewhere.sku, quantity: 1 }] }));
    assert.equal(res.status, 422);
    assert.deepEqual(res.json.variants, [{ productId: String(productId), variantId: null, sku: elsewhere.sku }]);
    assert.equal((await readInventory(elsewhere.variantId))!.availableQuantity, 10);
  });

  it('refuses a variant the WMS does not know (404) with 422 PRODUCT_NOT_FOUND', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    stubs.push(await stubWmsInventory(product.sku, { status: 404 }));
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(product, 1)] }));
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'PRODUCT_NOT_FOUND');
    assert.deepEqual(res.json.productIds, [String(product.productId)]);
    assert.deepEqual(res.json.variants, [{ productId: String(product.productId), variantId: String(product.variantId), sku: product.sku }]);
    assert.equal(
      res.json.detail,
      `Variant(s) ${product.variantId} (${product.sku}) of product ${product.productId} are not known to the WMS.`,
    );
    assert.equal((await wmsRequestsFor(product.sku)).length, 1, '404 is an answer, not a failure: no retry');
    assert.equal(await readOrder(orderId), null);
  });

  it('refuses more than the database holds with 422 INSUFFICIENT_INVENTORY items[] by variant, with the SKU the inventory holds', async () => {
    const product = await stockedProduct(2, 50);
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(product, 3, { sku: 'OLD-SKU' })] }));
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'INSUFFICIENT_INVENTORY');
    assert.deepEqual(res.json.items, [{ variantId: String(product.variantId), sku: product.sku, requested: 3, available: 2 }]);
    assert.equal((await readInventory(product.variantId))!.availableQuantity, 2);
    assert.equal((await wmsRequestsFor(product.sku)).length, 0, 'our own stock refuses before the WMS is asked');
  });

  it('refuses two lines of one variant whose sum is more than the database holds, though each alone would fit', async () => {
    const product = await stockedProduct(4, 50);
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(product, 2), lineOf(product, 3)] }));
    assert.equal(res.status, 422);
    assert.deepEqual(res.json.items, [{ variantId: String(product.variantId), sku: product.sku, requested: 5, available: 4 }]);
    assert.equal(await readOrder(orderId), null);
  });

  it('refuses more than the WMS holds with 422 INSUFFICIENT_INVENTORY giving the WMS figure', async () => {
    const plenty = await stockedProduct(50);
    const short = await stockedProduct(50, 1);
    const orderId = randomOrderId();
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(plenty, 2), lineOf(short, 2)] }));
    assert.equal(res.status, 422);
    assert.equal(res.json.code, 'INSUFFICIENT_INVENTORY');
    assert.deepEqual(res.json.items, [{ variantId: String(short.variantId), sku: short.sku, requested: 2, available: 1 }]);
    assert.equal(await readOrder(orderId), null);
    assert.equal((await readInventory(plenty.variantId))!.availableQuantity, 50);
    assert.equal(await countOutboxRows(orderId), 0);
  });

  it('sells the last 5 units exactly once across 20 concurrent orders', async () => {
    const product = await stockedProduct(5, 1_000);
    const orderIds = Array.from({ length: 20 }, () => randomOrderId());
    const results = await Promise.all(orderIds.map((orderId) => intake.post(buildShopifyOrder({ orderId, lines: [lineOf(product, 1)] }))));
    const statuses = results.map((r) => r.status);
    assert.equal(statuses.filter((s) => s === 201).length, 5, `statuses: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 422).length, 15, `statuses: ${statuses.join(',')}`);
    assert.ok(results.filter((r) => r.status === 422).every((r) => r.json.code === 'INSUFFICIENT_INVENTORY'));
    assert.equal((await readInventory(product.variantId))!.availableQuantity, 0);
    const committed = await Promise.all(orderIds.map((id) => readOrder(id)));
    assert.equal(committed.filter(Boolean).length, 5);
  });
});

describe('order intake: permanent refusals stay permanent', () => {
  it('answers an order of 501 distinct variants with 400 before asking anyone (both services hold 500 at most)', async () => {
    const orderId = randomOrderId();
    const lines = Array.from({ length: 501 }, (_, i) => ({ productId: 8_000_000_100_000 + i, quantity: 1 }));
    const res = await intake.post(buildShopifyOrder({ orderId, lines }));
    assert.equal(res.status, 400);
    assert.equal(res.json.code, 'INVALID_PAYLOAD');
    assert.deepEqual(res.json.errors, [{ path: 'line_items', reason: 'line_items must hold at most 500 lines' }]);
    assert.equal((await wmsRequestsFor('TEST-8000000100000')).length, 0);
  });

  it('passes a refusal of order-manage-data-api on as the same 4xx, never a 503 Shopify would retry for hours', async () => {
    const product = await stockedProduct(5);
    const orderId = randomOrderId();
    // The data-api keeps at most 255 characters of X-Shopify-Event-Id; the api leaves that rule to it.
    const res = await intake.post(buildShopifyOrder({ orderId, lines: [lineOf(product, 1)] }), {
      'x-shopify-event-id': 'e'.repeat(300),
    });
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.equal(res.json.code, 'INVALID_PAYLOAD');
    assert.equal(res.json.orderId, String(orderId));
    assert.deepEqual(
      (res.json.errors as Array<{ path: string }>).map((e) => e.path),
      ['order.eventId'],
    );
    assert.equal(await readOrder(orderId), null);
    assert.equal((await readInventory(product.variantId))!.availableQuantity, 5);
  });
});

describe('order intake: data-api unreachable or slow', () => {
  it('answers 503 when the commit outlasts DATA_API_TIMEOUT_MS, and the redelivery gets the replayed 201 once the commit landed', async () => {
    const product = await stockedProduct(10);
    const impatient = await startIntake({ dataApiUrl: dataApi.url, dataApiTimeoutMs: 300 });
    const locker = await dbPool().connect();
    try {
      // Another transaction holds the variant's row, so the data-api's commit waits on its lock.
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM inventory WHERE variant_id = $1 FOR UPDATE', [String(product.variantId)]);
      const orderId = randomOrderId();
      const body = buildShopifyOrder({ orderId, lines: [lineOf(product, 1)] });
      const webhookId = randomUUID();
      const res = await impatient.post(body, { 'x-shopify-webhook-id': webhookId });
      assert.equal(res.status, 503);
      assert.equal(res.json.code, 'DATA_API_UNAVAILABLE');
      assert.equal(res.headers.get('retry-after'), '2');
      assert.equal(res.json.orderId, String(orderId));

      await locker.query('COMMIT');
      await waitFor('the commit to finish after the api stopped waiting', async () => (await readOrder(orderId)) ?? undefined, 5_000, 20);

      const redelivery = await impatient.post(body, { 'x-shopify-webhook-id': webhookId });
      assert.equal(redelivery.status, 201);
      assert.equal(redelivery.headers.get('idempotent-replayed'), 'true');
      assert.equal((await readInventory(product.variantId))!.availableQuantity, 9);
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

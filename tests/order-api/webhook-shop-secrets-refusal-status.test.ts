import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { closeDb, createTestProduct, dbPool, readInventory, readOrder, type TestProduct } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { buildShopifyOrder, lineOf } from '../support/orders.js';
import { buildRefund, lineItemIds, REFUNDS_PATH, CANCELLED_PATH, buildCancelledOrder } from '../support/refunds.js';
import { signBody } from '../support/sign.js';
import { stubWmsInventory } from '../support/wiremock.js';
import { type DataApiHandle, type IntakeHandle, startDataApi, startIntake, WEBHOOK_SECRET } from './intake-harness.js';

/**
 * docs/spec.md sections 2, 2.1 and 12 through the stack's PostgreSQL, Redis and WireMock, with an api
 * in-process for each configuration: SHOPIFY_SHOP_DOMAIN (401 UNKNOWN_SHOP on all three webhook
 * paths, after the signature), two webhook secrets during a rotation, and WEBHOOK_REFUSAL_STATUS
 * in both modes.
 */

const SHOP = 'demo-merchant.myshopify.com';
const OTHER_SHOP = 'another-merchant.myshopify.com';
const NEW_SECRET = 'rotated-in-webhook-secret';
const OLD_SECRET = 'rotated-out-webhook-secret';

let dataApi: DataApiHandle;
/** WEBHOOK_REFUSAL_STATUS unset (4xx), any shop, one secret, with the ledger. */
let plain: IntakeHandle;
/** SHOPIFY_SHOP_DOMAIN set. */
let oneShop: IntakeHandle;
/** SHOPIFY_WEBHOOK_SECRET=NEW_SECRET,OLD_SECRET. */
let rotating: IntakeHandle;
/** WEBHOOK_REFUSAL_STATUS=200, SHOPIFY_SHOP_DOMAIN set, with the ledger. */
let answers200: IntakeHandle;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  dataApi = await startDataApi();
  plain = await startIntake({ dataApiUrl: dataApi.url, ledger: true });
  oneShop = await startIntake({ dataApiUrl: dataApi.url, shopDomain: SHOP });
  rotating = await startIntake({ dataApiUrl: dataApi.url, webhookSecrets: [NEW_SECRET, OLD_SECRET] });
  answers200 = await startIntake({ dataApiUrl: dataApi.url, refusalStatus: '200', shopDomain: SHOP, ledger: true });
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  for (const intake of [plain, oneShop, rotating, answers200]) await intake?.stop();
  await dataApi?.stop();
  await closeDb();
});

/** A variant the database and the WMS both hold `quantity` of. */
async function stocked(quantity: number): Promise<TestProduct> {
  const variant = await createTestProduct({ availableQuantity: quantity });
  cleanups.push(await stubWmsInventory(variant.sku, { availableQuantity: quantity }));
  return variant;
}

async function ledgerRows(orderId: number) {
  const { rows } = await dbPool().query(`SELECT code, status, webhook_id, deliveries FROM order_rejection WHERE order_id = $1`, [
    String(orderId),
  ]);
  return rows as Array<{ code: string; status: number; webhook_id: string; deliveries: number }>;
}

const raw = (body: unknown) => JSON.stringify(body);

describe('SHOPIFY_SHOP_DOMAIN: deliveries of one shop only', () => {
  it('answers a signed orders/create from another shop 401 UNKNOWN_SHOP and stores nothing, and the configured shop’s 201', async () => {
    const variant = await stocked(10);
    const order = buildShopifyOrder({ lines: [lineOf(variant, 2)] });

    const foreign = await oneShop.post(order, { 'x-shopify-shop-domain': OTHER_SHOP });
    assert.equal(foreign.status, 401);
    assert.equal(foreign.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(foreign.json.code, 'UNKNOWN_SHOP');
    assert.equal(foreign.json.detail, `The delivery comes from shop ${OTHER_SHOP}, which is not the shop this system serves.`);
    const unnamed = await oneShop.post(order, { 'x-shopify-shop-domain': '' });
    assert.equal(unnamed.status, 401);
    assert.equal(unnamed.json.code, 'UNKNOWN_SHOP');
    assert.equal(await readOrder(order.id), null);
    assert.equal((await readInventory(variant.variantId))!.availableQuantity, 10);

    const own = await oneShop.post(order, { 'x-shopify-shop-domain': SHOP });
    assert.equal(own.status, 201, JSON.stringify(own.json));
    assert.equal((await readInventory(variant.variantId))!.availableQuantity, 8);
  });

  it('answers a bad signature from another shop 401 INVALID_SIGNATURE: the signature is checked first', async () => {
    const order = buildShopifyOrder({ lines: [{ productId: 8_000_000_000_001, quantity: 1 }] });
    const answer = await oneShop.post(order, {
      'x-shopify-shop-domain': OTHER_SHOP,
      'x-shopify-hmac-sha256': signBody(raw(order), 'not-the-webhook-secret'),
    });
    assert.equal(answer.status, 401);
    assert.equal(answer.json.code, 'INVALID_SIGNATURE');
  });

  it('answers orders/cancelled and refunds/create from another shop 401 UNKNOWN_SHOP and puts nothing back', async () => {
    const variant = await stocked(10);
    const order = buildShopifyOrder({ lines: [lineOf(variant, 3)] });
    assert.equal((await oneShop.post(order, { 'x-shopify-shop-domain': SHOP })).status, 201);
    const [lineItemId] = lineItemIds(order);
    const refund = buildRefund({ orderId: order.id, lines: [{ lineItemId: lineItemId!, quantity: 1, restockType: 'return' }] });
    const cancelled = buildCancelledOrder(order, [
      buildRefund({ orderId: order.id, lines: [{ lineItemId: lineItemId!, quantity: 2, restockType: 'cancel' }] }),
    ]);

    const refused = [
      await oneShop.post(refund, { 'x-shopify-topic': 'refunds/create', 'x-shopify-shop-domain': OTHER_SHOP }, REFUNDS_PATH),
      await oneShop.post(cancelled, { 'x-shopify-topic': 'orders/cancelled', 'x-shopify-shop-domain': OTHER_SHOP }, CANCELLED_PATH),
    ];
    for (const answer of refused) {
      assert.equal(answer.status, 401);
      assert.equal(answer.json.code, 'UNKNOWN_SHOP');
    }
    assert.equal((await readInventory(variant.variantId))!.availableQuantity, 7);
    assert.equal((await readOrder(order.id))!.status, 'accepted');

    const own = await oneShop.post(refund, { 'x-shopify-topic': 'refunds/create', 'x-shopify-shop-domain': SHOP }, REFUNDS_PATH);
    assert.equal(own.status, 200, JSON.stringify(own.json));
    assert.deepEqual(own.json.restocked, [{ variantId: String(variant.variantId), quantity: 1 }]);
  });

  it('takes any shop’s delivery when SHOPIFY_SHOP_DOMAIN is unset', async () => {
    const variant = await stocked(5);
    const answer = await plain.post(buildShopifyOrder({ lines: [lineOf(variant, 1)] }), { 'x-shopify-shop-domain': OTHER_SHOP });
    assert.equal(answer.status, 201, JSON.stringify(answer.json));
  });
});

describe('SHOPIFY_WEBHOOK_SECRET with two secrets during a rotation', () => {
  it('accepts a delivery signed with the second secret, and one signed with the first', async () => {
    const variant = await stocked(10);
    for (const secret of [OLD_SECRET, NEW_SECRET]) {
      const order = buildShopifyOrder({ lines: [lineOf(variant, 1)] });
      const answer = await rotating.post(order, { 'x-shopify-hmac-sha256': signBody(raw(order), secret) });
      assert.equal(
        answer.status,
        201,
        `signed with the ${secret === OLD_SECRET ? 'second' : 'first'} secret: ${JSON.stringify(answer.json)}`,
      );
    }
    assert.equal((await readInventory(variant.variantId))!.availableQuantity, 8);
  });

  it('refuses a delivery signed with neither secret 401 INVALID_SIGNATURE and stores nothing', async () => {
    const variant = await stocked(10);
    const order = buildShopifyOrder({ lines: [lineOf(variant, 1)] });
    for (const secret of [WEBHOOK_SECRET, `${NEW_SECRET},${OLD_SECRET}`]) {
      const answer = await rotating.post(order, { 'x-shopify-hmac-sha256': signBody(raw(order), secret) });
      assert.equal(answer.status, 401);
      assert.equal(answer.json.code, 'INVALID_SIGNATURE');
    }
    assert.equal(await readOrder(order.id), null);
    assert.equal((await readInventory(variant.variantId))!.availableQuantity, 10);
  });
});

const openapi = parseYaml(readFileSync(path.join(import.meta.dirname, '../../contracts/openapi.yaml'), 'utf8')) as {
  paths: Record<
    string,
    { post: { responses: Record<string, { headers?: Record<string, unknown>; content: Record<string, { schema: unknown }> }> } }
  >;
  components: { schemas: Record<string, unknown> };
};

/** openapi.yaml's schema of orders/create's 200 refusal, its component refs as $defs. */
function refusalAt200Schema() {
  const asJsonSchema = (node: unknown): unknown =>
    Array.isArray(node)
      ? node.map(asJsonSchema)
      : node && typeof node === 'object'
        ? Object.fromEntries(
            Object.entries(node).map(([k, v]) => [
              k,
              k === '$ref' ? String(v).replace('#/components/schemas/', '#/$defs/') : asJsonSchema(v),
            ]),
          )
        : node;
  const response = openapi.paths['/api/shopify/webhooks/orders']!.post.responses['200']!;
  assert.ok(response.headers?.['X-Order-Refused'], 'openapi.yaml documents X-Order-Refused');
  const schema = asJsonSchema(response.content['application/problem+json']!.schema) as object;
  return new Ajv2020({ strict: false }).compile({ $defs: asJsonSchema(openapi.components.schemas), ...schema });
}

describe('WEBHOOK_REFUSAL_STATUS', () => {
  it('4xx (the default): a short order is answered 422 INSUFFICIENT_INVENTORY without X-Order-Refused, and recorded', async () => {
    const variant = await stocked(1);
    const order = buildShopifyOrder({ lines: [lineOf(variant, 3)] });
    const webhookId = randomUUID();
    const answer = await plain.post(order, { 'x-shopify-webhook-id': webhookId });
    assert.equal(answer.status, 422);
    assert.equal(answer.json.code, 'INSUFFICIENT_INVENTORY');
    assert.equal(answer.headers.get('x-order-refused'), null);
    await eventually(async () =>
      assert.deepEqual(await ledgerRows(order.id), [{ code: 'INSUFFICIENT_INVENTORY', status: 422, webhook_id: webhookId, deliveries: 1 }]),
    );
  });

  it('200: a short order is answered 200 with the 422 problem body, X-Order-Refused: INSUFFICIENT_INVENTORY and its ledger row, and changes nothing', async () => {
    const variant = await stocked(1);
    const order = buildShopifyOrder({ lines: [lineOf(variant, 3)] });
    const in4xxMode = await oneShop.post(order);
    assert.equal(in4xxMode.status, 422);

    const webhookId = randomUUID();
    const answer = await answers200.post(order, { 'x-shopify-webhook-id': webhookId });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get('x-order-refused'), 'INSUFFICIENT_INVENTORY');
    assert.equal(answer.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.deepEqual(answer.json, in4xxMode.json, 'the same problem body as in 4xx mode');
    assert.equal(answer.json.status, 422);
    assert.deepEqual(answer.json.items, [{ variantId: String(variant.variantId), sku: variant.sku, requested: 3, available: 1 }]);
    const validate = refusalAt200Schema();
    assert.ok(validate(answer.json), JSON.stringify(validate.errors));

    await eventually(async () =>
      assert.deepEqual(await ledgerRows(order.id), [{ code: 'INSUFFICIENT_INVENTORY', status: 422, webhook_id: webhookId, deliveries: 1 }]),
    );
    assert.equal(await readOrder(order.id), null);
    assert.equal((await readInventory(variant.variantId))!.availableQuantity, 1);
  });

  it('200: a 409 ORDER_ALREADY_EXISTS and a 400 INVALID_PAYLOAD with a readable order id are answered 200 with X-Order-Refused', async () => {
    const variant = await stocked(10);
    const order = buildShopifyOrder({ lines: [lineOf(variant, 1)] });
    assert.equal((await answers200.post(order)).status, 201);
    const again = await answers200.post(order);
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('x-order-refused'), 'ORDER_ALREADY_EXISTS');
    assert.equal(again.json.status, 409);
    assert.equal(again.json.orderId, String(order.id));

    const invalid = buildShopifyOrder({ lines: [lineOf(variant, 0)] });
    const refused = await answers200.post(invalid);
    assert.equal(refused.status, 200);
    assert.equal(refused.headers.get('x-order-refused'), 'INVALID_PAYLOAD');
    assert.equal(refused.json.status, 400);
    assert.equal(refused.json.orderId, String(invalid.id));
    assert.equal((await readInventory(variant.variantId))!.availableQuantity, 9);
    await eventually(async () =>
      assert.deepEqual(
        (await ledgerRows(invalid.id)).map((r) => [r.code, r.status]),
        [['INVALID_PAYLOAD', 400]],
      ),
    );
  });

  it('200: a 503 WMS_UNAVAILABLE stays a 503 with Retry-After and is not recorded', async () => {
    const variant = await createTestProduct({ availableQuantity: 10 });
    cleanups.push(await stubWmsInventory(variant.sku, { status: 500 }));
    const order = buildShopifyOrder({ lines: [lineOf(variant, 1)] });
    const answer = await answers200.post(order);
    assert.equal(answer.status, 503);
    assert.equal(answer.json.code, 'WMS_UNAVAILABLE');
    assert.match(answer.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(answer.headers.get('x-order-refused'), null);
    await answers200.drainLedger();
    assert.deepEqual(await ledgerRows(order.id), []);
  });

  it('200: 401 INVALID_SIGNATURE, 401 UNKNOWN_SHOP, 413 and a 400 without an order id keep their status', async () => {
    const order = buildShopifyOrder({ lines: [{ productId: 8_000_000_000_001, quantity: 1 }] });
    const cases: Array<[number, string, Awaited<ReturnType<IntakeHandle['post']>>]> = [
      [401, 'INVALID_SIGNATURE', await answers200.post(order, { 'x-shopify-hmac-sha256': signBody(raw(order), 'not-the-webhook-secret') })],
      [401, 'UNKNOWN_SHOP', await answers200.post(order, { 'x-shopify-shop-domain': OTHER_SHOP })],
      [413, 'PAYLOAD_TOO_LARGE', await answers200.post({ ...order, note: 'x'.repeat(1024 * 1024) })],
      [400, 'INVALID_PAYLOAD', await answers200.post('{"id": 1, not json')],
    ];
    for (const [status, code, answer] of cases) {
      assert.equal(answer.status, status, code);
      assert.equal(answer.json.code, code);
      assert.equal(answer.headers.get('x-order-refused'), null, code);
    }
  });
});

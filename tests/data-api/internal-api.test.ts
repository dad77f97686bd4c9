import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeDb, countOutboxRows, createTestProduct, dbPool, randomOrderId } from '../support/db.js';
import { uniqueTopic } from '../support/kafka.js';
import { call, commitBody, startDataApi, type DataApiUnderTest } from './helpers.js';

describe('order-manage-data-api: access, health and reads', () => {
  const topic = uniqueTopic('data-api-internal');
  let api: DataApiUnderTest;

  before(async () => {
    api = await startDataApi({ topic });
  });
  after(async () => {
    await api.close();
    await dbPool().query('DELETE FROM outbox_event WHERE topic = $1', [topic]);
    await closeDb();
  });

  const endpoints: Array<[string, string, unknown?]> = [
    ['GET', '/internal/orders/1001'],
    ['POST', '/internal/products/lookup', { productIds: ['1'] }],
    ['POST', '/internal/orders', { order: {}, lines: [] }],
  ];

  for (const [method, path, body] of endpoints) {
    it(`refuses ${method} ${path} with 401 UNAUTHORIZED without a token or with a wrong one`, async () => {
      for (const token of [null, 'wrong-token', `${'data-api-test-token'}x`]) {
        const res = await call(api, method, path, { body, token });
        assert.equal(res.status, 401, `token ${String(token)}`);
        assert.equal(res.body.code, 'UNAUTHORIZED');
        assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      }
    });
  }

  it('refuses a commit with a wrong token without touching stock', async () => {
    const product = await createTestProduct({ availableQuantity: 4 });
    const res = await call(api, 'POST', '/internal/orders', { body: commitBody([{ product, quantity: 1 }]), token: 'nope' });
    assert.equal(res.status, 401);
    const { rows } = await dbPool().query('SELECT available_quantity FROM inventory WHERE product_id = $1', [product.productId]);
    assert.equal(rows[0].available_quantity, 4);
  });

  it('serves health and metrics without a token', async () => {
    const live = await call(api, 'GET', '/health/live', { token: null });
    assert.equal(live.status, 200);
    const ready = await call(api, 'GET', '/health/ready', { token: null });
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.dependencies, { postgres: { status: 'up' }, kafka: { status: 'up' } });
    const metrics = await fetch(`${api.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^http_request_duration_seconds_count\{/m);
  });

  it('reports not ready while Kafka is unreachable, yet still commits orders (their events wait in the outbox)', async () => {
    const kafkaDown = await startDataApi({ topic, brokers: ['127.0.0.1:1'] });
    try {
      const ready = await call(kafkaDown, 'GET', '/health/ready', { token: null });
      assert.equal(ready.status, 503);
      const deps = ready.body.dependencies as Record<string, { status: string }>;
      assert.deepEqual([deps.postgres?.status, deps.kafka?.status], ['up', 'down']);

      const product = await createTestProduct({ availableQuantity: 2 });
      const body = commitBody([{ product, quantity: 1 }]);
      assert.equal((await call(kafkaDown, 'POST', '/internal/orders', { body })).status, 201);
      assert.equal(await countOutboxRows(body.order.orderId, { unpublishedOnly: true }), 1);
    } finally {
      await kafkaDown.close();
    }
  });

  it('can be told that Kafka must not gate readiness, and then stays ready, reporting Kafka down', async () => {
    const kafkaDown = await startDataApi({ topic, brokers: ['127.0.0.1:1'], kafkaGatesReadiness: false });
    try {
      const ready = await call(kafkaDown, 'GET', '/health/ready', { token: null });
      assert.equal(ready.status, 200);
      assert.equal((ready.body.dependencies as Record<string, { status: string; critical?: boolean }>).kafka?.status, 'down');
    } finally {
      await kafkaDown.close();
    }
  });

  it('looks products up, listing the ones it does not know', async () => {
    const a = await createTestProduct({ availableQuantity: 7, price: '24.90' });
    const b = await createTestProduct({ availableQuantity: 0, price: '5.00' });
    const unknown = String(randomOrderId());

    const res = await call(api, 'POST', '/internal/products/lookup', { body: { productIds: [String(b.productId), unknown, String(a.productId)] } });

    assert.equal(res.status, 200);
    const view = (p: typeof a) => ({
      productId: String(p.productId),
      sku: p.sku,
      title: p.title,
      price: p.price,
      currency: 'USD',
      availableQuantity: p.availableQuantity,
    });
    assert.deepEqual(res.body, {
      products: [view(a), view(b)].sort((x, y) => Number(x.productId) - Number(y.productId)),
      missingProductIds: [unknown],
    });
  });

  it('rejects a lookup without product ids with 400 INVALID_PAYLOAD', async () => {
    const res = await call(api, 'POST', '/internal/products/lookup', { body: { productIds: [] } });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'INVALID_PAYLOAD');
    assert.deepEqual((res.body.errors as Array<{ path: string }>).map((e) => e.path), ['productIds']);
  });

  it('looks up an order with its products in one request: the order once accepted, null before', async () => {
    const product = await createTestProduct({ availableQuantity: 3 });
    const body = commitBody([{ product, quantity: 1 }]);
    const lookup = () => call(api, 'POST', '/internal/products/lookup', { body: { orderId: body.order.orderId, productIds: [String(product.productId)] } });

    const before = await lookup();
    assert.equal(before.status, 200);
    assert.equal(before.body.existingOrder, null);
    assert.deepEqual((before.body.products as Array<{ availableQuantity: number }>).map((p) => p.availableQuantity), [3]);

    assert.equal((await call(api, 'POST', '/internal/orders', { body })).status, 201);
    const after = await lookup();
    assert.equal(after.status, 200);
    const existing = after.body.existingOrder as Record<string, unknown>;
    assert.deepEqual({ ...existing, receivedAt: typeof existing.receivedAt }, {
      orderId: body.order.orderId,
      webhookId: body.order.webhookId,
      status: 'committed',
      receivedAt: 'string',
    });
    assert.ok(!Number.isNaN(Date.parse(String(existing.receivedAt))));
    assert.deepEqual((after.body.products as Array<{ availableQuantity: number }>).map((p) => p.availableQuantity), [2]);
    assert.deepEqual(after.body.missingProductIds, []);
  });

  it('looks up an order that names no product (tips and gift cards only) without any product id', async () => {
    const orderId = String(randomOrderId());
    const res = await call(api, 'POST', '/internal/products/lookup', { body: { orderId, productIds: [] } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { existingOrder: null, products: [], missingProductIds: [] });
  });

  it('reads a committed order, and answers 404 ORDER_NOT_FOUND for an unknown one', async () => {
    const product = await createTestProduct({ availableQuantity: 3 });
    const body = commitBody([{ product, quantity: 1 }]);
    assert.equal((await call(api, 'POST', '/internal/orders', { body })).status, 201);

    const found = await call(api, 'GET', `/internal/orders/${body.order.orderId}`);
    assert.equal(found.status, 200);
    assert.equal(found.body.orderId, body.order.orderId);
    assert.equal(found.body.webhookId, body.order.webhookId);
    assert.equal(found.body.status, 'committed');
    assert.ok(!Number.isNaN(Date.parse(String(found.body.receivedAt))));

    const missing = await call(api, 'GET', `/internal/orders/${randomOrderId()}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'ORDER_NOT_FOUND');

    const invalid = await call(api, 'GET', '/internal/orders/abc');
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.code, 'INVALID_PAYLOAD');
  });

  it('answers 413 for a commit over 1 MiB, a lookup over 64 KiB, and 400 for a body that is not JSON', async () => {
    const post = (path: string, body: string) =>
      fetch(`${api.url}${path}`, {
        method: 'POST',
        headers: { authorization: 'Bearer data-api-test-token', 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(5_000),
      });
    const bigCommit = await post('/internal/orders', JSON.stringify({ order: {}, pad: 'x'.repeat(1_100_000) }));
    assert.equal(bigCommit.status, 413);
    assert.deepEqual(await bigCommit.json(), {
      type: 'urn:problem:payload-too-large',
      title: 'Content Too Large',
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      detail: 'The request body is larger than 1 MiB.',
    });
    // 500 ids are about 12 KB: what a lookup may carry is far below what a commit may.
    const bigLookup = await post('/internal/products/lookup', JSON.stringify({ productIds: ['1'], pad: 'x'.repeat(70_000) }));
    assert.equal(bigLookup.status, 413);
    assert.equal(((await bigLookup.json()) as { detail: string }).detail, 'The request body is larger than 64 KiB.');
    const fullLookup = await post('/internal/products/lookup', JSON.stringify({ productIds: Array.from({ length: 500 }, (_, i) => String(9_223_372_036_854_775_000n - BigInt(i))) }));
    assert.equal(fullLookup.status, 200);
    const broken = await post('/internal/orders', '{"order":');
    assert.equal(broken.status, 400);
    assert.equal(((await broken.json()) as { code: string }).code, 'INVALID_PAYLOAD');
  });
});


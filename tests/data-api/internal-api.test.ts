import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { closeDb, countOutboxRows, createTestProduct, dbPool, randomOrderId, readInventory } from '../support/db.js';
import { uniqueTopic } from '../support/kafka.js';
import { call, commitBody, randomLineItemId, startDataApi, type DataApiUnderTest } from './helpers.js';

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
    ['POST', '/internal/variants/resolve', { lines: [{ lineItemId: '1', productId: '1', variantId: '1', sku: 'A' }] }],
    ['POST', '/internal/orders', { order: {}, lines: [] }],
    ['GET', '/internal/inventory?limit=1'],
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
    assert.deepEqual(await readInventory(product.variantId).then((r) => [r?.availableQuantity, r?.version]), [4, 1]);
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

  it('resolves a line by its variant id, a line without one by its SKU among its product’s variants, and names the lines it cannot resolve', async () => {
    const small = await createTestProduct({ availableQuantity: 7, price: '24.90' });
    const medium = await createTestProduct({ availableQuantity: 0, productId: small.productId });
    const elsewhere = await createTestProduct({ availableQuantity: 3 });
    const [l1, l2, l3, l4, l5] = Array.from({ length: 5 }, () => randomLineItemId());
    const lines = [
      { lineItemId: l1, productId: String(small.productId), variantId: String(small.variantId), sku: 'whatever the line says' },
      { lineItemId: l2, productId: String(medium.productId), variantId: null, sku: medium.sku },
      // A variant id the inventory does not hold: not looked up by SKU, though the SKU exists.
      { lineItemId: l3, productId: String(small.productId), variantId: String(91_000_000_000_000 + randomInt(1, 2 ** 40)), sku: small.sku },
      // Without a variant id, the SKU counts only among the variants of the line's own product.
      { lineItemId: l4, productId: String(small.productId), variantId: null, sku: elsewhere.sku },
      { lineItemId: l5, productId: String(small.productId), variantId: null, sku: 'NO-SUCH-SKU' },
    ];

    const res = await call(api, 'POST', '/internal/variants/resolve', { body: { lines } });

    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      resolved: [
        { lineItemId: l1, variantId: String(small.variantId), productId: String(small.productId), sku: small.sku, availableQuantity: 7 },
        { lineItemId: l2, variantId: String(medium.variantId), productId: String(small.productId), sku: medium.sku, availableQuantity: 0 },
      ],
      unresolved: [lines[2], lines[3], lines[4]],
    });
  });

  it('keeps ids above 2^53 exact when it resolves', async () => {
    const unknown = { lineItemId: '9223372036854775807', productId: '9223372036854775806', variantId: '9223372036854775805', sku: 'X' };
    const res = await call(api, 'POST', '/internal/variants/resolve', { body: { lines: [unknown] } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { resolved: [], unresolved: [unknown] });
  });

  it('rejects a resolve without lines, or with an id that is not a positive 64-bit integer, with 400 INVALID_PAYLOAD', async () => {
    const empty = await call(api, 'POST', '/internal/variants/resolve', { body: { orderId: String(randomOrderId()), lines: [] } });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.code, 'INVALID_PAYLOAD');
    assert.deepEqual(
      (empty.body.errors as Array<{ path: string }>).map((e) => e.path),
      ['lines'],
    );
    const badId = await call(api, 'POST', '/internal/variants/resolve', {
      body: { lines: [{ lineItemId: '1', productId: '1', variantId: '9223372036854775808', sku: 'A' }] },
    });
    assert.equal(badId.status, 400);
    assert.deepEqual(
      (badId.body.errors as Array<{ path: string }>).map((e) => e.path),
      ['lines.0.variantId'],
    );
  });

  it('resolves an order’s lines and looks the order up in one request: the order once accepted, null before', async () => {
    const product = await createTestProduct({ availableQuantity: 3 });
    const body = commitBody([{ product, quantity: 1 }]);
    const line = {
      lineItemId: body.lines[0]!.lineItemId,
      productId: String(product.productId),
      variantId: String(product.variantId),
      sku: product.sku,
    };
    const resolve = () => call(api, 'POST', '/internal/variants/resolve', { body: { orderId: body.order.orderId, lines: [line] } });

    const before = await resolve();
    assert.equal(before.status, 200);
    assert.equal(before.body.existingOrder, null);
    assert.deepEqual(
      (before.body.resolved as Array<{ availableQuantity: number }>).map((p) => p.availableQuantity),
      [3],
    );

    assert.equal((await call(api, 'POST', '/internal/orders', { body })).status, 201);
    const after = await resolve();
    assert.equal(after.status, 200);
    const existing = after.body.existingOrder as Record<string, unknown>;
    assert.deepEqual(
      { ...existing, receivedAt: typeof existing.receivedAt },
      {
        orderId: body.order.orderId,
        webhookId: body.order.webhookId,
        eventId: body.order.eventId,
        status: 'accepted',
        receivedAt: 'string',
      },
    );
    assert.ok(!Number.isNaN(Date.parse(String(existing.receivedAt))));
    assert.deepEqual(
      (after.body.resolved as Array<{ availableQuantity: number }>).map((p) => p.availableQuantity),
      [2],
    );
    assert.deepEqual(after.body.unresolved, []);
  });

  it('lists the stock of the variants asked for, paged by variant id', async () => {
    const variants = [
      await createTestProduct({ availableQuantity: 5 }),
      await createTestProduct({ availableQuantity: 0 }),
      await createTestProduct({ availableQuantity: 12 }),
    ];
    const product = variants[0]!;
    variants.push(await createTestProduct({ availableQuantity: 1, productId: product.productId }));
    const body = commitBody([{ product, quantity: 2 }]);
    assert.equal((await call(api, 'POST', '/internal/orders', { body })).status, 201);
    const sorted = [...variants].sort((a, b) => a.variantId - b.variantId);
    const ids = variants.map((v) => String(v.variantId)).join(',');
    const view = (v: (typeof variants)[number]) => ({
      variantId: String(v.variantId),
      productId: String(v.productId),
      sku: v.sku,
      inventoryItemId: String(v.inventoryItemId),
      locationId: String(v.locationId),
      availableQuantity: v === product ? 3 : v.availableQuantity,
      version: v === product ? 2 : v.availableQuantity > 0 ? 1 : 0,
    });
    const withoutTime = (items: unknown) =>
      (items as Array<Record<string, unknown>>).map(({ updatedAt, ...rest }) => {
        assert.ok(!Number.isNaN(Date.parse(String(updatedAt))), `updatedAt ${String(updatedAt)}`);
        return rest;
      });

    const first = await call(api, 'GET', `/internal/inventory?variantIds=${ids}&limit=3`);
    assert.equal(first.status, 200);
    assert.deepEqual(withoutTime(first.body.items), sorted.slice(0, 3).map(view));
    assert.equal(first.body.nextAfter, String(sorted[2]!.variantId));

    const second = await call(api, 'GET', `/internal/inventory?variantIds=${ids}&limit=3&after=${String(first.body.nextAfter)}`);
    assert.equal(second.status, 200);
    assert.deepEqual(withoutTime(second.body.items), [view(sorted[3]!)]);
    assert.equal(second.body.nextAfter, null);

    const invalid = await call(api, 'GET', '/internal/inventory?variantIds=1,abc');
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.code, 'INVALID_PAYLOAD');
  });

  it('reads a committed order, and answers 404 ORDER_NOT_FOUND for an unknown one', async () => {
    const product = await createTestProduct({ availableQuantity: 3 });
    const body = commitBody([{ product, quantity: 1 }]);
    assert.equal((await call(api, 'POST', '/internal/orders', { body })).status, 201);

    const found = await call(api, 'GET', `/internal/orders/${body.order.orderId}`);
    assert.equal(found.status, 200);
    assert.equal(found.body.orderId, body.order.orderId);
    assert.equal(found.body.webhookId, body.order.webhookId);
    assert.equal(found.body.status, 'accepted');
    assert.ok(!Number.isNaN(Date.parse(String(found.body.receivedAt))));

    const missing = await call(api, 'GET', `/internal/orders/${randomOrderId()}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'ORDER_NOT_FOUND');

    const invalid = await call(api, 'GET', '/internal/orders/abc');
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.code, 'INVALID_PAYLOAD');
  });

  it('answers 413 for a body over 1 MiB, 400 for a body that is not JSON, and takes the largest resolve an order can make', async () => {
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
    const bigResolve = await post('/internal/variants/resolve', JSON.stringify({ lines: [], pad: 'x'.repeat(1_100_000) }));
    assert.equal(bigResolve.status, 413);
    // 500 lines with SKUs of 255 characters: about 190 KB, every one of them resolved or named.
    const fullResolve = await post(
      '/internal/variants/resolve',
      JSON.stringify({
        lines: Array.from({ length: 500 }, (_, i) => ({
          lineItemId: String(9_223_372_036_854_775_000n - BigInt(i)),
          productId: '9223372036854775807',
          variantId: null,
          sku: `${i}`.padEnd(255, 'x'),
        })),
      }),
    );
    assert.equal(fullResolve.status, 200);
    assert.equal(((await fullResolve.json()) as { unresolved: unknown[] }).unresolved.length, 500);
    const broken = await post('/internal/orders', '{"order":');
    assert.equal(broken.status, 400);
    assert.equal(((await broken.json()) as { code: string }).code, 'INVALID_PAYLOAD');
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  closeDb,
  countOutboxRows,
  createTestProduct,
  dbPool,
  randomOrderId,
  readInventory,
  readOrder,
  readOrderDetails,
  readOutboxRows,
} from '../support/db.js';
import { waitFor } from '../support/eventually.js';
import { uniqueTopic } from '../support/kafka.js';
import { commitOrder } from '../../services/order-manage-data-api/src/db/orders.js';
import { call, commitBody, startDataApi, type DataApiUnderTest } from './helpers.js';

const APPLICATION_NAME = 'data-api-commit-test';

describe('order-manage-data-api: committing an order', () => {
  const topic = uniqueTopic('data-api-commit');
  let api: DataApiUnderTest;

  before(async () => {
    api = await startDataApi({ topic, applicationName: APPLICATION_NAME });
  });
  after(async () => {
    await api.close();
    await dbPool().query('DELETE FROM outbox_event WHERE topic = $1', [topic]);
    await closeDb();
  });

  it('decrements stock and writes the order, its details and one outbox event per product in one go', async () => {
    const shirt = await createTestProduct({ availableQuantity: 120, price: '24.90' });
    const mug = await createTestProduct({ availableQuantity: 7, price: '12.00' });
    const body = commitBody([
      { product: mug, quantity: 3 },
      { product: shirt, quantity: 2 },
    ]);
    const correlationId = `corr-${randomUUID()}`;

    const res = await call(api, 'POST', '/internal/orders', { body, correlationId });

    assert.equal(res.status, 201);
    const byId = (a: { productId: number | string | null }, b: { productId: number | string | null }) => Number(a.productId) - Number(b.productId);
    assert.deepEqual(res.body, {
      orderId: body.order.orderId,
      status: 'committed',
      items: [
        { productId: String(shirt.productId), availableAfter: 118, inventoryVersion: 2 },
        { productId: String(mug.productId), availableAfter: 4, inventoryVersion: 2 },
      ].sort(byId),
    });
    assert.equal((await readInventory(shirt.productId))?.availableQuantity, 118);
    assert.equal((await readInventory(mug.productId))?.availableQuantity, 4);

    const order = await readOrder(body.order.orderId);
    assert.equal(order?.status, 'committed');
    assert.equal(order?.webhookId, body.order.webhookId);
    assert.equal(order?.eventId, body.order.eventId);
    assert.equal(order?.totalPrice, body.order.totalPrice);
    assert.equal(order?.customerId, 207_119_551);
    assert.equal(order?.createdAt.toISOString(), '2026-11-24T08:00:00.000Z');

    const details = await readOrderDetails(body.order.orderId);
    assert.deepEqual(
      details.map((d) => ({ productId: d.productId, quantity: d.quantity, price: d.price, sku: d.sku })),
      [
        { productId: shirt.productId, quantity: 2, price: '24.90', sku: shirt.sku },
        { productId: mug.productId, quantity: 3, price: '12.00', sku: mug.sku },
      ].sort(byId),
    );

    const events = await readOutboxRows(body.order.orderId);
    assert.equal(events.length, 2);
    const shirtEvent = events.find((e) => e.messageKey === String(shirt.productId));
    assert.ok(shirtEvent, 'an outbox event keyed by the shirt product id');
    assert.equal(shirtEvent.topic, topic);
    assert.equal(shirtEvent.publishedAt, null);
    assert.deepEqual(shirtEvent.headers, { 'x-correlation-id': correlationId });
    assert.deepEqual(shirtEvent.payload, {
      eventId: shirtEvent.eventId,
      orderId: body.order.orderId,
      productId: String(shirt.productId),
      sku: shirt.sku,
      inventoryItemId: String(shirt.inventoryItemId),
      locationId: String(shirt.locationId),
      quantityOrdered: 2,
      availableAfter: 118,
      inventoryVersion: 2,
      occurredAt: shirtEvent.payload.occurredAt,
    });
    assert.match(String(shirtEvent.payload.occurredAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('logs one SUCCESS order.committed line carrying the order id', async () => {
    const product = await createTestProduct({ availableQuantity: 3 });
    const body = commitBody([{ product, quantity: 1 }]);
    const correlationId = `corr-${randomUUID()}`;

    assert.equal((await call(api, 'POST', '/internal/orders', { body, correlationId })).status, 201);

    const lines = api.logs.filter((l) => l.event === 'order.committed' && l.orderId === body.order.orderId);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!.msg, /^SUCCESS/);
    assert.equal(lines[0]!.correlationId, correlationId);
  });

  it('refuses an order for more than the stock with 422 INSUFFICIENT_INVENTORY and writes nothing', async () => {
    const plenty = await createTestProduct({ availableQuantity: 50 });
    const scarce = await createTestProduct({ availableQuantity: 2 });
    const body = commitBody([
      { product: plenty, quantity: 1 },
      { product: scarce, quantity: 3 },
    ]);

    const res = await call(api, 'POST', '/internal/orders', { body });

    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'INSUFFICIENT_INVENTORY');
    assert.equal(res.body.orderId, body.order.orderId);
    assert.deepEqual(res.body.items, [{ productId: String(scarce.productId), requested: 3, available: 2 }]);
    assert.equal(await readOrder(body.order.orderId), null);
    assert.deepEqual(await readOrderDetails(body.order.orderId), []);
    assert.equal(await countOutboxRows(body.order.orderId), 0);
    const [a, b] = [await readInventory(plenty.productId), await readInventory(scarce.productId)];
    assert.deepEqual([a?.availableQuantity, a?.version, b?.availableQuantity, b?.version], [50, 1, 2, 1]);
    const logged = api.logs.filter((l) => l.orderId === body.order.orderId);
    assert.deepEqual(
      logged.map((l) => [l.event, l.code]),
      [['order.rejected', 'INSUFFICIENT_INVENTORY']],
    );
    assert.doesNotMatch(logged[0]!.msg, /^SUCCESS/);
  });

  it('refuses an order naming an unknown product with 422 PRODUCT_NOT_FOUND and writes nothing', async () => {
    const known = await createTestProduct({ availableQuantity: 5 });
    const unknownId = String(known.productId + 1);
    const body = commitBody([{ product: known, quantity: 1 }]);
    body.lines.push({ ...body.lines[0]!, productId: unknownId, sku: 'NOPE' });

    const res = await call(api, 'POST', '/internal/orders', { body });

    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'PRODUCT_NOT_FOUND');
    assert.deepEqual(res.body.productIds, [unknownId]);
    assert.equal(await readOrder(body.order.orderId), null);
    assert.equal(await countOutboxRows(body.order.orderId), 0);
    assert.equal((await readInventory(known.productId))?.availableQuantity, 5);
  });

  it('names an unknown product before a shortage of the same order, though the shortage stops the decrement first', async () => {
    const scarce = await createTestProduct({ availableQuantity: 1 });
    const unknownId = String(scarce.productId + 1);
    const body = commitBody([{ product: scarce, quantity: 2 }]);
    body.lines.push({ ...body.lines[0]!, productId: unknownId, sku: 'NOPE', quantity: 1 });

    const res = await call(api, 'POST', '/internal/orders', { body });

    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'PRODUCT_NOT_FOUND');
    assert.deepEqual(res.body.productIds, [unknownId]);
    assert.equal(await readOrder(body.order.orderId), null);
    assert.deepEqual(await readInventory(scarce.productId).then((r) => [r?.availableQuantity, r?.version]), [1, 1]);
  });

  it('answers 409 ORDER_ALREADY_EXISTS with the first delivery’s webhook id for a repeated order id, changing nothing', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    const first = commitBody([{ product, quantity: 1 }]);
    assert.equal((await call(api, 'POST', '/internal/orders', { body: first })).status, 201);
    const again = commitBody([{ product, quantity: 4 }], { orderId: Number(first.order.orderId) });

    const res = await call(api, 'POST', '/internal/orders', { body: again });

    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'ORDER_ALREADY_EXISTS');
    assert.equal(res.body.orderId, first.order.orderId);
    assert.equal(res.body.existingWebhookId, first.order.webhookId);
    assert.equal((await readInventory(product.productId))?.availableQuantity, 9);
    assert.equal(await countOutboxRows(first.order.orderId), 1);
  });

  it('lets exactly one of several racing deliveries of the same order id commit; the others get 409', async () => {
    const product = await createTestProduct({ availableQuantity: 100 });
    const orderId = randomOrderId();
    const bodies = Array.from({ length: 6 }, () => commitBody([{ product, quantity: 1 }], { orderId }));

    const results = await Promise.all(bodies.map((body) => call(api, 'POST', '/internal/orders', { body })));

    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409]);
    const winner = bodies[results.findIndex((r) => r.status === 201)]!;
    for (const r of results.filter((x) => x.status === 409)) assert.equal(r.body.existingWebhookId, winner.order.webhookId);
    assert.equal((await readInventory(product.productId))?.availableQuantity, 99);
    assert.equal(await countOutboxRows(orderId), 1);
  });

  it('sells the last 5 units exactly once when 20 orders race for them: stock ends at 0, never below', async () => {
    const product = await createTestProduct({ availableQuantity: 5 });
    const bodies = Array.from({ length: 20 }, () => commitBody([{ product, quantity: 1 }]));

    const results = await Promise.all(bodies.map((body) => call(api, 'POST', '/internal/orders', { body })));

    assert.equal(results.filter((r) => r.status === 201).length, 5);
    const refused = results.filter((r) => r.status !== 201);
    assert.equal(refused.length, 15);
    for (const r of refused) {
      assert.equal(r.status, 422);
      assert.equal(r.body.code, 'INSUFFICIENT_INVENTORY');
    }
    const inventory = await readInventory(product.productId);
    assert.equal(inventory?.availableQuantity, 0);
    assert.equal(inventory?.version, 6);
    const { rows } = await dbPool().query<{ n: number; versions: number[]; afters: number[] }>(
      `SELECT count(*)::int AS n, array_agg((payload->>'inventoryVersion')::int ORDER BY id) AS versions,
              array_agg((payload->>'availableAfter')::int ORDER BY id) AS afters
         FROM outbox_event WHERE message_key = $1`,
      [String(product.productId)],
    );
    assert.equal(rows[0]!.n, 5);
    assert.deepEqual([...rows[0]!.versions].sort(), [2, 3, 4, 5, 6]);
    assert.deepEqual([...rows[0]!.afters].sort(), [0, 1, 2, 3, 4]);
  });

  it('locks in product id order, so two orders over the same products in opposite line order never deadlock', async () => {
    const a = await createTestProduct({ availableQuantity: 100 });
    const b = await createTestProduct({ availableQuantity: 100 });
    const [first, second] = a.productId < b.productId ? [a, b] : [b, a];
    const toRequest = (body: ReturnType<typeof commitBody>) => ({ ...body, nonStockLines: [], correlationId: randomUUID(), topic });
    // Another transaction holds the lower product's row, so both commits are queued at once; one
    // lists that product first, the other last. Locking in line order, the second would hold the
    // higher row while waiting for the lower one, and PostgreSQL would break the cycle by killing a
    // transaction. One attempt each: a deadlock fails the test instead of being retried away.
    const blocker = await dbPool().connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM inventory WHERE product_id = $1 FOR UPDATE', [String(first.productId)]);
      const commits = [
        commitBody([{ product: first, quantity: 1 }, { product: second, quantity: 1 }]),
        commitBody([{ product: second, quantity: 1 }, { product: first, quantity: 1 }]),
      ].map((body) => commitOrder(api.pool, toRequest(body), { maxAttempts: 1 }));
      await waitFor(
        'both commits to wait for the held row',
        async () => {
          const { rows } = await dbPool().query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE wait_event_type = 'Lock' AND query LIKE '%new_order%' AND query LIKE '%FOR UPDATE%'`,
          );
          return rows[0]!.n >= 2 ? true : undefined;
        },
        10_000,
        50,
      );
      await blocker.query('COMMIT');
      const outcomes = await Promise.all(commits);
      assert.deepEqual(outcomes.map((o) => o.kind), ['committed', 'committed']);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
    }
    assert.equal((await readInventory(a.productId))?.availableQuantity, 98);
    assert.equal((await readInventory(b.productId))?.availableQuantity, 98);
  });

  it('commits on the next attempt an order the stock refused if a restock landed before the refusal was explained', async () => {
    const scarce = await createTestProduct({ availableQuantity: 1 });
    const body = commitBody([{ product: scarce, quantity: 2 }]);
    const request = { ...body, nonStockLines: [], correlationId: randomUUID(), topic };
    // The refusal is explained by reading the stock through pool.query: the restock races in just before that read.
    let restocked = false;
    const racingPool = new Proxy(api.pool, {
      get(pool, property) {
        if (property === 'query' && !restocked) {
          return async (...args: Parameters<typeof pool.query>) => {
            restocked = true;
            await dbPool().query('UPDATE inventory SET available_quantity = 5, version = version + 1 WHERE product_id = $1', [String(scarce.productId)]);
            return (pool.query as (...a: unknown[]) => unknown)(...args);
          };
        }
        const value: unknown = Reflect.get(pool, property);
        return typeof value === 'function' ? value.bind(pool) : value;
      },
    });

    const outcome = await commitOrder(racingPool, request);

    assert.ok(restocked, 'the refusal was explained by reading the stock');
    assert.deepEqual(outcome, { kind: 'committed', items: [{ productId: String(scarce.productId), availableAfter: 3, inventoryVersion: 3 }] });
    assert.equal((await readOrder(body.order.orderId))?.status, 'committed');
    assert.equal((await readInventory(scarce.productId))?.availableQuantity, 3);
  });

  it('writes nothing when the last statement fails (it travels with COMMIT), and leaves no session in a transaction', async () => {
    const shirt = await createTestProduct({ availableQuantity: 10 });
    const body = commitBody([{ product: shirt, quantity: 2 }]);
    // The route would refuse this price; called directly, the order row and the locks succeed and
    // the writes fail on the numeric cast, in the same round trip as COMMIT.
    const request = { ...body, lines: body.lines.map((l) => ({ ...l, price: 'ten' })), nonStockLines: [], correlationId: randomUUID(), topic };

    await assert.rejects(commitOrder(api.pool, request), (err: Error & { code?: string }) => err.code === '22P02');

    assert.equal(await readOrder(body.order.orderId), null);
    assert.deepEqual(await readOrderDetails(body.order.orderId), []);
    assert.equal(await countOutboxRows(body.order.orderId), 0);
    assert.deepEqual(await readInventory(shirt.productId).then((r) => [r?.availableQuantity, r?.version]), [10, 1]);
    const { rows } = await dbPool().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'`,
      [APPLICATION_NAME],
    );
    assert.equal(rows[0]!.n, 0);
    const retried = await call(api, 'POST', '/internal/orders', { body });
    assert.equal(retried.status, 201);
    assert.equal((await readInventory(shirt.productId))?.availableQuantity, 8);
  });

  it('rejects a malformed commit with 400 INVALID_PAYLOAD listing each field', async () => {
    const product = await createTestProduct({ availableQuantity: 5 });
    const body = commitBody([{ product, quantity: 1 }]) as unknown as {
      order: Record<string, unknown>;
      lines: Array<Record<string, unknown>>;
    };
    body.order.totalPrice = 49.8;
    body.lines[0]!.quantity = 0;

    const res = await call(api, 'POST', '/internal/orders', { body });

    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'INVALID_PAYLOAD');
    const paths = (res.body.errors as Array<{ path: string }>).map((e) => e.path).sort();
    assert.deepEqual(paths, ['lines.0.quantity', 'order.totalPrice']);
    assert.equal((await readInventory(product.productId))?.availableQuantity, 5);
  });

  it('stores a line without a sku (Shopify sends null) with an empty sku', async () => {
    const product = await createTestProduct({ availableQuantity: 5 });
    const body = commitBody([{ product, quantity: 1 }]) as unknown as { order: { orderId: string }; lines: Array<Record<string, unknown>> };
    body.lines[0]!.sku = null;

    assert.equal((await call(api, 'POST', '/internal/orders', { body })).status, 201);

    assert.deepEqual((await readOrderDetails(body.order.orderId)).map((d) => d.sku), ['']);
  });

  it('rejects the same product listed twice (the api sums duplicates before calling)', async () => {
    const product = await createTestProduct({ availableQuantity: 5 });
    const res = await call(api, 'POST', '/internal/orders', {
      body: commitBody([
        { product, quantity: 1 },
        { product, quantity: 2 },
      ]),
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'INVALID_PAYLOAD');
  });

  it('commits an order of lines that hold no stock (a tip, a gift card): details kept, no stock touched, no event', async () => {
    const body = {
      ...commitBody([]),
      nonStockLines: [
        { lineItemId: '10963008585921', sku: null, title: 'Tip', quantity: 1, price: '4.50' },
        { lineItemId: '9223372036854775807', sku: 'GIFT-50', title: 'Gift card', quantity: 1, price: '50.00' },
      ],
    };

    const res = await call(api, 'POST', '/internal/orders', { body });

    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.items, []);
    assert.deepEqual(
      (await readOrderDetails(body.order.orderId)).map((d) => [d.productId, d.lineItemId, d.sku, d.title]),
      [
        [null, '10963008585921', '', 'Tip'],
        [null, '9223372036854775807', 'GIFT-50', 'Gift card'],
      ],
    );
    assert.equal(await countOutboxRows(body.order.orderId), 0);
  });

  it('refuses an order with no line at all with 400 INVALID_PAYLOAD', async () => {
    const res = await call(api, 'POST', '/internal/orders', { body: commitBody([]) });
    assert.equal(res.status, 400);
    assert.deepEqual((res.body.errors as Array<{ path: string }>).map((e) => e.path), ['lines']);
  });
});

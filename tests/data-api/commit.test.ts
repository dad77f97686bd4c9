import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
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
  type TestProduct,
} from '../support/db.js';
import { waitFor } from '../support/eventually.js';
import { uniqueTopic } from '../support/kafka.js';
import { commitOrder } from '../../services/order-manage-data-api/src/use-cases/commit-order.js';
import {
  assertLedgerHolds,
  call,
  commitBody,
  commitRequest,
  randomLineItemId,
  readMovements,
  startDataApi,
  type DataApiUnderTest,
} from './helpers.js';

const APPLICATION_NAME = 'data-api-commit-test';

/** A variant id no test variant has (theirs are 41_000_000_000_000 + up to 2^40): above all of them. */
const unknownVariantId = () => String(91_000_000_000_000 + randomInt(1, 2 ** 40));

const byVariant = (a: { variantId: number | string | null }, b: { variantId: number | string | null }) =>
  Number(a.variantId) - Number(b.variantId);

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

  it('takes the stock through one movement per variant, and writes the order, its lines and one outbox event per movement in one go', async () => {
    const shirt = await createTestProduct({ availableQuantity: 120, price: '24.90' });
    const mug = await createTestProduct({ availableQuantity: 7, price: '12.00' });
    const body = commitBody([
      { product: mug, quantity: 3 },
      { product: shirt, quantity: 2 },
    ]);
    const correlationId = `corr-${randomUUID()}`;

    const res = await call(api, 'POST', '/internal/orders', { body, correlationId });

    assert.equal(res.status, 201);
    assert.deepEqual(res.body, {
      orderId: body.order.orderId,
      status: 'accepted',
      items: [
        { variantId: String(shirt.variantId), availableAfter: 118, inventoryVersion: 2 },
        { variantId: String(mug.variantId), availableAfter: 4, inventoryVersion: 2 },
      ].sort(byVariant),
    });
    assert.equal((await readInventory(shirt.variantId))?.availableQuantity, 118);
    assert.equal((await readInventory(mug.variantId))?.availableQuantity, 4);

    const shirtMovements = await readMovements(shirt.variantId);
    assert.deepEqual(
      shirtMovements.map(({ delta, reason, reference, idempotencyKey, availableAfter, versionAfter }) => ({
        delta,
        reason,
        reference,
        idempotencyKey,
        availableAfter,
        versionAfter,
      })),
      [
        {
          delta: 120,
          reason: 'import',
          reference: 'test',
          idempotencyKey: `test-import:${shirt.variantId}`,
          availableAfter: 120,
          versionAfter: 1,
        },
        {
          delta: -2,
          reason: 'order',
          reference: body.order.orderId,
          idempotencyKey: `order:${body.order.orderId}:${shirt.variantId}`,
          availableAfter: 118,
          versionAfter: 2,
        },
      ],
    );
    assert.deepEqual(
      (await readMovements(mug.variantId)).map((m) => [m.delta, m.reason, m.reference]),
      [
        [7, 'import', 'test'],
        [-3, 'order', body.order.orderId],
      ],
    );
    await assertLedgerHolds([shirt.variantId, mug.variantId]);

    const order = await readOrder(body.order.orderId);
    assert.equal(order?.status, 'accepted');
    assert.equal(order?.webhookId, body.order.webhookId);
    assert.equal(order?.eventId, body.order.eventId);
    assert.equal(order?.totalPrice, '85.80');
    assert.equal(order?.customerId, 207_119_551);
    assert.equal(order?.createdAt.toISOString(), '2026-11-24T08:00:00.000Z');

    const details = await readOrderDetails(body.order.orderId);
    assert.deepEqual(
      details
        .map(({ lineItemId, productId, variantId, quantity, price, sku, reserved, restocked }) => ({
          lineItemId,
          productId,
          variantId,
          quantity,
          price,
          sku,
          reserved,
          restocked,
        }))
        .sort(byVariant),
      [
        {
          lineItemId: body.lines[1]!.lineItemId,
          productId: shirt.productId,
          variantId: shirt.variantId,
          quantity: 2,
          price: '24.90',
          sku: shirt.sku,
          reserved: 2,
          restocked: 0,
        },
        {
          lineItemId: body.lines[0]!.lineItemId,
          productId: mug.productId,
          variantId: mug.variantId,
          quantity: 3,
          price: '12.00',
          sku: mug.sku,
          reserved: 3,
          restocked: 0,
        },
      ].sort(byVariant),
    );

    const events = await readOutboxRows(body.order.orderId);
    assert.equal(events.length, 2);
    const shirtEvent = events.find((e) => e.messageKey === String(shirt.variantId));
    assert.ok(shirtEvent, 'an outbox event keyed by the shirt variant id');
    assert.equal(shirtEvent.topic, topic);
    assert.equal(shirtEvent.publishedAt, null);
    assert.deepEqual(shirtEvent.headers, { 'x-correlation-id': correlationId });
    assert.deepEqual(shirtEvent.payload, {
      eventId: shirtEvent.eventId,
      movementId: shirtMovements[1]!.id,
      reason: 'order',
      reference: body.order.orderId,
      orderId: body.order.orderId,
      variantId: String(shirt.variantId),
      productId: String(shirt.productId),
      sku: shirt.sku,
      inventoryItemId: String(shirt.inventoryItemId),
      locationId: String(shirt.locationId),
      delta: -2,
      availableAfter: 118,
      inventoryVersion: 2,
      occurredAt: shirtEvent.payload.occurredAt,
      shopifyKnows: true,
    });
    assert.match(String(shirtEvent.payload.occurredAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const mugEvent = events.find((e) => e.messageKey === String(mug.variantId));
    assert.deepEqual(
      [mugEvent?.payload.variantId, mugEvent?.payload.delta, mugEvent?.payload.availableAfter],
      [String(mug.variantId), -3, 4],
    );
  });

  it('sums the lines of one variant into one movement, keeps each line as it came, and treats the sizes of one product as separate stock', async () => {
    const small = await createTestProduct({ availableQuantity: 80, price: '24.90' });
    const medium = await createTestProduct({ availableQuantity: 120, price: '24.90', productId: small.productId });
    const large = await createTestProduct({ availableQuantity: 90, price: '24.90', productId: small.productId });
    const body = commitBody([
      { product: small, quantity: 2 },
      { product: medium, quantity: 1 },
      { product: small, quantity: 3 },
    ]);

    const res = await call(api, 'POST', '/internal/orders', { body });

    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.items,
      [
        { variantId: String(small.variantId), availableAfter: 75, inventoryVersion: 2 },
        { variantId: String(medium.variantId), availableAfter: 119, inventoryVersion: 2 },
      ].sort(byVariant),
    );
    assert.deepEqual(
      (await readMovements(small.variantId)).map((m) => m.delta),
      [80, -5],
    );
    assert.deepEqual(
      (await readMovements(medium.variantId)).map((m) => m.delta),
      [120, -1],
    );
    assert.deepEqual(
      (await readMovements(large.variantId)).map((m) => m.delta),
      [90],
    );
    assert.equal((await readInventory(large.variantId))?.availableQuantity, 90);
    await assertLedgerHolds([small.variantId, medium.variantId, large.variantId]);

    const details = await readOrderDetails(body.order.orderId);
    assert.deepEqual(
      details.map((d) => [d.lineItemId, d.variantId, d.quantity, d.reserved]).sort(),
      body.lines.map((l) => [l.lineItemId, Number(l.variantId), l.quantity, l.quantity]).sort(),
    );
    const events = await readOutboxRows(body.order.orderId);
    assert.deepEqual(
      events.map((e) => [e.messageKey, e.payload.delta]).sort(),
      [
        [String(small.variantId), -5],
        [String(medium.variantId), -1],
      ].sort(),
    );
  });

  it('logs one SUCCESS order.committed line carrying the order id and the number of variants', async () => {
    const product = await createTestProduct({ availableQuantity: 3 });
    const body = commitBody([{ product, quantity: 1 }]);
    const correlationId = `corr-${randomUUID()}`;

    assert.equal((await call(api, 'POST', '/internal/orders', { body, correlationId })).status, 201);

    const lines = api.logs.filter((l) => l.event === 'order.committed' && l.orderId === body.order.orderId);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.msg, `SUCCESS order ${body.order.orderId} committed: inventory decremented for 1 variant(s)`);
    assert.equal(lines[0]!.correlationId, correlationId);
  });

  it('refuses an order for more than the stock with 422 INSUFFICIENT_INVENTORY by variant and writes nothing', async () => {
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
    assert.deepEqual(res.body.items, [{ variantId: String(scarce.variantId), sku: scarce.sku, requested: 3, available: 2 }]);
    assert.equal(await readOrder(body.order.orderId), null);
    assert.deepEqual(await readOrderDetails(body.order.orderId), []);
    assert.equal(await countOutboxRows(body.order.orderId), 0);
    const [a, b] = [await readInventory(plenty.variantId), await readInventory(scarce.variantId)];
    assert.deepEqual([a?.availableQuantity, a?.version, b?.availableQuantity, b?.version], [50, 1, 2, 1]);
    assert.deepEqual(
      (await readMovements(plenty.variantId)).map((m) => m.reason),
      ['import'],
    );
    const logged = api.logs.filter((l) => l.orderId === body.order.orderId);
    assert.deepEqual(
      logged.map((l) => [l.event, l.code]),
      [['order.rejected', 'INSUFFICIENT_INVENTORY']],
    );
    assert.doesNotMatch(logged[0]!.msg, /^SUCCESS/);
  });

  it('refuses a shortage that only the summed lines of one variant make (2 + 2 of 3)', async () => {
    const scarce = await createTestProduct({ availableQuantity: 3 });
    const body = commitBody([
      { product: scarce, quantity: 2 },
      { product: scarce, quantity: 2 },
    ]);

    const res = await call(api, 'POST', '/internal/orders', { body });

    assert.equal(res.status, 422);
    assert.deepEqual(res.body.items, [{ variantId: String(scarce.variantId), sku: scarce.sku, requested: 4, available: 3 }]);
    assert.deepEqual(await readInventory(scarce.variantId).then((r) => [r?.availableQuantity, r?.version]), [3, 1]);
  });

  it('refuses an order naming an unknown variant with 422 PRODUCT_NOT_FOUND and writes nothing', async () => {
    const known = await createTestProduct({ availableQuantity: 5 });
    const unknownId = unknownVariantId();
    const body = commitBody([{ product: known, quantity: 1 }]);
    body.lines.push({ ...body.lines[0]!, lineItemId: randomLineItemId(), variantId: unknownId, sku: 'NOPE' });

    const res = await call(api, 'POST', '/internal/orders', { body });

    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'PRODUCT_NOT_FOUND');
    assert.deepEqual(res.body.variantIds, [unknownId]);
    assert.equal(await readOrder(body.order.orderId), null);
    assert.equal(await countOutboxRows(body.order.orderId), 0);
    assert.deepEqual(await readInventory(known.variantId).then((r) => [r?.availableQuantity, r?.version]), [5, 1]);
  });

  it('names an unknown variant before a shortage of the same order, though the shortage stops the decrement first', async () => {
    const scarce = await createTestProduct({ availableQuantity: 1 });
    const unknownId = unknownVariantId();
    const body = commitBody([{ product: scarce, quantity: 2 }]);
    body.lines.push({ ...body.lines[0]!, lineItemId: randomLineItemId(), variantId: unknownId, sku: 'NOPE', quantity: 1 });

    const res = await call(api, 'POST', '/internal/orders', { body });

    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'PRODUCT_NOT_FOUND');
    assert.deepEqual(res.body.variantIds, [unknownId]);
    assert.equal(await readOrder(body.order.orderId), null);
    assert.deepEqual(await readInventory(scarce.variantId).then((r) => [r?.availableQuantity, r?.version]), [1, 1]);
  });

  it('answers 409 ORDER_ALREADY_EXISTS with the first delivery’s webhook and event ids for a repeated order id, changing nothing', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    const first = commitBody([{ product, quantity: 1 }]);
    assert.equal((await call(api, 'POST', '/internal/orders', { body: first })).status, 201);
    const again = commitBody([{ product, quantity: 4 }], { orderId: Number(first.order.orderId) });

    const res = await call(api, 'POST', '/internal/orders', { body: again });

    assert.equal(res.status, 409);
    assert.equal(res.body.code, 'ORDER_ALREADY_EXISTS');
    assert.equal(res.body.orderId, first.order.orderId);
    assert.equal(res.body.existingWebhookId, first.order.webhookId);
    assert.equal(res.body.existingEventId, first.order.eventId);
    assert.equal((await readInventory(product.variantId))?.availableQuantity, 9);
    assert.equal((await readMovements(product.variantId)).length, 2);
    assert.equal(await countOutboxRows(first.order.orderId), 1);
    assert.deepEqual(await readOrderDetails(first.order.orderId).then((d) => d.map((l) => l.lineItemId)), [first.lines[0]!.lineItemId]);
  });

  it('refuses with 400 INVALID_PAYLOAD an order whose line item id already belongs to another order, writing nothing', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    const first = commitBody([{ product, quantity: 1 }]);
    assert.equal((await call(api, 'POST', '/internal/orders', { body: first })).status, 201);
    const taken = first.lines[0]!.lineItemId;
    const other = commitBody([
      { product, quantity: 2 },
      { product, quantity: 1, lineItemId: taken },
    ]);

    const res = await call(api, 'POST', '/internal/orders', { body: other });

    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'INVALID_PAYLOAD');
    assert.equal(res.body.orderId, other.order.orderId);
    assert.deepEqual(res.body.errors, [{ path: 'lines', reason: `line item ${taken} already belongs to another order` }]);
    assert.equal(await readOrder(other.order.orderId), null);
    assert.equal(await countOutboxRows(other.order.orderId), 0);
    assert.deepEqual(await readInventory(product.variantId).then((r) => [r?.availableQuantity, r?.version]), [9, 2]);
    assert.deepEqual(
      (await readOrderDetails(first.order.orderId)).map((d) => [d.lineItemId, d.quantity]),
      [[taken, 1]],
    );
  });

  it('refuses with 400 INVALID_PAYLOAD an order that lists one line item twice', async () => {
    const product = await createTestProduct({ availableQuantity: 5 });
    const lineItemId = randomLineItemId();
    const res = await call(api, 'POST', '/internal/orders', {
      body: commitBody([
        { product, quantity: 1, lineItemId },
        { product, quantity: 2, lineItemId },
      ]),
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'INVALID_PAYLOAD');
    assert.deepEqual(
      (res.body.errors as Array<{ path: string }>).map((e) => e.path),
      ['lines'],
    );
    assert.equal((await readInventory(product.variantId))?.availableQuantity, 5);
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
    assert.equal((await readInventory(product.variantId))?.availableQuantity, 99);
    assert.equal(await countOutboxRows(orderId), 1);
    await assertLedgerHolds([product.variantId]);
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
    const inventory = await readInventory(product.variantId);
    assert.equal(inventory?.availableQuantity, 0);
    assert.equal(inventory?.version, 6);
    await assertLedgerHolds([product.variantId]);
    const { rows } = await dbPool().query<{ n: number; versions: number[]; afters: number[] }>(
      `SELECT count(*)::int AS n, array_agg((payload->>'inventoryVersion')::int ORDER BY id) AS versions,
              array_agg((payload->>'availableAfter')::int ORDER BY id) AS afters
         FROM outbox_event WHERE message_key = $1`,
      [String(product.variantId)],
    );
    assert.equal(rows[0]!.n, 5);
    assert.deepEqual([...rows[0]!.versions].sort(), [2, 3, 4, 5, 6]);
    assert.deepEqual([...rows[0]!.afters].sort(), [0, 1, 2, 3, 4]);
  });

  it('keeps, under concurrent random orders over three variants, every variant at or above zero, its stock the sum of its movements, and each accepted order’s reserved units equal to its movements', async () => {
    type Spec = { variant: 0 | 1 | 2; quantity: number };
    const orderArb = fc.record({
      lines: fc.array(fc.record({ variant: fc.constantFrom<0 | 1 | 2>(0, 1, 2), quantity: fc.integer({ min: 1, max: 4 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
      viaHttp: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 25 })),
        fc.array(orderArb, { minLength: 24, maxLength: 40 }),
        async (stocks, orders) => {
          const first = await createTestProduct({ availableQuantity: stocks[0], atShopify: false });
          const variants: TestProduct[] = [
            first,
            await createTestProduct({ availableQuantity: stocks[1], productId: first.productId, atShopify: false }),
            await createTestProduct({ availableQuantity: stocks[2], productId: first.productId, atShopify: false }),
          ];
          const bodies = orders.map((o) => ({
            body: commitBody(o.lines.map((l: Spec) => ({ product: variants[l.variant]!, quantity: l.quantity }))),
            viaHttp: o.viaHttp,
          }));

          const outcomes = await Promise.all(
            bodies.map(async ({ body, viaHttp }) => {
              if (viaHttp) {
                const res = await call(api, 'POST', '/internal/orders', { body });
                return res.status === 201 ? 'accepted' : `${res.status} ${String(res.body.code)}`;
              }
              const outcome = await commitOrder(api.pool, commitRequest(body, topic));
              return outcome.kind === 'committed' ? 'accepted' : outcome.kind;
            }),
          );

          for (const outcome of outcomes) assert.ok(['accepted', '422 INSUFFICIENT_INVENTORY', 'insufficient'].includes(outcome), outcome);
          const accepted = bodies.filter((_, i) => outcomes[i] === 'accepted').map((b) => b.body.order.orderId);
          const refused = bodies.filter((_, i) => outcomes[i] !== 'accepted').map((b) => b.body.order.orderId);
          await assertLedgerHolds(variants.map((v) => v.variantId));

          const { rows: details } = await dbPool().query<{ order_id: string; variant_id: string; reserved: number }>(
            `SELECT order_id::text, variant_id::text, reserved FROM order_detail WHERE order_id = ANY($1::bigint[])`,
            [accepted],
          );
          for (const [i, variant] of variants.entries()) {
            const row = await readInventory(variant.variantId);
            assert.ok(row!.availableQuantity >= 0, `variant ${i} at ${row!.availableQuantity}`);
            const movements = await readMovements(variant.variantId);
            const orderMovements = movements.filter((m) => m.reason === 'order');
            assert.deepEqual(
              orderMovements.map((m) => m.reference).sort(),
              accepted.filter((id) => details.some((d) => d.order_id === id && d.variant_id === String(variant.variantId))).sort(),
              `variant ${i}: one movement per accepted order that names it, none for a refused one`,
            );
            for (const m of orderMovements) {
              const reserved = details
                .filter((d) => d.order_id === m.reference && d.variant_id === String(variant.variantId))
                .reduce((s, d) => s + d.reserved, 0);
              assert.equal(-m.delta, reserved, `variant ${i}, order ${m.reference}: movement delta against reserved units`);
            }
            const totalReserved = details.filter((d) => d.variant_id === String(variant.variantId)).reduce((s, d) => s + d.reserved, 0);
            assert.equal(
              row!.availableQuantity,
              stocks[i]! - totalReserved,
              `variant ${i}: opening stock less what accepted orders reserved`,
            );
          }
          // Every line of an accepted order reserved its whole quantity; a refused order left nothing behind.
          const { rows: whole } = await dbPool().query<{ n: number }>(
            `SELECT count(*)::int AS n FROM order_detail WHERE order_id = ANY($1::bigint[]) AND reserved <> quantity`,
            [accepted],
          );
          assert.equal(whole[0]!.n, 0);
          const { rows: leftovers } = await dbPool().query<{ n: number }>(
            `SELECT (SELECT count(*) FROM orders WHERE order_id = ANY($1::bigint[])) +
                    (SELECT count(*) FROM outbox_event WHERE order_id = ANY($1::bigint[])) AS n`,
            [refused],
          );
          assert.equal(Number(leftovers[0]!.n), 0);
        },
      ),
      { numRuns: 8 },
    );
  });

  it('lets no one change a variant’s stock but through a movement, nor rewrite or remove a movement, in the stack’s database', async () => {
    const product = await createTestProduct({ availableQuantity: 6 });
    const body = commitBody([{ product, quantity: 1 }]);
    assert.equal((await call(api, 'POST', '/internal/orders', { body })).status, 201);
    const refusal = (sql: string) =>
      dbPool()
        .query(sql, [String(product.variantId)])
        .then(
          () => undefined,
          (err: { code?: string; constraint?: string }) => ({ code: err.code, constraint: err.constraint }),
        );

    const byLedger = { code: '23514', constraint: 'inventory_stock_by_movement' };
    assert.deepEqual(await refusal('UPDATE inventory SET available_quantity = 100 WHERE variant_id = $1'), byLedger);
    assert.deepEqual(await refusal('UPDATE inventory SET version = 1 WHERE variant_id = $1'), byLedger);
    const appendOnly = { code: '23001', constraint: undefined };
    assert.deepEqual(await refusal(`UPDATE inventory_movement SET delta = -6 WHERE variant_id = $1 AND reason = 'order'`), appendOnly);
    assert.deepEqual(await refusal(`DELETE FROM inventory_movement WHERE variant_id = $1 AND reason = 'order'`), appendOnly);

    assert.deepEqual(await readInventory(product.variantId).then((r) => [r?.availableQuantity, r?.version]), [5, 2]);
    assert.deepEqual(
      (await readMovements(product.variantId)).map((m) => [m.reason, m.delta]),
      [
        ['import', 6],
        ['order', -1],
      ],
    );
  });

  it('locks in variant id order, so two orders over the same variants in opposite line order never deadlock', async () => {
    const a = await createTestProduct({ availableQuantity: 100 });
    const b = await createTestProduct({ availableQuantity: 100 });
    const [first, second] = a.variantId < b.variantId ? [a, b] : [b, a];
    // Another transaction holds the lower variant's row, so both commits are queued at once; one
    // lists that variant first, the other last. Locking in line order, the second would hold the
    // higher row while waiting for the lower one, and PostgreSQL would break the cycle by killing a
    // transaction. One attempt each: a deadlock fails the test instead of being retried away.
    const blocker = await dbPool().connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM inventory WHERE variant_id = $1 FOR UPDATE', [String(first.variantId)]);
      const commits = [
        commitBody([
          { product: first, quantity: 1 },
          { product: second, quantity: 1 },
        ]),
        commitBody([
          { product: second, quantity: 1 },
          { product: first, quantity: 1 },
        ]),
      ].map((body) => commitOrder(api.pool, commitRequest(body, topic), { maxAttempts: 1 }));
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
      assert.deepEqual(
        outcomes.map((o) => o.kind),
        ['committed', 'committed'],
      );
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
    }
    assert.equal((await readInventory(a.variantId))?.availableQuantity, 98);
    assert.equal((await readInventory(b.variantId))?.availableQuantity, 98);
    await assertLedgerHolds([a.variantId, b.variantId]);
  });

  it('commits on the next attempt an order the stock refused if a restock landed before the refusal was explained', async () => {
    const scarce = await createTestProduct({ availableQuantity: 1 });
    const body = commitBody([{ product: scarce, quantity: 2 }]);
    // The refusal is explained by reading the stock through pool.query: the restock races in just before that read.
    let restocked = false;
    const racingPool = new Proxy(api.pool, {
      get(pool, property) {
        if (property === 'query' && !restocked) {
          return async (...args: Parameters<typeof pool.query>) => {
            restocked = true;
            await dbPool().query(
              `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key) VALUES ($1, 4, 'restock', 'test', $2)`,
              [String(scarce.variantId), `test-restock:${scarce.variantId}`],
            );
            return (pool.query as (...a: unknown[]) => unknown)(...args);
          };
        }
        const value: unknown = Reflect.get(pool, property);
        return typeof value === 'function' ? value.bind(pool) : value;
      },
    });

    const outcome = await commitOrder(racingPool, commitRequest(body, topic));

    assert.ok(restocked, 'the refusal was explained by reading the stock');
    assert.deepEqual(outcome, {
      kind: 'committed',
      items: [{ variantId: String(scarce.variantId), availableAfter: 3, inventoryVersion: 3 }],
    });
    assert.equal((await readOrder(body.order.orderId))?.status, 'accepted');
    assert.equal((await readInventory(scarce.variantId))?.availableQuantity, 3);
    assert.deepEqual(
      (await readMovements(scarce.variantId)).map((m) => [m.reason, m.delta]),
      [
        ['import', 1],
        ['restock', 4],
        ['order', -2],
      ],
    );
  });

  it('writes nothing when the last statement fails (it travels with COMMIT), and leaves no session in a transaction', async () => {
    const shirt = await createTestProduct({ availableQuantity: 10 });
    const body = commitBody([{ product: shirt, quantity: 2 }]);
    // The route would refuse this price; called directly, the order row and the locks succeed and
    // the writes fail on the numeric cast, in the same round trip as COMMIT.
    const request = commitRequest({ ...body, lines: body.lines.map((l) => ({ ...l, price: 'ten' })) }, topic);

    await assert.rejects(commitOrder(api.pool, request), (err: Error & { code?: string }) => err.code === '22P02');

    assert.equal(await readOrder(body.order.orderId), null);
    assert.deepEqual(await readOrderDetails(body.order.orderId), []);
    assert.equal(await countOutboxRows(body.order.orderId), 0);
    assert.deepEqual(await readInventory(shirt.variantId).then((r) => [r?.availableQuantity, r?.version]), [10, 1]);
    assert.deepEqual(
      (await readMovements(shirt.variantId)).map((m) => m.reason),
      ['import'],
    );
    const { rows } = await dbPool().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'`,
      [APPLICATION_NAME],
    );
    assert.equal(rows[0]!.n, 0);
    const retried = await call(api, 'POST', '/internal/orders', { body });
    assert.equal(retried.status, 201);
    assert.equal((await readInventory(shirt.variantId))?.availableQuantity, 8);
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
    assert.equal((await readInventory(product.variantId))?.availableQuantity, 5);
  });

  it('stores a line without a sku (Shopify sends null) with an empty sku', async () => {
    const product = await createTestProduct({ availableQuantity: 5 });
    const body = commitBody([{ product, quantity: 1 }]);
    body.lines[0]!.sku = null;

    assert.equal((await call(api, 'POST', '/internal/orders', { body })).status, 201);

    assert.deepEqual(
      (await readOrderDetails(body.order.orderId)).map((d) => d.sku),
      [''],
    );
  });

  it('commits an order of lines that hold no stock (a tip, a gift card): lines kept with nothing reserved, no stock touched, no event', async () => {
    const body = commitBody([], {
      nonStockLines: [
        { lineItemId: String(10_963_008_585_921n + BigInt(randomInt(1, 2 ** 40))), sku: null, title: 'Tip', quantity: 1, price: '4.50' },
        {
          lineItemId: String(9_223_372_036_854_775_807n - BigInt(randomInt(0, 2 ** 40))),
          sku: 'GIFT-50',
          title: 'Gift card',
          quantity: 1,
          price: '50.00',
        },
      ],
    });

    const res = await call(api, 'POST', '/internal/orders', { body });

    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.items, []);
    assert.deepEqual(
      (await readOrderDetails(body.order.orderId)).map((d) => [d.productId, d.variantId, d.lineItemId, d.sku, d.title, d.reserved]).sort(),
      [
        [null, null, body.lines[0]!.lineItemId, '', 'Tip', 0],
        [null, null, body.lines[1]!.lineItemId, 'GIFT-50', 'Gift card', 0],
      ].sort(),
    );
    assert.equal(await countOutboxRows(body.order.orderId), 0);
  });

  it('stores a point-of-sale order’s location, and its lines sent without a variant reserve nothing', async () => {
    const shelf = await createTestProduct({ availableQuantity: 4 });
    const locationId = '71234567890';
    const body = commitBody([], {
      locationId,
      nonStockLines: [{ productId: String(shelf.productId), sku: shelf.sku, title: shelf.title, quantity: 2, price: shelf.price }],
    });

    const res = await call(api, 'POST', '/internal/orders', { body });

    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.items, []);
    const { rows } = await dbPool().query<{ location_id: string; status: string }>(
      'SELECT location_id::text, status FROM orders WHERE order_id = $1',
      [body.order.orderId],
    );
    assert.deepEqual(rows, [{ location_id: locationId, status: 'accepted' }]);
    assert.deepEqual(
      (await readOrderDetails(body.order.orderId)).map((d) => [d.productId, d.variantId, d.quantity, d.reserved]),
      [[shelf.productId, null, 2, 0]],
    );
    assert.deepEqual(await readInventory(shelf.variantId).then((r) => [r?.availableQuantity, r?.version]), [4, 1]);
    assert.equal(await countOutboxRows(body.order.orderId), 0);
  });

  it('refuses an order with no line at all with 400 INVALID_PAYLOAD', async () => {
    const res = await call(api, 'POST', '/internal/orders', { body: commitBody([]) });
    assert.equal(res.status, 400);
    assert.deepEqual(
      (res.body.errors as Array<{ path: string }>).map((e) => e.path),
      ['lines'],
    );
  });
});

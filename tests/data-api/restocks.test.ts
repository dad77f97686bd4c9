/**
 * `POST /internal/orders/:orderId/restocks` on the real PostgreSQL (docs/spec.md sections 2.2 and 4):
 * units come back in one transaction under the variants' row locks, one movement per refund line
 * item with its event, once however often and however concurrently they are delivered; and the
 * ledger itself applies nothing for a key it already holds.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  closeDb,
  createTestProduct,
  dbPool,
  randomOrderId,
  readInventory,
  readOrder,
  readOrderDetails,
  type TestProduct,
} from '../support/db.js';
import { waitFor } from '../support/eventually.js';
import { uniqueTopic } from '../support/kafka.js';
import { assertLedgerHolds, call, commitBody, randomLineItemId, readMovements, startDataApi, type DataApiUnderTest } from './helpers.js';

const topic = uniqueTopic('data-api-restocks');
let api: DataApiUnderTest;

before(async () => {
  api = await startDataApi({ topic });
});

after(async () => {
  await api.close();
  await dbPool().query('DELETE FROM outbox_event WHERE topic = $1', [topic]);
  await closeDb();
});

let nextRefundLine = 18_000_000_000_000 + Math.floor(Math.random() * 2 ** 40);
const refundLineId = () => String(++nextRefundLine);

interface Placed {
  orderId: string;
  lineItemIds: string[];
}

/** An order committed through the data-api, one line per (variant, quantity). */
async function commit(lines: Array<{ product: TestProduct; quantity: number }>): Promise<Placed> {
  const body = commitBody(lines.map((l) => ({ ...l, lineItemId: randomLineItemId() })));
  const res = await call(api, 'POST', '/internal/orders', { body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { orderId: body.order.orderId, lineItemIds: body.lines.map((l) => l.lineItemId) };
}

interface RefundLine {
  id: string;
  lineItemId: string;
  quantity: number;
  restockType: string;
  locationId?: string | null;
}

const restocks = (orderId: string, refundLineItems: RefundLine[], overrides: Record<string, unknown> = {}) =>
  call(api, 'POST', `/internal/orders/${orderId}/restocks`, {
    body: { topic: 'refunds/create', webhookId: randomUUID(), eventId: randomUUID(), cancelledAt: null, refundLineItems, ...overrides },
  });

describe('order-manage-data-api: units coming back', () => {
  it('refuses a caller without the internal token (401) and a request it cannot read (400, each field named)', async () => {
    const unauthorised = await call(api, 'POST', '/internal/orders/1/restocks', { body: {}, token: null });
    assert.deepEqual([unauthorised.status, unauthorised.body.code], [401, 'UNAUTHORIZED']);
    const invalid = await call(api, 'POST', '/internal/orders/1/restocks', {
      body: {
        topic: 'orders/create',
        webhookId: 'w',
        refundLineItems: [{ id: '1', lineItemId: 'x', quantity: -1, restockType: 'cancel' }],
      },
    });
    assert.equal(invalid.status, 400);
    assert.deepEqual(
      (invalid.body.errors as Array<{ path: string }>).map((e) => e.path),
      ['topic', 'refundLineItems.0.lineItemId', 'refundLineItems.0.quantity'],
    );
  });

  it('puts a reserved line back with one movement and one event built from it, in the outbox of the same transaction', async () => {
    const variant = await createTestProduct({ availableQuantity: 10, atShopify: false });
    const order = await commit([{ product: variant, quantity: 4 }]);
    const refund = refundLineId();
    const correlationId = randomUUID();
    const res = await call(api, 'POST', `/internal/orders/${order.orderId}/restocks`, {
      correlationId,
      body: {
        topic: 'orders/cancelled',
        webhookId: randomUUID(),
        eventId: null,
        cancelledAt: '2026-11-24T10:00:00-05:00',
        refundLineItems: [
          { id: refund, lineItemId: order.lineItemIds[0], quantity: 4, restockType: 'cancel', locationId: String(variant.locationId) },
        ],
      },
    });
    assert.equal(res.status, 200);
    const movement = (await readMovements(variant.variantId)).at(-1)!;
    assert.deepEqual(res.body, {
      orderId: order.orderId,
      orderStatus: 'cancelled',
      replayed: false,
      restocked: [{ variantId: String(variant.variantId), quantity: 4 }],
      movements: [
        {
          movementId: movement.id,
          refundLineItemId: refund,
          variantId: String(variant.variantId),
          reason: 'cancel',
          delta: 4,
          availableAfter: 10,
        },
      ],
    });
    assert.deepEqual(
      [movement.reason, movement.delta, movement.reference, movement.idempotencyKey, movement.availableAfter, movement.versionAfter],
      ['cancel', 4, refund, `refund-line:${refund}`, 10, 3],
    );
    const { rows } = await dbPool().query<{
      message_key: string;
      payload: Record<string, unknown>;
      headers: Record<string, string>;
      order_id: string;
    }>(`SELECT message_key, payload, headers, order_id::text FROM outbox_event WHERE topic = $1 AND payload->>'movementId' = $2`, [
      topic,
      movement.id,
    ]);
    assert.equal(rows.length, 1);
    const { eventId, occurredAt, ...event } = rows[0]!.payload;
    assert.match(String(eventId), /^[0-9a-f-]{36}$/);
    assert.match(String(occurredAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(event, {
      movementId: movement.id,
      reason: 'cancel',
      reference: refund,
      orderId: order.orderId,
      variantId: String(variant.variantId),
      productId: String(variant.productId),
      sku: variant.sku,
      inventoryItemId: String(variant.inventoryItemId),
      locationId: String(variant.locationId),
      delta: 4,
      availableAfter: 10,
      inventoryVersion: 3,
      shopifyKnows: true,
    });
    assert.deepEqual(
      [rows[0]!.message_key, rows[0]!.order_id, rows[0]!.headers['x-correlation-id']],
      [String(variant.variantId), order.orderId, correlationId],
    );
    const { rows: cancelled } = await dbPool().query<{ status: string; cancelled_at: Date }>(
      'SELECT status, cancelled_at FROM orders WHERE order_id = $1',
      [order.orderId],
    );
    assert.deepEqual(cancelled, [{ status: 'cancelled', cancelled_at: new Date('2026-11-24T15:00:00Z') }]);
  });

  it('writes one movement per refund line however many deliveries race, through either topic, beside orders of the same variants: no deadlock, stock = the sum of the movements', async () => {
    const [a, b] = [
      await createTestProduct({ availableQuantity: 100, atShopify: false }),
      await createTestProduct({ availableQuantity: 100, atShopify: false }),
    ];
    // Lines in both variant orders, so two orders' refunds want the variants' locks in opposite line order.
    const first = await commit([
      { product: a, quantity: 5 },
      { product: b, quantity: 3 },
    ]);
    const second = await commit([
      { product: b, quantity: 2 },
      { product: a, quantity: 4 },
    ]);
    const refundsOf = (order: Placed, quantities: number[]) =>
      order.lineItemIds.map((lineItemId, i) => ({
        id: refundLineId(),
        lineItemId,
        quantity: quantities[i]!,
        restockType: i % 2 ? 'return' : 'cancel',
      }));
    const firstRefunds = refundsOf(first, [5, 3]);
    const secondRefunds = refundsOf(second, [2, 4]);
    const deliveries = Array.from({ length: 24 }, (_, i) => {
      const [order, lines] = i % 2 ? [second, secondRefunds] : [first, firstRefunds];
      return () =>
        restocks(order.orderId, lines, { topic: i % 3 ? 'refunds/create' : 'orders/cancelled', eventId: i % 4 ? randomUUID() : null });
    });
    const orders = Array.from(
      { length: 6 },
      () => () =>
        call(api, 'POST', '/internal/orders', {
          body: commitBody([
            { product: a, quantity: 1 },
            { product: b, quantity: 1 },
          ]),
        }),
    );
    const answers = await Promise.all([...deliveries, ...orders].sort(() => Math.random() - 0.5).map((send) => send()));
    assert.deepEqual(
      answers.filter((r) => r.status !== 200 && r.status !== 201).map((r) => r.body),
      [],
    );

    assert.equal((await readMovements(a.variantId)).filter((m) => m.reason !== 'order' && m.reason !== 'import').length, 2);
    assert.equal((await readMovements(b.variantId)).filter((m) => m.reason !== 'order' && m.reason !== 'import').length, 2);
    assert.equal((await readInventory(a.variantId))!.availableQuantity, 100 - 6);
    assert.equal((await readInventory(b.variantId))!.availableQuantity, 100 - 6);
    await assertLedgerHolds([a.variantId, b.variantId]);
    for (const order of [first, second])
      assert.deepEqual(
        (await readOrderDetails(order.orderId)).map((d) => d.restocked === d.reserved),
        [true, true],
      );
  });

  it('remembers each event with its answer and the order as it found it, unknown and refused orders included', async () => {
    const variant = await createTestProduct({ availableQuantity: 5, atShopify: false });
    const order = await commit([{ product: variant, quantity: 2 }]);
    const refusedOrderId = String(randomOrderId());
    await call(api, 'POST', '/internal/orders/rejections', {
      body: { orderId: refusedOrderId, webhookId: 'w', code: 'INSUFFICIENT_INVENTORY', status: 422, detail: 'short', extensions: {} },
    });
    const unknownOrderId = String(randomOrderId());
    const events: Record<string, string> = { accepted: randomUUID(), refused: randomUUID(), unknown: randomUUID() };
    const line = (lineItemId: string) => [{ id: refundLineId(), lineItemId, quantity: 1, restockType: 'return' }];

    assert.deepEqual((await restocks(order.orderId, line(order.lineItemIds[0]!), { eventId: events.accepted })).body.restocked, [
      { variantId: String(variant.variantId), quantity: 1 },
    ]);
    for (const [orderId, eventId] of [
      [refusedOrderId, events.refused],
      [unknownOrderId, events.unknown],
    ] as const) {
      const res = await restocks(orderId, line(randomLineItemId()), { eventId });
      assert.deepEqual([res.status, res.body.restocked, res.body.movements], [200, [], []]);
    }
    const { rows } = await dbPool().query<{ event_id: string; topic: string; order_id: string; order_status: string; restocked: unknown }>(
      'SELECT event_id, topic, order_id::text, order_status, restocked FROM webhook_event WHERE event_id = ANY($1) ORDER BY order_status',
      [Object.values(events)],
    );
    assert.deepEqual(rows, [
      {
        event_id: events.accepted,
        topic: 'refunds/create',
        order_id: order.orderId,
        order_status: 'accepted',
        restocked: [{ variantId: String(variant.variantId), quantity: 1 }],
      },
      { event_id: events.refused, topic: 'refunds/create', order_id: refusedOrderId, order_status: 'refused', restocked: [] },
      { event_id: events.unknown, topic: 'refunds/create', order_id: unknownOrderId, order_status: 'unknown', restocked: [] },
    ]);
    assert.equal(await readOrder(unknownOrderId), null);

    const replay = await restocks(order.orderId, line(order.lineItemIds[0]!), { eventId: events.accepted });
    assert.deepEqual(replay.body, {
      orderId: order.orderId,
      orderStatus: 'accepted',
      replayed: true,
      restocked: [{ variantId: String(variant.variantId), quantity: 1 }],
      movements: [],
    });
    assert.equal((await readInventory(variant.variantId))!.availableQuantity, 4);
  });

  it('the ledger applies nothing for a key it holds: a plain insert is refused, ON CONFLICT DO NOTHING skips it, and a writer racing the first waits for it', async () => {
    const variant = await createTestProduct({ availableQuantity: 7, atShopify: false });
    const insert = (key: string, onConflict = '') =>
      `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key) VALUES (${variant.variantId}, 3, 'restock', 'test', '${key}') ${onConflict} RETURNING id`;
    const key = `test-key:${randomUUID()}`;
    await dbPool().query(insert(key));
    await assert.rejects(dbPool().query(insert(key)), { code: '23505', constraint: 'inventory_movement_idempotency_key_key' });
    assert.equal((await dbPool().query(insert(key, 'ON CONFLICT (idempotency_key) DO NOTHING'))).rowCount, 0);
    assert.equal((await readInventory(variant.variantId))!.availableQuantity, 10);

    for (const firstCommits of [true, false]) {
      const raced = `test-key:${randomUUID()}`;
      const [first, second] = [await dbPool().connect(), await dbPool().connect()];
      try {
        const pid = (await second.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        await first.query('BEGIN');
        await first.query(insert(raced));
        const waiting = second.query(insert(raced, 'ON CONFLICT (idempotency_key) DO NOTHING'));
        await waitFor(
          'the second writer to wait for the first',
          async () => {
            const { rows } = await dbPool().query<{ wait_event_type: string | null }>(
              'SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1',
              [pid],
            );
            return rows[0]?.wait_event_type === 'Lock';
          },
          10_000,
        );
        await first.query(firstCommits ? 'COMMIT' : 'ROLLBACK');
        assert.equal(
          (await waiting).rowCount,
          firstCommits ? 0 : 1,
          firstCommits ? 'the second writer skips the key the first wrote' : 'the first rolled back: the second writes it',
        );
      } finally {
        first.release();
        second.release();
      }
    }
    assert.equal((await readInventory(variant.variantId))!.availableQuantity, 16);
    await assertLedgerHolds([variant.variantId]);
  });
});

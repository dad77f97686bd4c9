import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { after, describe, it } from 'node:test';
import { closeDb, countOutboxRows, createTestProduct, dbPool, readOutboxRows } from '../support/db.js';
import { createTopic, deleteTopics, readEvents, uniqueTopic } from '../support/kafka.js';
import {
  call,
  capturingLogger,
  commitBody,
  eventually,
  readMovements,
  startDataApi,
  startRelay,
  type DataApiUnderTest,
} from './helpers.js';

/**
 * Each test writes to its own topic, so the stack's relay (which claims only `inventory-updates`
 * rows) never touches these rows and the stack's stream processor never sees these events.
 */
/** A port nothing listens on: bind, note the port, close. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server: Server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('order-manage-data-api: outbox relay', () => {
  const topics: string[] = [];
  const apis: DataApiUnderTest[] = [];

  async function freshTopic(): Promise<string> {
    const topic = uniqueTopic('data-api-outbox');
    await createTopic(topic, { partitions: 3 });
    topics.push(topic);
    return topic;
  }

  async function apiFor(topic: string): Promise<DataApiUnderTest> {
    const api = await startDataApi({ topic });
    apis.push(api);
    return api;
  }

  after(async () => {
    await Promise.all(apis.map((a) => a.close()));
    await dbPool().query('DELETE FROM outbox_event WHERE topic = ANY($1::text[])', [topics]);
    await deleteTopics(topics).catch(() => undefined);
    await closeDb();
  });

  it('publishes each movement’s event keyed by variant id with the correlation id header, then marks the rows published', async () => {
    const topic = await freshTopic();
    const api = await apiFor(topic);
    const { logger, lines } = capturingLogger();
    const relay = startRelay({ topic, logger });
    try {
      const a = await createTestProduct({ availableQuantity: 10 });
      const b = await createTestProduct({ availableQuantity: 20 });
      const body = commitBody([
        { product: a, quantity: 2 },
        { product: b, quantity: 5 },
      ]);
      const correlationId = `corr-${randomUUID()}`;
      const committedAfter = Date.now();
      assert.equal((await call(api, 'POST', '/internal/orders', { body, correlationId })).status, 201);
      const orderId = body.order.orderId;

      // The relay marks a row only once Kafka acknowledged its event: then the topic, read to its end, holds every copy.
      await eventually('rows marked published', async () => (await countOutboxRows(orderId, { unpublishedOnly: true })) === 0);
      const events = await readEvents<Record<string, unknown>>({
        topic,
        predicate: (e) => e.value.orderId === orderId,
        untilEnd: true,
        fromTimestamp: committedAfter,
      });
      assert.deepEqual(
        events.map((e) => e.key).sort(),
        [String(a.variantId), String(b.variantId)].sort(),
        'one event per variant, none twice',
      );

      const eventA = events.find((e) => e.key === String(a.variantId));
      assert.ok(eventA, 'an event keyed by variant A');
      assert.equal(eventA.headers['x-correlation-id'], correlationId);
      const rows = await readOutboxRows(orderId);
      const [, movementA] = await readMovements(a.variantId);
      assert.deepEqual(eventA.value, {
        eventId: rows.find((r) => r.messageKey === String(a.variantId))!.eventId,
        movementId: movementA!.id,
        reason: 'order',
        reference: orderId,
        orderId,
        variantId: String(a.variantId),
        productId: String(a.productId),
        sku: a.sku,
        inventoryItemId: String(a.inventoryItemId),
        locationId: String(a.locationId),
        delta: -2,
        availableAfter: 8,
        inventoryVersion: 2,
        occurredAt: eventA.value.occurredAt,
        shopifyKnows: true,
      });
      const eventB = events.find((e) => e.key === String(b.variantId));
      assert.deepEqual([eventB?.value.variantId, eventB?.value.delta, eventB?.value.availableAfter], [String(b.variantId), -5, 15]);

      await eventually('the inventory.event.published line', async () =>
        lines.some((l) => l.event === 'inventory.event.published' && l.orderId === orderId),
      );
      const line = lines.find((l) => l.event === 'inventory.event.published' && l.orderId === orderId)!;
      assert.equal(line.msg, `SUCCESS inventory events of order ${orderId} published to Kafka`);
      assert.equal(line.correlationId, correlationId);
      assert.deepEqual([...(line.variantIds as string[])].sort(), [String(a.variantId), String(b.variantId)].sort());
    } finally {
      await relay.stop();
    }
  });

  it('keeps accepting orders while Kafka is unreachable, holds their events, and publishes them once Kafka is back', async () => {
    const topic = await freshTopic();
    const api = await apiFor(topic);
    const deadPort = await closedPort();
    const { logger, lines } = capturingLogger();
    const down = startRelay({ topic, brokers: [`127.0.0.1:${deadPort}`], logger });
    const product = await createTestProduct({ availableQuantity: 10 });
    const orders = [commitBody([{ product, quantity: 1 }]), commitBody([{ product, quantity: 2 }])];
    try {
      for (const body of orders) assert.equal((await call(api, 'POST', '/internal/orders', { body })).status, 201);
      await eventually('the relay to warn that it cannot publish', async () => lines.some((l) => l.event === 'outbox.relay.failed'));
      assert.equal(lines.find((l) => l.event === 'outbox.relay.failed')?.level, 'warn');
      for (const body of orders) assert.equal(await countOutboxRows(body.order.orderId, { unpublishedOnly: true }), 1);
    } finally {
      await down.stop();
    }

    const up = startRelay({ topic });
    try {
      await eventually('rows marked published', async () => {
        const left = await Promise.all(orders.map((o) => countOutboxRows(o.order.orderId, { unpublishedOnly: true })));
        return left.every((n) => n === 0);
      });
      // Marked means acknowledged by Kafka: the topic, read to its end, holds every copy the relays sent.
      const ids = new Set(orders.map((o) => o.order.orderId));
      const events = await readEvents<Record<string, unknown>>({
        topic,
        predicate: (e) => ids.has(e.value.orderId as string),
        untilEnd: true,
      });
      assert.deepEqual(events.map((e) => e.value.availableAfter).sort(), [7, 9], 'one event per order, none twice');
    } finally {
      await up.stop();
    }
  });

  it('sends the first commit after a quiet spell at once, and gathers commits that follow a batch closely', async () => {
    const topic = await freshTopic();
    const api = await apiFor(topic);
    const product = await createTestProduct({ availableQuantity: 10 });

    // Lingering 10 minutes after a batch: the lone order can only go out within the poll if it does not linger.
    const patient = startRelay({ topic, lingerMs: 600_000 });
    try {
      const lone = commitBody([{ product, quantity: 1 }]);
      assert.equal((await call(api, 'POST', '/internal/orders', { body: lone })).status, 201);
      await eventually(
        'the lone order published without lingering',
        async () => (await countOutboxRows(lone.order.orderId, { unpublishedOnly: true })) === 0,
      );
    } finally {
      await patient.stop();
    }

    const lingerMs = 4_000;
    const relay = startRelay({ topic, lingerMs });
    try {
      const lead = commitBody([{ product, quantity: 1 }]);
      assert.equal((await call(api, 'POST', '/internal/orders', { body: lead })).status, 201);
      await eventually(
        'the lead order published',
        async () => (await countOutboxRows(lead.order.orderId, { unpublishedOnly: true })) === 0,
      );
      const followers = [
        commitBody([{ product, quantity: 2 }]),
        commitBody([{ product, quantity: 1 }]),
        commitBody([{ product, quantity: 1 }]),
      ];
      for (const body of followers) assert.equal((await call(api, 'POST', '/internal/orders', { body })).status, 201);
      await eventually('the followers published once the linger is over', async () => {
        const left = await Promise.all(followers.map((f) => countOutboxRows(f.order.orderId, { unpublishedOnly: true })));
        return left.every((n) => n === 0);
      });
      // One claim marks its whole batch with one transaction's now(); the times are the database's, not the test's.
      const [leadRow] = await readOutboxRows(lead.order.orderId);
      const followerRows = (await Promise.all(followers.map((f) => readOutboxRows(f.order.orderId)))).flat();
      assert.equal(new Set(followerRows.map((r) => r.publishedAt!.getTime())).size, 1, 'the followers went out as one batch');
      const gap = followerRows[0]!.publishedAt!.getTime() - leadRow!.publishedAt!.getTime();
      assert.ok(gap >= lingerMs, `right after a batch, the relay lingers (the next batch came ${gap} ms after it, linger ${lingerMs} ms)`);
    } finally {
      await relay.stop();
    }
  });

  it('publishes every event exactly once when two relays run at the same time', async () => {
    const topic = await freshTopic();
    const api = await apiFor(topic);
    const products = await Promise.all(Array.from({ length: 4 }, () => createTestProduct({ availableQuantity: 100 })));
    const orders = Array.from({ length: 12 }, (_, i) =>
      commitBody([
        { product: products[i % 4]!, quantity: 1 },
        { product: products[(i + 1) % 4]!, quantity: 1 },
      ]),
    );
    const relays = [startRelay({ topic }), startRelay({ topic })];
    try {
      await Promise.all(orders.map(async (body) => assert.equal((await call(api, 'POST', '/internal/orders', { body })).status, 201)));
      const ids = orders.map((o) => o.order.orderId);
      await eventually('all rows published', async () => {
        const { rows } = await dbPool().query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox_event WHERE order_id = ANY($1::bigint[]) AND published_at IS NULL',
          [ids.map(String)],
        );
        return rows[0]!.n === 0;
      });

      const idSet = new Set(ids);
      const events = await readEvents<Record<string, unknown>>({
        topic,
        predicate: (e) => idSet.has(e.value.orderId as string),
        untilEnd: true,
      });
      const eventIds = events.map((e) => e.value.eventId as string);
      assert.equal(eventIds.length, 24);
      assert.equal(new Set(eventIds).size, 24);
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
  });

  it('reports the unpublished backlog and the publish latency on /metrics', async () => {
    const topic = await freshTopic();
    const api = await apiFor(topic);
    const product = await createTestProduct({ availableQuantity: 5 });
    const down = startRelay({ topic, brokers: [`127.0.0.1:${await closedPort()}`], metrics: api.metrics });
    try {
      for (let i = 0; i < 2; i++) {
        assert.equal((await call(api, 'POST', '/internal/orders', { body: commitBody([{ product, quantity: 1 }]) })).status, 201);
      }
      const text = await (await fetch(`${api.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
      assert.match(text, /^outbox_backlog\{service="order-manage-data-api"\} 2$/m);
      assert.match(text, /^orders_committed_total\{service="order-manage-data-api"\} 2$/m);
    } finally {
      await down.stop();
    }

    const up = startRelay({ topic, metrics: api.metrics });
    try {
      await eventually('backlog drained', async () => {
        const text = await (await fetch(`${api.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
        return (
          /^outbox_backlog\{service="order-manage-data-api"\} 0$/m.test(text) &&
          /^outbox_publish_latency_seconds_count\{service="order-manage-data-api"\} 2$/m.test(text)
        );
      });
    } finally {
      await up.stop();
    }
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createDataApiMetrics, type DataApiMetrics } from '@oms/order-manage-data-api';
import { createKafka } from '../../services/order-manage-data-api/src/clients/kafka.js';
import { createPool } from '../../services/order-manage-data-api/src/db/pool.js';
import { OutboxRelay, type OutboxRelayOptions } from '../../services/order-manage-data-api/src/outbox/relay.js';
import { closeDb, dbPool, randomOrderId } from '../support/db.js';
import { waitFor } from '../support/eventually.js';
import { createTopic, deleteTopics, kafkaBrokers, kafkaClient, uniqueTopic } from '../support/kafka.js';
import { stackEnv } from '../support/stack-env.js';
import { capturingLogger, eventually, type LogLine } from './helpers.js';

/**
 * The outbox relay seen from outside: the rows it marks, the messages on the topic, its metrics and
 * its log lines. Each scenario inserts outbox rows as the commit path writes them (with the NOTIFY),
 * for topics of its own, so neither the stack's relay nor another test's relay claims them; the
 * scenarios run side by side. Kafka misbehaves without touching the shared broker: a topic that does
 * not exist yet, or a TCP gate in front of the broker that holds the connection until the test opens it.
 */

const SERVICE = 'order-manage-data-api';
const TEN_MINUTES_MS = 600_000;
/** Cleanup of what every scenario created, run once they are all done. */
const topicsToDelete: string[] = [];

interface NewRow {
  key: string;
  /** jsonb input text; the relay sends what PostgreSQL prints for it. */
  payload: string;
  headers?: Record<string, string>;
  /** null: a movement no order caused (a restock, a correction). */
  orderId: string | null;
  topic?: string;
}

/** Inserts the rows in one transaction with the commit path's NOTIFY; returns their ids in order. */
async function insertRows(topic: string, rows: NewRow[]): Promise<string[]> {
  const client = await dbPool().connect();
  try {
    await client.query('BEGIN');
    const ids: string[] = [];
    for (const row of rows) {
      const { rows: inserted } = await client.query<{ id: string }>(
        `INSERT INTO outbox_event (event_id, topic, message_key, payload, headers, order_id)
         VALUES (gen_random_uuid(), $1, $2, $3::jsonb, $4::jsonb, $5::bigint) RETURNING id::text`,
        [row.topic ?? topic, row.key, row.payload, JSON.stringify(row.headers ?? {}), row.orderId],
      );
      ids.push(inserted[0]!.id);
    }
    await client.query(`SELECT pg_notify('outbox_event', '')`);
    await client.query('COMMIT');
    return ids;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

interface RowState {
  id: string;
  createdAt: Date;
  publishedAt: Date | null;
  /** published_at to the microsecond: the time of the claim that marked the row. */
  claim: string | null;
}

async function rowStates(ids: string[]): Promise<RowState[]> {
  const { rows } = await dbPool().query<RowState>(
    `SELECT id::text AS id, created_at AS "createdAt", published_at AS "publishedAt", published_at::text AS claim
       FROM outbox_event WHERE id = ANY($1::bigint[]) ORDER BY id`,
    [ids],
  );
  return rows;
}

const allPublished = async (ids: string[]) => (await rowStates(ids)).every((r) => r.publishedAt !== null);

interface RawMessage {
  partition: number;
  offset: string;
  key: string;
  /** The value as sent, not parsed. */
  value: string;
  headers: Record<string, string>;
  /** The record batch's producer id: -1 unless an idempotent producer wrote it. */
  producerId: string;
}

/** Every message on `topic` up to its end now, in partition and offset order. */
async function readTopic(topic: string): Promise<RawMessage[]> {
  const kafka = kafkaClient();
  const admin = kafka.admin();
  const groupId = `test-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const total = offsets.reduce((n, p) => n + Number(BigInt(p.high) - BigInt(p.low)), 0);
    const messages: RawMessage[] = [];
    if (total === 0) return messages;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        // kafkajs keeps the record batch's header on each message, untyped.
        const batch = (message as unknown as { batchContext: { producerId: string } }).batchContext;
        messages.push({
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8') ?? '',
          value: message.value?.toString('utf8') ?? '',
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
          producerId: batch.producerId,
        });
      },
    });
    await waitFor(`${total} message(s) on ${topic}`, async () => messages.length >= total);
    return messages.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

async function freshTopic(create = true): Promise<string> {
  const topic = uniqueTopic('data-api-relay');
  topicsToDelete.push(topic);
  if (create) await createTopic(topic);
  return topic;
}

/**
 * A TCP gate in front of the stack's broker for a relay to bootstrap through. Held, it accepts
 * connections and answers nothing (Kafka not answering); opened, it passes them through. Only the
 * bootstrap goes through it: the broker's metadata then sends the client to its own address.
 */
async function kafkaGate(state: 'held' | 'open') {
  const [host, port] = kafkaBrokers()[0]!.split(':');
  let holding = state === 'held';
  let connections = 0;
  const held: Socket[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  };
  const pass = (client: Socket) => {
    if (client.destroyed) return;
    const upstream = connect(Number(port), host);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  const server = createServer((client) => {
    connections += 1;
    track(client);
    if (holding) held.push(client);
    else pass(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    broker: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    open() {
      holding = false;
      for (const client of held.splice(0)) pass(client);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type RelaySettings = Pick<OutboxRelayOptions, 'pollIntervalMs' | 'lingerMs' | 'batchSize' | 'sendTimeoutMs' | 'maxBackoffMs'> & {
  brokers?: string[];
  poolMax?: number;
  /** false: its LISTEN session cannot connect, so only its own passes and wake() move it (no other test's commit). */
  listen?: boolean;
};

/** A relay as main.ts builds it (unset settings keep their defaults), with its own pool, metrics and log. */
function relayFor(topics: string[], settings: RelaySettings = {}) {
  const env = stackEnv();
  const name = `oms-test-relay-${randomUUID().slice(0, 8)}`;
  const { logger, lines } = capturingLogger();
  const metrics = createDataApiMetrics();
  const pool = createPool({ databaseUrl: env.DATABASE_URL, max: settings.poolMax ?? 3, logger, applicationName: name });
  // A client comes back to the pool when a pass (or the check after it) is over.
  let released = 0;
  pool.on('release', () => (released += 1));
  const unreachable = new URL(env.DATABASE_URL);
  unreachable.port = '1';
  const relay = new OutboxRelay({
    pool,
    databaseUrl: settings.listen === false ? unreachable.toString() : env.DATABASE_URL,
    kafka: createKafka({ brokers: settings.brokers ?? kafkaBrokers(), logger }),
    topics,
    logger,
    metrics,
    pollIntervalMs: settings.pollIntervalMs,
    lingerMs: settings.lingerMs,
    batchSize: settings.batchSize,
    sendTimeoutMs: settings.sendTimeoutMs,
    maxBackoffMs: settings.maxBackoffMs,
    listenerApplicationName: `${name}-listen`,
  });
  let stopped: Promise<void> | undefined;
  return {
    relay,
    pool,
    metrics,
    lines,
    listenerName: `${name}-listen`,
    releases: () => released,
    stop: () => (stopped ??= relay.stop().then(() => pool.end())),
  };
}

type RelayUnderTest = ReturnType<typeof relayFor>;

/** The value of one unlabelled series on the relay's /metrics text. */
async function metric(metrics: DataApiMetrics, series: string): Promise<number> {
  const text = await metrics.registry.metrics();
  const match = new RegExp(`^${series}\\{service="${SERVICE}"\\} (\\S+)$`, 'm').exec(text);
  assert.ok(match, `${series} is on /metrics`);
  return Number(match[1]);
}

/** Its LISTEN session is connected and has run LISTEN, so commits from now on wake it. */
async function listening(applicationName: string): Promise<boolean> {
  const { rows } = await dbPool().query(
    `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle' AND query = 'LISTEN outbox_event'`,
    [applicationName],
  );
  return rows.length > 0;
}

async function sessions(applicationName: string): Promise<number> {
  const { rows } = await dbPool().query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
    applicationName,
  ]);
  return rows[0]!.n;
}

const linesOf = (lines: LogLine[], event: string) => lines.filter((l) => l.event === event);

describe('order-manage-data-api: outbox relay behaviour', { concurrency: true }, () => {
  const relays: RelayUnderTest[] = [];
  const gates: Array<Awaited<ReturnType<typeof kafkaGate>>> = [];
  const start = (topics: string[], settings?: RelaySettings) => {
    const r = relayFor(topics, settings);
    relays.push(r);
    r.relay.start();
    return r;
  };
  const gate = async (state: 'held' | 'open') => {
    const g = await kafkaGate(state);
    gates.push(g);
    return g;
  };

  after(async () => {
    await Promise.all(relays.map((r) => r.stop().catch(() => undefined)));
    await Promise.all(gates.map((g) => g.close()));
    await dbPool().query('DELETE FROM outbox_event WHERE topic = ANY($1::text[])', [topicsToDelete]);
    await deleteTopics(topicsToDelete).catch(() => undefined);
    await closeDb();
  });

  describe('publishing a batch', { concurrency: false }, () => {
    const orderA = String(randomOrderId());
    const orderB = String(randomOrderId());
    let topic: string;
    let ids: string[];
    let r: RelayUnderTest;
    let rows: RowState[];
    let messages: RawMessage[];
    let countedBy: number;

    before(async () => {
      topic = await freshTopic();
      // Written before the relay starts, so its first pass claims all four in one batch.
      ids = await insertRows(topic, [
        {
          key: 'v-1',
          orderId: orderA,
          headers: { 'x-correlation-id': 'corr-a', 'x-event-type': 'inventory.movement' },
          payload: '{"variantId": "v-1", "delta": -2, "note": "a \\"quoted\\" é", "big": 820982911946154508, "at": 1.50}',
        },
        { key: 'v-2', orderId: orderA, headers: { 'x-correlation-id': 'corr-a' }, payload: '{"variantId":"v-2","delta":-1}' },
        {
          key: 'v-3',
          orderId: null,
          headers: { 'x-correlation-id': 'corr-restock' },
          payload: '{"variantId":"v-3","delta":5,"reason":"restock"}',
        },
        { key: 'v-4', orderId: orderB, headers: { 'x-correlation-id': 'corr-b' }, payload: '{"variantId":"v-4","delta":-3}' },
      ]);
      r = start([topic]);
      await eventually('the four rows published', () => allPublished(ids));
      await eventually('the published counter at 4', async () => (await metric(r.metrics, 'outbox_events_published_total')) === 4);
      // The latency of each row was observed before the counter moved, so no later than now.
      countedBy = Date.now();
      rows = await rowStates(ids);
      messages = await readTopic(topic);
      await eventually('both orders logged', async () => linesOf(r.lines, 'inventory.event.published').length >= 2);
    });

    it('marks every claimed row published, all four in one claim', () => {
      assert.equal(rows.length, 4);
      assert.ok(rows[0]!.claim);
      assert.deepEqual(
        rows.map((row) => row.claim),
        rows.map(() => rows[0]!.claim),
        'one claim marks its whole batch with one transaction time',
      );
    });

    it('sends each row as one message in id order: its key, the payload text exactly as PostgreSQL prints it, and its headers', () => {
      assert.deepEqual(
        messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
        [
          {
            key: 'v-1',
            value: '{"at": 1.50, "big": 820982911946154508, "note": "a \\"quoted\\" é", "delta": -2, "variantId": "v-1"}',
            headers: { 'x-correlation-id': 'corr-a', 'x-event-type': 'inventory.movement' },
          },
          { key: 'v-2', value: '{"delta": -1, "variantId": "v-2"}', headers: { 'x-correlation-id': 'corr-a' } },
          { key: 'v-3', value: '{"delta": 5, "reason": "restock", "variantId": "v-3"}', headers: { 'x-correlation-id': 'corr-restock' } },
          { key: 'v-4', value: '{"delta": -3, "variantId": "v-4"}', headers: { 'x-correlation-id': 'corr-b' } },
        ],
      );
    });

    it('writes through an idempotent producer: every record batch carries a producer id', () => {
      assert.equal(messages.length, 4);
      for (const m of messages) assert.notEqual(m.producerId, '-1', `message ${m.key} written by an idempotent producer`);
    });

    it('logs one SUCCESS line per order, with its correlation id, topic and variant ids, and none for the row without an order', () => {
      const published = linesOf(r.lines, 'inventory.event.published');
      assert.equal(published.length, 2, 'one line per order');
      const fields = (orderId: string) => {
        const l = published.find((line) => line.orderId === orderId);
        return l && { level: l.level, msg: l.msg, correlationId: l.correlationId, topic: l.topic, variantIds: l.variantIds };
      };
      assert.deepEqual(fields(orderA), {
        level: 'info',
        msg: `SUCCESS inventory events of order ${orderA} published to Kafka`,
        correlationId: 'corr-a',
        topic,
        variantIds: ['v-1', 'v-2'],
      });
      assert.deepEqual(fields(orderB), {
        level: 'info',
        msg: `SUCCESS inventory events of order ${orderB} published to Kafka`,
        correlationId: 'corr-b',
        topic,
        variantIds: ['v-4'],
      });
    });

    it('counts the published events and how long each waited between its commit and Kafka’s acknowledgement', async () => {
      assert.equal(await metric(r.metrics, 'outbox_events_published_total'), 4);
      assert.equal(await metric(r.metrics, 'outbox_publish_latency_seconds_count'), 4);
      // Each event was acknowledged after its claim (published_at) and before the counter was read.
      const atLeast = rows.reduce((s, row) => s + (row.publishedAt!.getTime() - row.createdAt.getTime()) / 1000, 0);
      const atMost = rows.reduce((s, row) => s + (countedBy - row.createdAt.getTime()) / 1000, 0);
      const sum = await metric(r.metrics, 'outbox_publish_latency_seconds_sum');
      assert.ok(atLeast > 0 && sum >= atLeast - 1e-9 && sum <= atMost + 1e-9, `latency sum ${sum} s within [${atLeast}, ${atMost}]`);
    });

    it('reports no failure and no recovery while Kafka takes every batch, and an empty backlog', async () => {
      assert.deepEqual(linesOf(r.lines, 'outbox.relay.failed'), []);
      assert.deepEqual(linesOf(r.lines, 'outbox.relay.recovered'), []);
      assert.equal(await metric(r.metrics, 'outbox_publish_failures_total'), 0);
      assert.equal(await metric(r.metrics, 'outbox_backlog'), 0);
    });
  });

  describe('more rows waiting than one batch holds', { concurrency: false }, () => {
    const orderP = String(randomOrderId());
    const orderQ = String(randomOrderId());
    let ids: string[];
    let r: RelayUnderTest;
    let rows: RowState[];
    let messages: RawMessage[];

    before(async () => {
      const topic = await freshTopic();
      ids = await insertRows(topic, [
        { key: 'p-1', orderId: orderP, payload: '{"n": 1}' },
        { key: 'p-2', orderId: orderP, payload: '{"n": 2}' },
        { key: 'p-3', orderId: orderP, payload: '{"n": 3}' },
        { key: 'q-1', orderId: orderQ, payload: '{"n": 4}' },
        { key: 'q-2', orderId: orderQ, payload: '{"n": 5}' },
      ]);
      // No LISTEN session and a ten-minute poll: only the relay's own passes publish anything.
      r = start([topic], { batchSize: 2, pollIntervalMs: TEN_MINUTES_MS, listen: false });
      await eventually('all five rows published', () => allPublished(ids));
      rows = await rowStates(ids);
      messages = await readTopic(topic);
      await eventually('both orders logged', async () => linesOf(r.lines, 'inventory.event.published').length >= 2);
    });

    it('publishes every row, in id order, without waiting for a poll between full batches', () => {
      assert.deepEqual(
        messages.map((m) => [m.key, m.value]),
        [
          ['p-1', '{"n": 1}'],
          ['p-2', '{"n": 2}'],
          ['p-3', '{"n": 3}'],
          ['q-1', '{"n": 4}'],
          ['q-2', '{"n": 5}'],
        ],
      );
    });

    it('claims at most batchSize rows per batch', () => {
      // Rows of one claim share its transaction time; each claim has its own.
      const claims = rows.map((row) => row.claim);
      assert.equal(claims[0], claims[1]);
      assert.equal(claims[2], claims[3]);
      assert.equal(new Set(claims).size, 3, `three claims of 2, 2 and 1 rows (${claims.join(', ')})`);
    });

    it('logs an order’s SUCCESS line once, when its last event is published', () => {
      const published = linesOf(r.lines, 'inventory.event.published');
      assert.deepEqual(published.map((l) => l.orderId).sort(), [orderP, orderQ].sort());
    });
  });

  describe('an idle relay', { concurrency: false }, () => {
    let topic: string;
    let g: Awaited<ReturnType<typeof kafkaGate>>;
    let r: RelayUnderTest;
    let connectionsWhileIdle: number;

    before(async () => {
      topic = await freshTopic();
      g = await gate('open');
      // Poll and linger of ten minutes: only a notification can make this relay publish within the test.
      r = start([topic], { brokers: [g.broker], pollIntervalMs: TEN_MINUTES_MS, lingerMs: TEN_MINUTES_MS });
      await eventually(
        'the relay listening, with a pass over the empty outbox done',
        async () => r.releases() >= 1 && (await listening(r.listenerName)),
      );
      connectionsWhileIdle = g.connections();
    });

    it('does not connect to Kafka while the outbox holds nothing for it', () => {
      assert.equal(connectionsWhileIdle, 0);
    });

    it('publishes a commit as soon as its notification arrives, without waiting for its poll or linger', async () => {
      const ids = await insertRows(topic, [{ key: 'w-1', orderId: String(randomOrderId()), payload: '{"n": 1}' }]);
      await eventually('the notified row published', () => allPublished(ids));
      assert.deepEqual(
        (await readTopic(topic)).map((m) => m.key),
        ['w-1'],
      );
      assert.ok(g.connections() >= 1, 'the relay connected to Kafka once it had something to publish');
    });
  });

  it('does not lose a wake-up that comes while a batch is waiting for Kafka', async () => {
    const topic = await freshTopic();
    const g = await gate('held');
    const [first] = await insertRows(topic, [{ key: 'a', orderId: String(randomOrderId()), payload: '{"n": 1}' }]);
    // No LISTEN session (so no other test's commit wakes it) and a ten-minute poll: wake() is the
    // only way the second row goes out within the test.
    const r = start([topic], { brokers: [g.broker], listen: false, pollIntervalMs: TEN_MINUTES_MS, sendTimeoutMs: TEN_MINUTES_MS });
    await eventually('the relay sending the first row', async () => g.connections() >= 1);
    const [second] = await insertRows(topic, [{ key: 'b', orderId: String(randomOrderId()), payload: '{"n": 2}' }]);
    // What the LISTEN session does for a notification.
    r.relay.wake();
    g.open();
    await eventually('both rows published', () => allPublished([first!, second!]));
    assert.deepEqual(
      (await readTopic(topic)).map((m) => m.key),
      ['a', 'b'],
    );
  });

  it('opens no second LISTEN session when started again while running, and stop() leaves none behind', async () => {
    const topic = await freshTopic();
    const r = start([topic], { pollIntervalMs: TEN_MINUTES_MS });
    r.relay.start();
    await eventually('the relay listening', () => listening(r.listenerName));
    const ids = await insertRows(topic, [{ key: 's-1', orderId: String(randomOrderId()), payload: '{"n": 1}' }]);
    await eventually('the row published', () => allPublished(ids));
    await r.stop();
    await eventually('no session of the relay left', async () => (await sessions(r.listenerName)) === 0);
  });

  describe('stopped while Kafka has not answered a send', { concurrency: false }, () => {
    let topic: string;
    let ids: string[];
    let r: RelayUnderTest;
    let rowsAfterStop: RowState[];

    before(async () => {
      topic = await freshTopic();
      const g = await gate('held');
      ids = await insertRows(topic, [
        { key: 'x-1', orderId: String(randomOrderId()), payload: '{"n": 1}' },
        { key: 'x-2', orderId: String(randomOrderId()), payload: '{"n": 2}' },
      ]);
      r = start([topic], { brokers: [g.broker], sendTimeoutMs: TEN_MINUTES_MS });
      await eventually('the relay sending', async () => g.connections() >= 1);
      const stopped = r.stop();
      // Kafka answering now must not revive the abandoned send.
      g.open();
      await stopped;
      rowsAfterStop = await rowStates(ids);
    });

    it('leaves the rows of the abandoned send unpublished', () => {
      assert.deepEqual(
        rowsAfterStop.map((row) => row.publishedAt),
        [null, null],
      );
    });

    it('reports no failure for a send that stop() abandoned', async () => {
      assert.deepEqual(linesOf(r.lines, 'outbox.relay.failed'), []);
      assert.equal(await metric(r.metrics, 'outbox_publish_failures_total'), 0);
      assert.equal(await metric(r.metrics, 'outbox_events_published_total'), 0);
    });

    it('leaves the rows for the next relay, which publishes each once', async () => {
      start([topic]);
      await eventually('the rows published by the next relay', () => allPublished(ids));
      assert.deepEqual(
        (await readTopic(topic)).map((m) => m.key),
        ['x-1', 'x-2'],
      );
    });
  });

  it('does not send rows it claims once stop() has been called', async () => {
    const topic = await freshTopic();
    // One connection: while the test holds it, the relay's next pass waits for it.
    const r = start([topic], { poolMax: 1, pollIntervalMs: TEN_MINUTES_MS, sendTimeoutMs: TEN_MINUTES_MS });
    await eventually('the relay listening, with a pass done', async () => r.releases() >= 1 && (await listening(r.listenerName)));
    const held = await r.pool.connect();
    const ids = await insertRows(topic, [{ key: 'c-1', orderId: String(randomOrderId()), payload: '{"n": 1}' }]);
    await eventually('the notified relay waiting for a connection', async () => r.pool.waitingCount >= 1);
    const stopped = r.stop();
    held.release();
    await stopped;
    assert.deepEqual(
      (await rowStates(ids)).map((row) => row.publishedAt),
      [null],
    );
    assert.deepEqual(await readTopic(topic), []);
  });

  describe('Kafka outages', { concurrency: false }, () => {
    const outage = { rows: [] as RowState[], backlog: -1, failures: -1, lines: [] as LogLine[] };
    const second = { lines: [] as LogLine[] };
    let r: RelayUnderTest;
    let firstIds: string[];
    let secondIds: string[];

    before(async () => {
      // Kafka refuses events for a topic it does not have; the test creates each topic to end its outage.
      const topicA = await freshTopic(false);
      const topicB = await freshTopic(false);
      firstIds = await insertRows(topicA, [
        { key: 'o-1', orderId: String(randomOrderId()), payload: '{"n": 1}' },
        { key: 'o-2', orderId: String(randomOrderId()), payload: '{"n": 2}' },
      ]);
      r = start([topicA, topicB], { maxBackoffMs: 1_000 });
      await eventually('two failed attempts', async () => (await metric(r.metrics, 'outbox_publish_failures_total')) >= 2, 30_000);
      outage.rows = await rowStates(firstIds);
      outage.backlog = await metric(r.metrics, 'outbox_backlog');
      outage.failures = await metric(r.metrics, 'outbox_publish_failures_total');
      outage.lines = [...r.lines];
      await createTopic(topicA);
      await eventually('the held rows published', () => allPublished(firstIds), 30_000);
      await eventually('the recovery logged', async () => linesOf(r.lines, 'outbox.relay.recovered').length >= 1);

      secondIds = await insertRows(topicB, [{ key: 'o-3', orderId: String(randomOrderId()), payload: '{"n": 3}' }]);
      await eventually('the second outage', async () => linesOf(r.lines, 'outbox.relay.failed').length >= 2, 30_000);
      await createTopic(topicB);
      await eventually('the second outage over', () => allPublished(secondIds), 30_000);
      await eventually('the second recovery logged', async () => linesOf(r.lines, 'outbox.relay.recovered').length >= 2);
      second.lines = [...r.lines];
    });

    it('keeps the events in the outbox, and counts them as its backlog, while Kafka does not take them', () => {
      assert.deepEqual(
        outage.rows.map((row) => row.publishedAt),
        [null, null],
      );
      assert.equal(outage.backlog, 2);
    });

    it('warns once when an outage starts, naming the attempt and the cause, and counts every failed batch', () => {
      assert.ok(outage.failures >= 2);
      assert.deepEqual(
        linesOf(outage.lines, 'outbox.relay.failed').map((l) => [l.level, l.msg]),
        [['warn', 'outbox relay cannot publish (attempt 1); events stay in the outbox: This server does not host this topic-partition']],
      );
      assert.deepEqual(linesOf(outage.lines, 'outbox.relay.recovered'), []);
    });

    it('logs that it publishes again once Kafka takes the events, and publishes them', async () => {
      const recovered = linesOf(second.lines, 'outbox.relay.recovered');
      assert.deepEqual(
        recovered.map((l) => [l.level, l.msg]),
        [
          ['info', 'outbox relay publishing again'],
          ['info', 'outbox relay publishing again'],
        ],
      );
      assert.ok(second.lines.indexOf(recovered[0]!) > second.lines.indexOf(linesOf(second.lines, 'outbox.relay.failed')[0]!));
      assert.equal(await metric(r.metrics, 'outbox_events_published_total'), 3);
      assert.equal(await metric(r.metrics, 'outbox_backlog'), 0);
    });

    it('warns again when a later outage starts', () => {
      assert.deepEqual(
        linesOf(second.lines, 'outbox.relay.failed').map((l) => l.msg),
        [
          'outbox relay cannot publish (attempt 1); events stay in the outbox: This server does not host this topic-partition',
          'outbox relay cannot publish (attempt 1); events stay in the outbox: This server does not host this topic-partition',
        ],
      );
    });
  });

  it('fails a batch Kafka does not acknowledge within sendTimeoutMs, says so, and publishes it once Kafka answers', async () => {
    const topic = await freshTopic();
    const g = await gate('held');
    const ids = await insertRows(topic, [{ key: 't-1', orderId: String(randomOrderId()), payload: '{"n": 1}' }]);
    const r = start([topic], { brokers: [g.broker], sendTimeoutMs: 1_000, maxBackoffMs: 1_000 });
    await eventually('the batch failed', async () => (await metric(r.metrics, 'outbox_publish_failures_total')) === 1);
    assert.deepEqual(
      (await rowStates(ids)).map((row) => row.publishedAt),
      [null],
    );
    g.open();
    await eventually('the row published', () => allPublished(ids));
    await eventually('the recovery logged', async () => linesOf(r.lines, 'outbox.relay.recovered').length === 1);
    assert.deepEqual(
      linesOf(r.lines, 'outbox.relay.failed').map((l) => [l.level, l.msg]),
      [['warn', 'outbox relay cannot publish (attempt 1); events stay in the outbox: Kafka did not acknowledge within 1000 ms']],
    );
  });

  it('warns when the database cannot tell which orders are complete, and still publishes their events', async () => {
    const topic = await freshTopic();
    const g = await gate('held');
    const orderId = String(randomOrderId());
    const ids = await insertRows(topic, [{ key: 'd-1', orderId, payload: '{"n": 1}' }]);
    // The relay shares the data-api's pool: here other work holds every connection once the batch commits.
    const r = start([topic], { brokers: [g.broker], poolMax: 2, sendTimeoutMs: TEN_MINUTES_MS });
    await eventually('the relay sending', async () => g.connections() >= 1);
    const busy = await r.pool.connect();
    const queued = r.pool.connect();
    g.open();
    try {
      await eventually('the warning', async () => linesOf(r.lines, 'outbox.relay.failed').length >= 1);
    } finally {
      busy.release();
      (await queued).release();
    }
    assert.deepEqual(
      linesOf(r.lines, 'outbox.relay.failed').map((l) => [l.level, l.msg]),
      [['warn', 'could not confirm published orders: timeout exceeded when trying to connect']],
    );
    assert.ok(await allPublished(ids));
    assert.deepEqual(linesOf(r.lines, 'inventory.event.published'), []);
  });
});

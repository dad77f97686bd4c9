import type { Kafka, Message, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type pg from 'pg';
import type { Logger } from '@oms/common';
import { inTransaction } from '../db/pool.js';
import type { DataApiMetrics } from '../metrics.js';
import { OutboxListener } from './listener.js';

export interface OutboxRelayOptions {
  pool: pg.Pool;
  /** For the LISTEN session, which must not come from the pool. */
  databaseUrl: string;
  kafka: Kafka;
  /** Only rows for these topics are claimed, so relays of different deployments (or tests) never take each other's rows. */
  topics: string[];
  logger: Logger;
  metrics?: DataApiMetrics;
  pollIntervalMs?: number;
  /**
   * How long to wait after a wake-up that comes within this long of the last batch, so commits
   * streaming in go out several to a batch; the first commit after a quiet spell goes out at once.
   */
  lingerMs?: number;
  batchSize?: number;
  sendTimeoutMs?: number;
  maxBackoffMs?: number;
  /** application_name of the LISTEN session. */
  listenerApplicationName?: string;
}

interface OutboxRow {
  id: string;
  topic: string;
  message_key: string;
  /** The event's JSON as PostgreSQL prints the jsonb: sent as it is, never parsed here. */
  payload: string;
  headers: Record<string, string>;
  /** null for a movement no order caused (a restock, a correction). */
  order_id: string | null;
  created_at: Date;
}

const WARN_EVERY_MS = 30_000;

/**
 * Publishes committed outbox rows to Kafka. Rows are claimed in id order with FOR UPDATE SKIP
 * LOCKED inside a short transaction, sent through an idempotent producer, and marked published
 * only after Kafka acknowledged them, so an event is published at least once and, with a single
 * healthy relay, exactly once (consumers dedupe on eventId for the rest). Several relays may run:
 * SKIP LOCKED hands each row to one of them. Kafka being down never touches the commit path: the
 * rows wait, and the relay retries with backoff.
 */
export class OutboxRelay {
  private readonly listener: OutboxListener;
  private readonly pollIntervalMs: number;
  private readonly lingerMs: number;
  private readonly batchSize: number;
  private readonly sendTimeoutMs: number;
  private readonly maxBackoffMs: number;
  private producerReady: Promise<Producer> | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private abandon = new AbortController();
  private wakeRequested = false;
  private wakeUp: (() => void) | undefined;
  private failures = 0;
  private lastWarnAt = 0;
  private lastBatchAt = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1_500;
    this.lingerMs = options.lingerMs ?? 50;
    this.batchSize = options.batchSize ?? 100;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.listener = new OutboxListener({
      databaseUrl: options.databaseUrl,
      logger: options.logger,
      onNotify: () => this.wake(),
      applicationName: options.listenerApplicationName,
    });
    options.metrics?.setBacklogSource(() => this.backlog());
  }

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.abandon = new AbortController();
    this.listener.start();
    this.running = this.loop();
  }

  /**
   * Stops claiming. A send still waiting for Kafka is abandoned, so shutdown is not held up by an
   * outage: its rows roll back and stay unpublished (if Kafka acked after all, the next relay
   * publishes them again; consumers dedupe on eventId).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abandon.abort();
    this.wake();
    await this.listener.stop();
    await this.running;
    this.running = undefined;
    await this.dropProducer();
  }

  wake(): void {
    this.wakeRequested = true;
    this.wakeUp?.();
  }

  async backlog(): Promise<number> {
    const { rows } = await this.options.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox_event WHERE published_at IS NULL AND topic = ANY($1::text[])',
      [this.options.topics],
    );
    return rows[0]?.n ?? 0;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let claimed: number;
      try {
        claimed = await this.publishBatch();
        if (claimed > 0) this.lastBatchAt = Date.now();
        if (this.failures > 0) {
          this.options.logger.info('outbox relay publishing again', { event: 'outbox.relay.recovered' });
        }
        this.failures = 0;
      } catch (err) {
        if (this.stopping) break;
        this.failures += 1;
        this.options.metrics?.outboxPublishFailures.inc();
        await this.dropProducer();
        this.warn(err);
        await this.pause(Math.min(this.maxBackoffMs, 250 * 2 ** Math.min(this.failures, 8)), false);
        continue;
      }
      if (claimed < this.batchSize) {
        await this.pause(this.pollIntervalMs, true);
        // Every batch costs the same four round trips and one Kafka send however few rows it holds.
        if (this.lingerMs > 0 && Date.now() - this.lastBatchAt < this.lingerMs) await this.pause(this.lingerMs, false);
      }
    }
  }

  /** One warning when an outage starts, then one every 30 s while it lasts. */
  private warn(err: unknown): void {
    const now = Date.now();
    if (this.failures > 1 && now - this.lastWarnAt < WARN_EVERY_MS) return;
    this.lastWarnAt = now;
    this.options.logger.warn(
      `outbox relay cannot publish (attempt ${this.failures}); events stay in the outbox: ${err instanceof Error ? err.message : String(err)}`,
      { event: 'outbox.relay.failed' },
    );
  }

  /** Sleeps until the timer, or a notification when `wakeable` (a backoff ignores notifications). */
  private async pause(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopping || (wakeable && this.wakeRequested)) {
      this.wakeRequested = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = () => {
        if (wakeable || this.stopping) done();
      };
    });
    this.wakeUp = undefined;
    this.wakeRequested = false;
  }

  private async producer(): Promise<Producer> {
    if (!this.producerReady) {
      const producer = this.options.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
      });
      this.producerReady = producer.connect().then(() => producer);
    }
    return this.producerReady;
  }

  /** After a failure the idempotent producer's sequence state is suspect: start a fresh one. */
  private async dropProducer(): Promise<void> {
    const current = this.producerReady;
    this.producerReady = undefined;
    const producer = await current?.catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
  }

  private async send(rows: OutboxRow[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const row of rows) {
      const messages = byTopic.get(row.topic) ?? [];
      messages.push({ key: row.message_key, value: row.payload, headers: row.headers });
      byTopic.set(row.topic, messages);
    }
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Kafka did not acknowledge within ${this.sendTimeoutMs} ms`)), this.sendTimeoutMs);
      onAbort = () => reject(new Error('relay stopping'));
      if (this.abandon.signal.aborted) onAbort();
      else this.abandon.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const producer = await Promise.race([this.producer(), deadline]);
      await Promise.race([
        producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) }),
        deadline,
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) this.abandon.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Claims, sends and marks one batch; returns how many rows it published. */
  private async publishBatch(): Promise<number> {
    const { pool } = this.options;
    const published = await inTransaction(pool, async (client) => {
      // Claimed and marked in one statement: the mark only lands if Kafka acknowledged before COMMIT;
      // a failed send rolls it back.
      const { rows } = await client.query<OutboxRow>({
        name: 'outbox-claim',
        text: `WITH claimed AS (
           UPDATE outbox_event AS e SET published_at = now()
             FROM (SELECT id FROM outbox_event
                    WHERE published_at IS NULL AND topic = ANY($1::text[])
                    ORDER BY id
                    LIMIT $2
                      FOR UPDATE SKIP LOCKED) AS unpublished
            WHERE e.id = unpublished.id
            RETURNING e.id, e.topic, e.message_key, e.payload::text AS payload, e.headers, e.order_id, e.created_at
         )
         SELECT * FROM claimed ORDER BY id`,
        values: [this.options.topics, this.batchSize],
      });
      if (rows.length === 0) return rows;
      await this.send(rows);
      return rows;
    });
    if (published.length === 0) return 0;
    const ackedAt = Date.now();
    for (const row of published) {
      this.options.metrics?.outboxPublishLatency.observe(Math.max(0, (ackedAt - row.created_at.getTime()) / 1000));
    }
    this.options.metrics?.outboxPublished.inc(published.length);
    await this.logCompletedOrders(published);
    return published.length;
  }

  /**
   * The success marker is per order: written once none of its events is left unpublished. Checked
   * after our commit, so when two relays share an order's events at least one of them sees it complete.
   */
  private async logCompletedOrders(rows: OutboxRow[]): Promise<void> {
    const orderIds = [...new Set(rows.flatMap((r) => (r.order_id === null ? [] : [r.order_id])))];
    try {
      const { rows: done } = await this.options.pool.query<{ order_id: string }>({
        name: 'outbox-completed-orders',
        text: `SELECT o.order_id FROM unnest($1::bigint[]) AS o(order_id)
          WHERE NOT EXISTS (SELECT 1 FROM outbox_event e WHERE e.order_id = o.order_id AND e.published_at IS NULL)`,
        values: [orderIds],
      });
      for (const { order_id } of done) {
        const mine = rows.filter((r) => r.order_id === order_id);
        this.options.logger.info(`SUCCESS inventory events of order ${order_id} published to Kafka`, {
          event: 'inventory.event.published',
          orderId: order_id,
          correlationId: mine[0]?.headers['x-correlation-id'],
          topic: mine[0]?.topic,
          variantIds: mine.map((r) => r.message_key),
        });
      }
    } catch (err) {
      this.options.logger.warn(`could not confirm published orders: ${err instanceof Error ? err.message : String(err)}`, {
        event: 'outbox.relay.failed',
      });
    }
  }
}

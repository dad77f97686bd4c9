import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { stackEnv } from './stack-env.js';

/**
 * Kafka helpers for tests. Each reader uses its own consumer group, so it never takes messages
 * from the services' consumers or from another test, and reads the topic from the beginning,
 * keeping only what the predicate accepts (filter on something unique to the test: an order id).
 */

export function kafkaBrokers(): string[] {
  return stackEnv()
    .KAFKA_BROKERS.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}

export function kafkaClient(brokers: string[] = kafkaBrokers()): Kafka {
  return new Kafka({ clientId: `test-${randomUUID().slice(0, 8)}`, brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3_000 });
}

/** A topic name no other test uses; create it with `createTopic`. */
export function uniqueTopic(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

/** The broker does not auto-create topics: tests create their own (and delete them afterwards). */
export async function createTopic(topic: string, options: { partitions?: number; brokers?: string[] } = {}): Promise<void> {
  const admin = kafkaClient(options.brokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: options.partitions ?? 1, replicationFactor: 1 }] });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopics(topics: string[], options: { brokers?: string[] } = {}): Promise<void> {
  if (topics.length === 0) return;
  const admin = kafkaClient(options.brokers).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics, timeout: 5_000 });
  } finally {
    await admin.disconnect();
  }
}

export interface KafkaEvent<T = Record<string, unknown>> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** The message value parsed as JSON (the raw string when it is not JSON). */
  value: T;
  headers: Record<string, string>;
  timestamp: string;
}

export interface ReadEventsOptions<T> {
  topic: string;
  brokers?: string[];
  predicate?: (event: KafkaEvent<T>) => boolean;
  /** Resolve as soon as this many matching events were read (default 1). */
  count?: number;
  /**
   * Instead of stopping at `count`, read up to the end of the topic as it was when the call
   * started and return every match: proves an event was published exactly once.
   */
  untilEnd?: boolean;
  /** Give up (reject) after this long; default 20 s. */
  timeoutMs?: number;
  /** Skip what was written before this time (epoch ms): keeps reads of a busy topic short. */
  fromTimestamp?: number;
}

function headerStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  }
  return out;
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Reads matching events from `topic`; rejects on timeout naming how many it found. */
export async function readEvents<T = Record<string, unknown>>(options: ReadEventsOptions<T>): Promise<Array<KafkaEvent<T>>> {
  const { topic, predicate = () => true, count = 1, untilEnd = false, timeoutMs = 20_000 } = options;
  const kafka = kafkaClient(options.brokers);
  const admin = kafka.admin();
  const groupId = `test-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const matches: Array<KafkaEvent<T>> = [];
  const lastOffset = new Map<number, bigint>();
  let timer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;

  await admin.connect();
  try {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
    // A timestamp after the last message answers -1: start at the end then.
    const starts =
      options.fromTimestamp === undefined
        ? undefined
        : (await admin.fetchTopicOffsetsByTimestamp(topic, options.fromTimestamp)).map((s) => ({
            partition: s.partition,
            offset: s.offset === '-1' ? String(ends.get(s.partition)?.high ?? 0n) : s.offset,
          }));
    const reachedEnd = () =>
      [...ends].every(([partition, { low, high }]) => {
        const start = BigInt(starts?.find((s) => s.partition === partition)?.offset ?? low);
        const read = lastOffset.get(partition);
        return high <= start || (read !== undefined && read >= high - 1n);
      });

    // The start as the new group's committed offsets, not a seek after run(): a consumer that crashes
    // and restarts while it joins (a broker just restarted) would lose a seek, but not these.
    if (starts) await admin.setOffsets({ groupId, topic, partitions: starts });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise<Array<KafkaEvent<T>>>((resolve, reject) => {
      const finishIfDone = () => {
        if (untilEnd ? reachedEnd() : matches.length >= count) resolve(matches);
      };
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `readEvents(${topic}): ${matches.length} matching event(s) after ${timeoutMs} ms, wanted ${untilEnd ? 'the topic end' : count}`,
            ),
          ),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ topic: t, partition, message }) => {
            lastOffset.set(partition, BigInt(message.offset));
            const event: KafkaEvent<T> = {
              topic: t,
              partition,
              offset: message.offset,
              key: message.key?.toString('utf8') ?? null,
              value: parseValue(message.value?.toString('utf8') ?? '') as T,
              headers: headerStrings(message.headers),
              timestamp: message.timestamp,
            };
            if (predicate(event)) matches.push(event);
            finishIfDone();
          },
        })
        .then(() => {
          ticker = setInterval(finishIfDone, 100);
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    clearInterval(ticker);
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * `npm run dlq -- list [--since <ISO time>]` shows the dead-letter events and why each failed;
 * `npm run dlq -- replay [--since <ISO time>] [--dry-run] [--all]` sends them back to the inventory
 * topic once the cause is fixed (docs/operations.md). Exit code 0 on success, 1 on failure, 64 on a
 * usage mistake.
 */
import { randomUUID } from 'node:crypto';
import { compareShopifyIds, CORRELATION_HEADER, kafkaHeaderText, type ShopifyId } from '@oms/common';
import { Kafka, logLevel, type IHeaders, type KafkaMessage } from 'kafkajs';
import { createStockSource } from '../services/order-stream-process/src/clients/stock.js';
import { itemKey } from '../services/order-stream-process/src/domain/coalesce.js';
import { parseInventoryEvent, type InventoryEvent } from '../services/order-stream-process/src/domain/event.js';
import { isDelta } from '../services/order-stream-process/src/domain/sync-rule.js';
import { DLQ_REASON_HEADER } from '../services/order-stream-process/src/clients/dlq-writer.js';
import { parseFlags, required, toolEnv, UsageError } from './stack-env.js';

const USAGE = 'usage: npm run dlq -- list [--since <ISO time>] | replay [--since <ISO time>] [--dry-run] [--all]';

/** The replay's committed offsets: a second replay sends only what reached the DLQ since. */
export const REPLAY_GROUP = 'ops-dlq-replay';

/** Added to each replayed message: where in the DLQ it came from, and when it was sent back. */
export const REPLAYED_FROM_HEADER = 'x-dlq-replayed-from';
export const REPLAYED_AT_HEADER = 'x-dlq-replayed-at';

const READ_TIMEOUT_MS = 60_000;

interface DeadLetter {
  partition: number;
  offset: string;
  timestamp: number;
  key: string | null;
  headers: IHeaders;
  value: Buffer | null;
  message: KafkaMessage;
}

/** Reads partitions from `starts` up to the end they had when the call began, then stops. */
async function readUntilEnd(kafka: Kafka, topic: string, starts: Map<number, bigint>, ends: Map<number, bigint>): Promise<DeadLetter[]> {
  const pending = [...ends].filter(([p, end]) => (starts.get(p) ?? 0n) < end);
  if (pending.length === 0) return [];
  const groupId = `ops-dlq-reader-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const letters: DeadLetter[] = [];
  const remaining = new Set(pending.map(([p]) => p));
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${topic}: not read to its end within ${READ_TIMEOUT_MS / 1000} s`)), READ_TIMEOUT_MS);
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const offset = BigInt(message.offset);
            const end = ends.get(partition) ?? 0n;
            if (offset < (starts.get(partition) ?? 0n) || offset >= end) return;
            letters.push({
              partition,
              offset: message.offset,
              timestamp: Number(message.timestamp),
              key: message.key?.toString('utf8') ?? null,
              headers: message.headers ?? {},
              value: message.value,
              message,
            });
            if (offset === end - 1n) remaining.delete(partition);
            if (remaining.size === 0) resolve();
          },
        })
        .then(() => {
          for (const [partition] of pending) consumer.seek({ topic, partition, offset: String(starts.get(partition) ?? 0n) });
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin
      .connect()
      .then(() => admin.deleteGroups([groupId]))
      .catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
  return letters.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

function describe(letter: DeadLetter, event: InventoryEvent | undefined): string {
  const reason = kafkaHeaderText(letter.headers[DLQ_REASON_HEADER]) ?? '(no reason header)';
  const what = event
    ? `${event.reason} movement ${event.movementId}${event.orderId ? ` order ${event.orderId}` : ''} variant ${event.variantId} ${event.sku} ` +
      `item ${event.inventoryItemId}@${event.locationId} delta ${event.delta} version ${event.inventoryVersion} available ${event.availableAfter}`
    : `value ${JSON.stringify((letter.value?.toString('utf8') ?? '').slice(0, 120))}`;
  return `${letter.partition}/${letter.offset}  ${new Date(letter.timestamp).toISOString()}  key ${letter.key ?? '(none)'}  ${what}\n    reason: ${reason}`;
}

interface Context {
  kafka: Kafka;
  dlqTopic: string;
  since?: number;
}

async function offsets(ctx: Context): Promise<{ low: Map<number, bigint>; high: Map<number, bigint>; replayed: Map<number, bigint> }> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const topicOffsets = await admin.fetchTopicOffsets(ctx.dlqTopic);
    const committed = await admin.fetchOffsets({ groupId: REPLAY_GROUP, topics: [ctx.dlqTopic] });
    const replayed = new Map(
      (committed[0]?.partitions ?? []).filter((p) => p.offset !== '-1').map((p) => [p.partition, BigInt(p.offset)] as const),
    );
    return {
      low: new Map(topicOffsets.map((p) => [p.partition, BigInt(p.low)])),
      high: new Map(topicOffsets.map((p) => [p.partition, BigInt(p.high)])),
      replayed,
    };
  } finally {
    await admin.disconnect();
  }
}

async function list(ctx: Context): Promise<number> {
  const { low, high, replayed } = await offsets(ctx);
  const letters = (await readUntilEnd(ctx.kafka, ctx.dlqTopic, low, high)).filter(
    (l) => ctx.since === undefined || l.timestamp >= ctx.since,
  );
  console.log(`${ctx.dlqTopic}: ${letters.length} event(s)${ctx.since !== undefined ? ` since ${new Date(ctx.since).toISOString()}` : ''}`);
  for (const letter of letters) {
    const parsed = parseInventoryEvent(letter.value);
    const done = BigInt(letter.offset) < (replayed.get(letter.partition) ?? 0n) ? '  [replayed]' : '';
    console.log(`${describe(letter, parsed.ok ? parsed.event : undefined)}${done}`);
  }
  return 0;
}

type Verdict = { replay: true } | { replay: false; why: string };

/**
 * Whether replaying a dead-letter event can still bring Shopify in line, and never twice:
 * - a delta (a movement Shopify cannot know) is its own change, so each is replayed, whatever came
 *   after it (its key is its movement's: Shopify applies it once), except a decrease the database
 *   has moved past beyond every dead letter of its item: the confirm of that later movement lowered
 *   Shopify to a figure that holds the decrease already (an increase is never made by a confirm,
 *   which only lowers, so it is always replayed);
 * - any other event only makes the processor confirm the item: the item's newest dead letter is
 *   replayed while the database is still at its version, and an older one, or one a newer movement
 *   has superseded (its own event confirmed the item), is skipped.
 */
function replayVerdict(event: InventoryEvent, databaseVersion: number | undefined, newestOfItem: InventoryEvent): Verdict {
  if (databaseVersion === undefined) return { replay: false, why: `variant ${event.variantId} is no longer in the database` };
  const superseded = databaseVersion > event.inventoryVersion;
  if (isDelta(event)) {
    if (event.delta < 0 && databaseVersion > newestOfItem.inventoryVersion) {
      return {
        replay: false,
        why: `applied: the database is at version ${databaseVersion}, whose confirm lowered Shopify to a figure that holds this decrease`,
      };
    }
    return { replay: true };
  }
  if (newestOfItem !== event)
    return { replay: false, why: `a newer event of this item is in the DLQ (version ${newestOfItem.inventoryVersion})` };
  if (superseded)
    return {
      replay: false,
      why: `superseded: the database is at version ${databaseVersion}, whose event confirmed the item after this one`,
    };
  return { replay: true };
}

/** Sends the letters back to the inventory topic as they were, saying where and when they came from. */
async function sendBack(
  ctx: Context,
  topic: string,
  letters: DeadLetter[],
  eventId: (l: DeadLetter) => string,
  replayedAt: string,
): Promise<void> {
  const producer = ctx.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: letters.map((l) => ({
        key: l.key,
        value: l.value,
        headers: {
          ...l.headers,
          [CORRELATION_HEADER]: kafkaHeaderText(l.headers[CORRELATION_HEADER]) ?? eventId(l),
          [REPLAYED_FROM_HEADER]: `${ctx.dlqTopic}/${l.partition}/${l.offset}`,
          [REPLAYED_AT_HEADER]: replayedAt,
        },
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** Each dead letter read as an event (when it is one) and whether to replay it, against the database's versions. */
async function judge(letters: DeadLetter[], options: { dataApiUrl: string; token: string }) {
  const events = new Map<DeadLetter, InventoryEvent>();
  const verdicts = new Map<DeadLetter, Verdict>();
  for (const letter of letters) {
    const parsed = parseInventoryEvent(letter.value);
    if (parsed.ok) events.set(letter, parsed.event);
    else verdicts.set(letter, { replay: false, why: `not an inventory event the processor can read (${parsed.reason})` });
  }
  const newest = new Map<string, InventoryEvent>();
  for (const event of events.values()) {
    const current = newest.get(itemKey(event));
    if (!current || event.inventoryVersion >= current.inventoryVersion) newest.set(itemKey(event), event);
  }
  const variantIds = [...new Set([...events.values()].map((e) => e.variantId))].sort(compareShopifyIds);
  const stock = variantIds.length
    ? await createStockSource({ baseUrl: options.dataApiUrl, token: options.token, timeoutMs: 10_000 }).current(variantIds)
    : new Map<ShopifyId, { version: number }>();
  for (const [letter, event] of events) {
    verdicts.set(letter, replayVerdict(event, stock.get(event.variantId)?.version, newest.get(itemKey(event))!));
  }
  return { events, verdicts };
}

async function replay(
  ctx: Context,
  options: { dryRun: boolean; all: boolean; inventoryTopic: string; dataApiUrl: string; token: string },
): Promise<number> {
  const { low, high, replayed } = await offsets(ctx);
  const starts = new Map(
    [...low].map(([partition, first]) => {
      const committed = replayed.get(partition);
      return [partition, options.all || committed === undefined || committed < first ? first : committed];
    }),
  );
  const read = await readUntilEnd(ctx.kafka, ctx.dlqTopic, starts, high);
  const letters = read.filter((l) => ctx.since === undefined || l.timestamp >= ctx.since);

  const { events, verdicts } = await judge(letters, options);
  const toSend = letters.filter((l) => verdicts.get(l)?.replay);
  const verb = options.dryRun ? 'would replay' : 'replay';
  for (const letter of letters) {
    const verdict = verdicts.get(letter)!;
    console.log(
      `${verdict.replay ? verb : 'skip'}  ${describe(letter, events.get(letter))}${verdict.replay ? '' : `\n    skipped: ${verdict.why}`}`,
    );
  }

  if (!options.dryRun) {
    const replayedAt = new Date().toISOString();
    if (toSend.length > 0) await sendBack(ctx, options.inventoryTopic, toSend, (l) => events.get(l)!.eventId, replayedAt);
    // Everything read was settled (sent or skipped for good): the next replay starts after it.
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      await admin.setOffsets({
        groupId: REPLAY_GROUP,
        topic: ctx.dlqTopic,
        partitions: [...high].map(([partition, offset]) => ({ partition, offset: String(offset) })),
      });
    } finally {
      await admin.disconnect();
    }
  }
  const skipped = letters.length - toSend.length;
  console.log(
    options.dryRun
      ? `dry run: ${toSend.length} event(s) would be sent to ${options.inventoryTopic}, ${skipped} skipped; nothing sent, no offset moved`
      : `${toSend.length} event(s) sent to ${options.inventoryTopic}, ${skipped} skipped; the next replay starts after ${ctx.dlqTopic} offsets ${[...high].map(([p, o]) => `${p}:${o}`).join(' ')}`,
  );
  return 0;
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command !== 'list' && command !== 'replay') throw new UsageError(command ? `unknown command "${command}"` : 'a command is needed');
  const flags = parseFlags(rest, { values: ['since'], switches: command === 'replay' ? ['dry-run', 'all'] : [] });
  const sinceText = flags.values.get('since')?.[0];
  const since = sinceText === undefined ? undefined : Date.parse(sinceText);
  if (since !== undefined && Number.isNaN(since))
    throw new UsageError(`--since ${sinceText}: not an ISO 8601 time such as 2026-11-24T08:00:00Z`);

  const env = toolEnv();
  const kafka = new Kafka({
    clientId: 'ops-dlq',
    brokers: required(env, 'KAFKA_BROKERS')
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
    connectionTimeout: 5_000,
    requestTimeout: 15_000,
    retry: { retries: 3 },
    logLevel: logLevel.NOTHING,
  });
  const ctx: Context = { kafka, dlqTopic: required(env, 'DLQ_TOPIC'), since };
  if (command === 'list') return list(ctx);
  return replay(ctx, {
    dryRun: flags.switches.has('dry-run'),
    all: flags.switches.has('all'),
    inventoryTopic: required(env, 'INVENTORY_TOPIC'),
    dataApiUrl: required(env, 'DATA_API_URL'),
    token: required(env, 'INTERNAL_API_TOKEN'),
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`dlq failed: ${err instanceof Error ? err.message : String(err)}`);
    if (err instanceof UsageError) console.error(USAGE);
    process.exitCode = err instanceof UsageError ? 64 : 1;
  },
);

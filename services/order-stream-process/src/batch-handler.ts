import { CORRELATION_HEADER, kafkaHeaderText, type Logger } from '@oms/common';
import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import { ShopifyGaveUpError, type ShopifyClient } from './clients/shopify.js';
import { chunk, coalesce, MAX_QUANTITIES_PER_CALL, partitionByLastSet, type CoalescedItem, type LastSet } from './domain/coalesce.js';
import { parseInventoryEvent, type InventoryEvent } from './domain/event.js';
import { blamedQuantityIndexes, buildInventorySetQuantities } from './domain/mutation.js';
import type { DeadLetter, DlqWriter, Source } from './dlq-writer.js';
import type { EventResult, StreamMetrics } from './metrics.js';

interface Received extends InventoryEvent {
  message: KafkaMessage;
  correlationId: string;
}

const MAX_REMEMBERED_EVENTS = 50_000;

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function correlationOf(message: KafkaMessage): string | undefined {
  const value = kafkaHeaderText(message.headers?.[CORRELATION_HEADER]);
  return value && SAFE_ID.test(value) ? value : undefined;
}

export interface BatchHandlerDeps {
  shopify: ShopifyClient;
  logger: Logger;
  metrics: StreamMetrics;
  dlq: DlqWriter;
  dlqTopic: string;
  maxQuantitiesPerCall?: number;
  /** How often a long Shopify call (retries, rate-limit waits) heartbeats the group. */
  heartbeatIntervalMs: number;
  /** Aborted when the processor stops: a Shopify call in flight gives up its waits. */
  stopping: AbortSignal;
}

/**
 * One batch of inventory events to Shopify: unusable messages to the DLQ, the rest coalesced to
 * the newest quantity per item, sent in calls of at most 250, a SUCCESS line per event once
 * Shopify holds it, failures to the DLQ; then the batch's offsets.
 */
export function createBatchHandler(deps: BatchHandlerDeps): (payload: EachBatchPayload) => Promise<void> {
  const { shopify, logger, metrics, dlq, dlqTopic, heartbeatIntervalMs } = deps;
  const maxPerCall = deps.maxQuantitiesPerCall ?? MAX_QUANTITIES_PER_CALL;

  // The newest version set in Shopify per inventory item, so a late older event is never sent.
  const lastSet = new Map<string, LastSet>();
  // Event ids already held by Shopify: a redelivered event (the relay publishes at least once)
  // must not log a second SUCCESS line. Bounded, oldest forgotten first.
  const succeeded = new Set<string>();
  const rememberSucceeded = (eventId: string) => {
    succeeded.add(eventId);
    if (succeeded.size > MAX_REMEMBERED_EVENTS) succeeded.delete(succeeded.values().next().value!);
  };

  function logUpdated(event: Received, result: EventResult, quantity: number, meta: Record<string, unknown>): void {
    metrics.countEvents(result);
    rememberSucceeded(event.eventId);
    const how =
      result === 'updated'
        ? `set to ${quantity}`
        : `holds ${quantity} from an event at least as new (version ${String(meta.heldVersion)})`;
    logger.info(`SUCCESS Shopify inventory for product ${event.productId} ${how}`, {
      event: 'shopify.inventory.updated',
      orderId: event.orderId,
      correlationId: event.correlationId,
      productId: event.productId,
      inventoryItemId: event.inventoryItemId,
      locationId: event.locationId,
      quantity,
      availableAfter: event.availableAfter,
      inventoryVersion: event.inventoryVersion,
      eventId: event.eventId,
      result,
      ...meta,
    });
  }

  async function withHeartbeat<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => {
      heartbeat().catch((err: unknown) =>
        logger.debug(`heartbeat failed: ${err instanceof Error ? err.message : String(err)}`, { event: 'kafka.heartbeat' }),
      );
    }, heartbeatIntervalMs);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  async function deadLetter(events: Received[], failure: ShopifyGaveUpError, idempotencyKey: string, source: Source): Promise<void> {
    const reason = `shopify_failed: ${failure.message}`;
    await dlq.send(
      events.map((e) => ({ message: e.message, correlationId: e.correlationId, reason })),
      'shopify_failed',
      source,
    );
    metrics.countEvents('dlq', events.length);
    for (const event of events) {
      logger.error(`Shopify inventory for product ${event.productId} not set; event sent to ${dlqTopic}: ${failure.message}`, {
        event: 'shopify.inventory.failed',
        orderId: event.orderId,
        correlationId: event.correlationId,
        productId: event.productId,
        inventoryItemId: event.inventoryItemId,
        eventId: event.eventId,
        idempotencyKey,
        outcome: failure.last.outcome,
        attempts: failure.attempts,
      });
    }
  }

  function recordSuccess(group: CoalescedItem<Received>[], idempotencyKey: string, attempts: number): void {
    for (const item of group) {
      const { latest } = item;
      lastSet.set(item.key, { inventoryVersion: latest.inventoryVersion, quantity: latest.availableAfter });
      for (const event of item.covered) {
        const superseded = event !== latest;
        logUpdated(event, superseded ? 'superseded' : 'updated', latest.availableAfter, {
          idempotencyKey,
          attempts,
          ...(superseded ? { heldVersion: latest.inventoryVersion, supersededBy: latest.eventId } : {}),
        });
      }
    }
  }

  async function sync(items: CoalescedItem<Received>[], payload: EachBatchPayload): Promise<'done' | 'abandoned'> {
    const source = { topic: payload.batch.topic, partition: payload.batch.partition };
    const queue = chunk(items, maxPerCall);
    for (let group = queue.shift(); group; group = queue.shift()) {
      if (!payload.isRunning() || payload.isStale()) return 'abandoned';
      const request = buildInventorySetQuantities(group.map((item) => item.latest));
      const { idempotencyKey } = request.variables;
      const covered = group.flatMap((item) => item.covered);
      const correlationIds = [...new Set(covered.map((e) => e.correlationId))];
      const logMeta = { idempotencyKey, quantities: group.length, correlationIds: correlationIds.slice(0, 20) };
      try {
        const result = await withHeartbeat(payload.heartbeat, () =>
          shopify.setInventoryQuantities(request, { signal: deps.stopping, logMeta }),
        );
        recordSuccess(group, idempotencyKey, result.attempts);
      } catch (err) {
        if (!(err instanceof ShopifyGaveUpError)) throw err;
        // userErrors naming some quantities condemn only those: the others go again on their own call.
        const blamed = blamedQuantityIndexes(err.last.userErrors, group.length);
        if (blamed.size > 0 && blamed.size < group.length) {
          const condemned = group.filter((_, i) => blamed.has(i));
          await deadLetter(condemned.flatMap((item) => item.covered), err, idempotencyKey, source);
          queue.unshift(group.filter((_, i) => !blamed.has(i)));
        } else {
          await deadLetter(covered, err, idempotencyKey, source);
        }
      }
      await payload.heartbeat();
    }
    return 'done';
  }

  /**
   * At least once: the batch's offsets are resolved and committed only after each of its events
   * is held by Shopify or sits in the DLQ. A crash before that replays the batch, harmlessly: the
   * quantities are absolute and a replayed call carries the same idempotency key.
   */

  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const last = batch.messages.at(-1);
    if (!last) return;
    metrics.setLag(batch.topic, batch.partition, Number(batch.offsetLagLow()));

    const valid: Received[] = [];
    const invalid: DeadLetter[] = [];
    const inBatch = new Set<string>();
    for (const message of batch.messages) {
      const parsed = parseInventoryEvent(message.value);
      const header = correlationOf(message);
      if (parsed.ok && (succeeded.has(parsed.event.eventId) || inBatch.has(parsed.event.eventId))) {
        metrics.countEvents('duplicate');
        logger.debug(`event ${parsed.event.eventId} already handled: redelivery ignored`, {
          event: 'inventory.event.duplicate',
          orderId: parsed.event.orderId,
          correlationId: header ?? parsed.event.eventId,
        });
        continue;
      }
      if (parsed.ok) {
        inBatch.add(parsed.event.eventId);
        valid.push({ ...parsed.event, message, correlationId: header ?? parsed.event.eventId });
        continue;
      }
      const correlationId = header ?? `${batch.topic}-${batch.partition}-${message.offset}`;
      invalid.push({ message, correlationId, reason: parsed.reason });
      logger.warn(`unprocessable message at ${batch.topic}/${batch.partition}/${message.offset} sent to ${dlqTopic}: ${parsed.reason}`, {
        event: 'inventory.event.invalid',
        correlationId,
        offset: message.offset,
        partition: batch.partition,
      });
    }
    await dlq.send(invalid, 'invalid_event', { topic: batch.topic, partition: batch.partition });
    metrics.countEvents('dlq', invalid.length);

    const { toSend, alreadyHeld } = partitionByLastSet(coalesce(valid), lastSet);
    for (const item of alreadyHeld) {
      for (const event of item.covered) {
        logUpdated(event, 'already_held', item.held.quantity, { heldVersion: item.held.inventoryVersion });
      }
    }
    if ((await sync(toSend, payload)) === 'abandoned') return;

    payload.resolveOffset(last.offset);
    await payload.commitOffsetsIfNecessary();
    metrics.setLag(batch.topic, batch.partition, Number(batch.offsetLag()));
  }

  return handleBatch;
}

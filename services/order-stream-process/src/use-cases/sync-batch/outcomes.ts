import type { Logger } from '@oms/common';
import type { DlqWriter, Source } from '../../clients/dlq-writer.js';
import type { EventResult, StreamMetrics } from '../../metrics.js';
import { BoundedSet } from './bounded-set.js';
import type { Received, ReceivedBatch } from './receive.js';

/** What became of an event that reached Shopify's figure (see EventResult). */
type Settled = Exclude<EventResult, 'duplicate' | 'dlq'>;

/** Event ids remembered as handled, so a redelivery logs no second SUCCESS line. */
const MAX_REMEMBERED_EVENTS = 50_000;

/** What is known of the item when its events succeed: for the SUCCESS line. */
export interface SuccessDetail {
  /** Shopify's available as read by the confirm step, before any write of it. */
  shopify?: number;
  database?: number;
  databaseVersion?: number;
  /** Shopify's available once the event is accounted for, when known. */
  quantity?: number;
  idempotencyKey?: string;
  attempts?: number;
  [key: string]: unknown;
}

const HOW: Record<Settled, string> = {
  adjusted: 'took its delta',
  lowered: "was lowered to the database's figure",
  set: "was set to the database's figure (import)",
  confirmed: "was already at or below the database's figure",
  superseded: 'is confirmed by a newer movement',
};

/**
 * The end of each event's way through the processor: a SUCCESS line once Shopify's figure accounts
 * for it, or the DLQ with the reason; and the memory of handled event ids.
 */
export interface Outcomes {
  handled(eventId: string): boolean;
  succeeded(events: readonly Received[], result: (event: Received) => Settled, detail: SuccessDetail): void;
  deadLetter(events: readonly Received[], reason: string, source: Source, meta?: Record<string, unknown>): Promise<void>;
  /** Logs the batch's redeliveries and sends its unusable messages to the DLQ. */
  setAside(received: ReceivedBatch, source: Source): Promise<void>;
}

function logSuccess(logger: Logger, event: Received, outcome: Settled, detail: SuccessDetail): void {
  logger.info(
    `SUCCESS Shopify inventory of variant ${event.variantId} (${event.sku}) ${HOW[outcome]}: ${event.reason} movement ${event.movementId}`,
    {
      event: 'shopify.inventory.updated',
      orderId: event.orderId,
      correlationId: event.correlationId,
      variantId: event.variantId,
      productId: event.productId,
      sku: event.sku,
      inventoryItemId: event.inventoryItemId,
      locationId: event.locationId,
      eventId: event.eventId,
      movementId: event.movementId,
      reason: event.reason,
      delta: event.delta,
      inventoryVersion: event.inventoryVersion,
      result: outcome,
      ...detail,
    },
  );
}

function logFailure(logger: Logger, dlqTopic: string, event: Received, reason: string, meta: Record<string, unknown>): void {
  logger.error(`Shopify inventory of variant ${event.variantId} (${event.sku}) not brought in line; event sent to ${dlqTopic}: ${reason}`, {
    event: 'shopify.inventory.failed',
    orderId: event.orderId,
    correlationId: event.correlationId,
    variantId: event.variantId,
    inventoryItemId: event.inventoryItemId,
    eventId: event.eventId,
    movementId: event.movementId,
    reason,
    ...meta,
  });
}

function logSetAside(logger: Logger, dlqTopic: string, received: ReceivedBatch, source: Source): void {
  for (const event of received.duplicates) {
    logger.debug(`event ${event.eventId} already handled: redelivery ignored`, {
      event: 'inventory.event.duplicate',
      orderId: event.orderId,
      correlationId: event.correlationId,
    });
  }
  for (const letter of received.unusable) {
    logger.warn(`unprocessable message at ${source.topic}/${source.partition}/${letter.offset} sent to ${dlqTopic}: ${letter.reason}`, {
      event: 'inventory.event.invalid',
      correlationId: letter.correlationId,
      offset: letter.offset,
      partition: source.partition,
    });
  }
}

export function createOutcomes(deps: { logger: Logger; metrics: StreamMetrics; dlq: DlqWriter; dlqTopic: string }): Outcomes {
  const { logger, metrics, dlq, dlqTopic } = deps;
  const remembered = new BoundedSet<string>(MAX_REMEMBERED_EVENTS);

  return {
    handled: (eventId) => remembered.has(eventId),

    succeeded(events, result, detail) {
      for (const event of events) {
        const outcome = result(event);
        metrics.countEvents(outcome);
        remembered.add(event.eventId);
        logSuccess(logger, event, outcome, detail);
      }
    },

    async deadLetter(events, reason, source, meta = {}) {
      if (events.length === 0) return;
      const letters = events.map((e) => ({ message: e.message, correlationId: e.correlationId, reason }));
      await dlq.send(letters, 'shopify_failed', source);
      metrics.countEvents('dlq', events.length);
      for (const event of events) logFailure(logger, dlqTopic, event, reason, meta);
    },

    async setAside(received, source) {
      logSetAside(logger, dlqTopic, received, source);
      metrics.countEvents('duplicate', received.duplicates.length);
      await dlq.send(received.unusable, 'invalid_event', source);
      metrics.countEvents('dlq', received.unusable.length);
    },
  };
}

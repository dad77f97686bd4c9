import { CORRELATION_HEADER, kafkaHeaderText } from '@oms/common';
import type { Batch, KafkaMessage } from 'kafkajs';
import { parseInventoryEvent, type InventoryEvent } from '../../domain/event.js';
import type { DeadLetter } from '../../clients/dlq-writer.js';

/** An event as consumed: the message it came in (for the DLQ) and the correlation id it carries. */
export interface Received extends InventoryEvent {
  message: KafkaMessage;
  correlationId: string;
}

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The message's `x-correlation-id`, when it is one this system would have written. */
export function correlationOf(message: KafkaMessage): string | undefined {
  const value = kafkaHeaderText(message.headers?.[CORRELATION_HEADER]);
  return value && SAFE_ID.test(value) ? value : undefined;
}

export interface ReceivedBatch {
  /** Events to handle, each event id once, in offset order. */
  events: Received[];
  /** Events handled before (a redelivery: the relay publishes at least once), or twice in this batch. */
  duplicates: Received[];
  /** Messages that are no event: straight to the DLQ, with the reason. */
  unusable: Array<DeadLetter & { offset: string }>;
}

/** Pure: a batch's messages read as events; `handled` tells an event id already seen through. */
export function receive(batch: Pick<Batch, 'topic' | 'partition' | 'messages'>, handled: (eventId: string) => boolean): ReceivedBatch {
  const result: ReceivedBatch = { events: [], duplicates: [], unusable: [] };
  const inBatch = new Set<string>();
  for (const message of batch.messages) {
    const parsed = parseInventoryEvent(message.value);
    const header = correlationOf(message);
    if (!parsed.ok) {
      const correlationId = header ?? `${batch.topic}-${batch.partition}-${message.offset}`;
      result.unusable.push({ message, correlationId, reason: parsed.reason, offset: message.offset });
      continue;
    }
    const event: Received = { ...parsed.event, message, correlationId: header ?? parsed.event.eventId };
    const seen = handled(event.eventId) || inBatch.has(event.eventId);
    inBatch.add(event.eventId);
    (seen ? result.duplicates : result.events).push(event);
  }
  return result;
}

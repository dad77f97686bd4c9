import { CORRELATION_HEADER } from '@oms/common';
import type { KafkaMessage, Message, Producer } from 'kafkajs';
import type { DlqReason, StreamMetrics } from '../metrics.js';

export const DLQ_REASON_HEADER = 'x-dlq-reason';
export const DLQ_SOURCE_HEADER = 'x-dlq-source';

export interface DeadLetter {
  message: KafkaMessage;
  correlationId: string;
  reason: string;
}

export type Source = { topic: string; partition: number };

/** Header values must stay printable and bounded; a reason quoting a huge payload is cut. */
function headerSafe(text: string, max = 1000): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export interface DlqWriter {
  /** Sends the messages to the DLQ topic as they came, with the reason and where they came from in headers. */
  send(letters: DeadLetter[], kind: DlqReason, source: Source): Promise<void>;
}

export function createDlqWriter(deps: { producer: Producer; dlqTopic: string; metrics: StreamMetrics }): DlqWriter {
  const { producer, dlqTopic, metrics } = deps;
  return {
    async send(letters, kind, source) {
      if (letters.length === 0) return;
      const messages: Message[] = letters.map(({ message, correlationId, reason }) => ({
        key: message.key,
        value: message.value,
        headers: {
          ...message.headers,
          [DLQ_REASON_HEADER]: headerSafe(reason),
          [CORRELATION_HEADER]: correlationId,
          [DLQ_SOURCE_HEADER]: `${source.topic}/${source.partition}/${message.offset}`,
        },
      }));
      await producer.send({ topic: dlqTopic, messages });
      metrics.countDlq(kind, letters.length);
    },
  };
}

import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '@oms/common';

/**
 * KafkaJS logs each failed connection attempt at ERROR, which floods the log while a broker is
 * down; its lines go to debug, and the consumer's own crash and DLQ lines carry what matters.
 */
export function createKafka(brokers: string[], logger: Logger): Kafka {
  return new Kafka({
    clientId: 'order-stream-process',
    brokers,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, log }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
        logger.debug(`kafkajs ${namespace}: ${message}`, { event: 'kafka.client', ...extra });
      },
  });
}

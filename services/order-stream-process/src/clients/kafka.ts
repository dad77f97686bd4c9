import { Kafka, logLevel } from 'kafkajs';
import { kafkaLogCreator, type Logger } from '@oms/common';

export function createKafka(brokers: string[], logger: Logger): Kafka {
  return new Kafka({
    clientId: 'order-stream-process',
    brokers,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
  });
}

import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { kafkaLogCreator, type Logger } from '@oms/common';

/** `security`: TLS and SASL (`kafkaSecurity` of @oms/common); none for a plaintext broker. */
export function createKafka(brokers: string[], logger: Logger, security: Pick<KafkaConfig, 'ssl' | 'sasl'> = {}): Kafka {
  return new Kafka({
    clientId: 'order-stream-process',
    brokers,
    ...security,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
  });
}

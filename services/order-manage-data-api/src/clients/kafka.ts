import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { kafkaLogCreator, type Logger } from '@oms/common';

export interface KafkaOptions {
  brokers: string[];
  clientId?: string;
  logger: Logger;
  /** TLS and SASL (`kafkaSecurity` of @oms/common); none for a plaintext broker. */
  security?: Pick<KafkaConfig, 'ssl' | 'sasl'>;
}

export function createKafka(options: KafkaOptions): Kafka {
  const { logger } = options;
  return new Kafka({
    clientId: options.clientId ?? 'order-manage-data-api',
    brokers: options.brokers,
    ...options.security,
    connectionTimeout: 3_000,
    requestTimeout: 5_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
  });
}

import { Kafka, logLevel } from 'kafkajs';
import { kafkaLogCreator, type Logger } from '@oms/common';

export interface KafkaOptions {
  brokers: string[];
  clientId?: string;
  logger: Logger;
}

export function createKafka(options: KafkaOptions): Kafka {
  const { logger } = options;
  return new Kafka({
    clientId: options.clientId ?? 'order-manage-data-api',
    brokers: options.brokers,
    connectionTimeout: 3_000,
    requestTimeout: 5_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2_000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
  });
}

/**
 * Readiness probe for Kafka: a metadata round trip through a long-lived admin client, reconnected
 * after a failure so a broker restart is noticed both ways.
 */
export function createKafkaHealthCheck(kafka: Kafka) {
  type Admin = ReturnType<Kafka['admin']>;
  let connected: Promise<Admin> | undefined;
  const drop = async (current: Promise<Admin> | undefined) => {
    if (connected === current) connected = undefined;
    const admin = await current?.catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
  };
  return {
    async check(): Promise<void> {
      if (!connected) {
        const admin = kafka.admin({ retry: { retries: 0 } });
        connected = admin.connect().then(() => admin);
      }
      const current = connected;
      try {
        await (await current).describeCluster();
      } catch (err) {
        await drop(current);
        throw err;
      }
    },
    async close(): Promise<void> {
      await drop(connected);
    },
  };
}

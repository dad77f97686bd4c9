import type { IHeaders, Kafka, LogEntry, logCreator } from 'kafkajs';
import type { Logger } from './logger.js';

/**
 * KafkaJS logs every failed connection attempt at ERROR, which floods the log while a broker is
 * down: its lines go to debug, and each service logs one line of its own per outage.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      logger.debug(`kafkajs ${namespace}: ${message}`, { event: 'kafka.client', ...extra });
    };
}

/**
 * Readiness probe for Kafka, shared by every service that needs one: a metadata round trip through a long-lived admin client, reconnected
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

/** A Kafka header as text: the first value when it was sent more than once. */
export function kafkaHeaderText(value: IHeaders[string]): string | undefined {
  return (Array.isArray(value) ? value[0] : value)?.toString();
}

import type { LogEntry, logCreator } from 'kafkajs';
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

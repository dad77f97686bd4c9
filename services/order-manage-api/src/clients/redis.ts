import type { Logger } from '@oms/common';
import { Redis } from 'ioredis';

/**
 * The hold is a protection for the WMS, not a reason to refuse orders (docs/spec.md section 3), so a
 * dead Redis must cost milliseconds: no offline queue (a command fails at once while disconnected),
 * one attempt per command, short connect and command timeouts, and quiet background reconnects.
 */
export function createRedis(url: string, logger: Logger, options: { commandTimeoutMs?: number } = {}): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    commandTimeout: options.commandTimeoutMs ?? 250,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    lazyConnect: false,
    // Hold reads of concurrent webhooks share one write to Redis instead of one each.
    enableAutoPipelining: true,
  });
  let reported = false;
  redis.on('error', (err: Error) => {
    // Reconnects repeat the same error every couple of seconds; one warning per outage is enough.
    if (!reported) logger.warn(`redis unavailable: ${err.message}`, { event: 'redis.unavailable' });
    reported = true;
  });
  redis.on('ready', () => {
    if (reported) logger.info('redis reachable again', { event: 'redis.available' });
    reported = false;
  });
  return redis;
}

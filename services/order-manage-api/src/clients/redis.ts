import type { Logger } from '@oms/common';
import { Redis } from 'ioredis';

/**
 * The hold is a protection for the WMS, not a reason to refuse orders (SPEC.md section 3), so a
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

export interface WmsHold {
  /** Seconds the hold still lasts, or null when there is none (or Redis cannot tell: fail open). */
  remainingSeconds(): Promise<number | null>;
  /** Starts the hold unless one runs; returns the seconds a caller should wait. */
  start(): Promise<number>;
}

export interface WmsHoldOptions {
  redis: Redis;
  logger: Logger;
  ttlSeconds: number;
  /** Shared by every replica; tests use their own key so a hold does not leak into other tests. */
  key?: string;
}

export const DEFAULT_WMS_HOLD_KEY = 'wms:hold';

export function createWmsHold(options: WmsHoldOptions): WmsHold {
  const { redis, logger, ttlSeconds, key = DEFAULT_WMS_HOLD_KEY } = options;
  const warn = (action: string, err: unknown) =>
    logger.warn(`redis unavailable while ${action} the WMS hold, going on without it: ${err instanceof Error ? err.message : String(err)}`, {
      event: 'wms.hold.redis_unavailable',
    });

  return {
    async remainingSeconds() {
      try {
        const ttl = await redis.ttl(key);
        if (ttl === -2) return null;
        // A hold without expiry was set by hand: honour it, and suggest the usual wait.
        return ttl === -1 ? ttlSeconds : Math.max(ttl, 1);
      } catch (err) {
        warn('reading', err);
        return null;
      }
    },
    async start() {
      try {
        // NX: a hold already running keeps its end; failures of concurrent orders do not prolong it.
        const set = await redis.set(key, new Date().toISOString(), 'EX', ttlSeconds, 'NX');
        if (set === 'OK') {
          logger.warn(`WMS failing: holding WMS calls for ${ttlSeconds} s`, { event: 'wms.hold.started', holdSeconds: ttlSeconds });
          return ttlSeconds;
        }
        const ttl = await redis.ttl(key);
        return ttl > 0 ? ttl : ttlSeconds;
      } catch (err) {
        warn('setting', err);
        return ttlSeconds;
      }
    },
  };
}

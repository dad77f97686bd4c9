import type { Logger } from '@oms/common';
import type { Redis } from 'ioredis';

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

/** docs/spec.md section 3: after repeated WMS failures every replica refuses orders at once until the key expires. */
export function createWmsHold(options: WmsHoldOptions): WmsHold {
  const { redis, logger, ttlSeconds, key = DEFAULT_WMS_HOLD_KEY } = options;
  const warn = (action: string, err: unknown) =>
    logger.warn(
      `redis unavailable while ${action} the WMS hold, going on without it: ${err instanceof Error ? err.message : String(err)}`,
      {
        event: 'wms.hold.redis_unavailable',
      },
    );

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

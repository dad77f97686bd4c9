import { setTimeout as sleep } from 'node:timers/promises';
import { stillOurs, withHeartbeat, type BatchContext } from './context.js';

/**
 * A batch that follows its partition's previous one by less than `lingerMs` waits until that long
 * has passed since it ended, so a burst coalesces into fewer, larger batches (fewer Shopify calls);
 * a lone event after a quiet spell goes at once. 0 is off.
 */
export function createLinger(lingerMs: number, heartbeatIntervalMs: number) {
  /** When each partition's previous batch ended (monotonic ms). */
  const lastEnded = new Map<number, number>();
  return {
    /** Waits out the linger (heartbeating); false when the processor stops or the partition is taken meanwhile. */
    async wait(ctx: Pick<BatchContext, 'payload' | 'logger' | 'signal'>, partition: number): Promise<boolean> {
      const ended = lastEnded.get(partition);
      const wait = ended === undefined ? 0 : ended + lingerMs - performance.now();
      if (wait <= 0) return true;
      return withHeartbeat(ctx, heartbeatIntervalMs, async () => {
        await sleep(wait, undefined, { signal: ctx.signal }).catch(() => undefined);
        return !ctx.signal.aborted && stillOurs(ctx);
      });
    },
    ended(partition: number): void {
      lastEnded.set(partition, performance.now());
    },
  };
}

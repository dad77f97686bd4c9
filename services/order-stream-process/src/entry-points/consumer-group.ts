import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@oms/common';
import type { Consumer } from 'kafkajs';

/** Whether the consumer is in its group, and which partitions of the topic it was given. */
export function watchGroup(consumer: Consumer, topic: string, onCrash: (error: Error, restart: boolean) => void) {
  const state = { inGroup: false, assigned: [] as readonly number[] };
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    state.inGroup = true;
    state.assigned = event.payload.memberAssignment[topic] ?? [];
  });
  for (const lost of [consumer.events.STOP, consumer.events.DISCONNECT]) {
    consumer.on(lost, () => {
      state.inGroup = false;
    });
  }
  consumer.on(consumer.events.CRASH, (event) => {
    state.inGroup = false;
    onCrash(event.payload.error, event.payload.restart);
  });
  return state;
}

export interface RestartDeps {
  logger: Logger;
  /** Called when the consumer could not be started again: main exits then. */
  onFatalError?: (error: Error) => void;
  /** How often, and how far apart, a consumer KafkaJS gave up on is started again (default 10 × 5 s). */
  restartAttempts?: number;
  restartDelayMs?: number;
}

/**
 * KafkaJS gives up on errors it deems permanent, such as finding no group coordinator while a
 * broker restarts; the broker usually comes back, so the consumer is started again, with a pause,
 * a bounded number of times before the process gives up (and its supervisor restarts it).
 */
export async function restartConsumer(deps: RestartDeps, run: () => Promise<void>, stopping: AbortSignal, cause: Error): Promise<void> {
  const { logger } = deps;
  const attempts = deps.restartAttempts ?? 10;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await sleep(deps.restartDelayMs ?? 5_000, undefined, { signal: stopping });
      await run();
      logger.info(`consumer started again after a crash (attempt ${attempt})`, { event: 'kafka.consumer.restarted', attempt });
      return;
    } catch (err) {
      if (stopping.aborted) return;
      logger.warn(`consumer could not start again (attempt ${attempt} of ${attempts}): ${(err as Error).message}`, {
        event: 'kafka.consumer.restart_failed',
        attempt,
      });
    }
  }
  deps.onFatalError?.(cause);
}

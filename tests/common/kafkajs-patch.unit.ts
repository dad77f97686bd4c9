import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';

interface RequestQueue {
  fulfillRequest(response: { correlationId: number; payload: Buffer | null; size: number }): void;
  maybeThrottle(clientSideThrottleTime: number): void;
  destroy(): void;
}

const require = createRequire(import.meta.url);
// The file patches/kafkajs+2.2.4.patch changes: it must still exist and still be the one the broker connection uses.
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (options: object) => RequestQueue;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function idleQueue(): RequestQueue {
  return new RequestQueue({
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'localhost:9092',
    logger: silent,
  });
}

/** Timers created while `act` runs, counted through async_hooks (every setTimeout is a `Timeout`). */
function timersArmedDuring(act: () => void): number {
  let armed = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'Timeout') armed += 1;
    },
  }).enable();
  try {
    act();
  } finally {
    hook.disable();
  }
  return armed;
}

/**
 * KafkaJS 2.2.4 armed a 1 ms timer whenever a broker answered with nothing left pending, and that
 * timer re-armed itself for as long as the connection lived (tulios/kafkajs#1556).
 * patches/kafkajs+2.2.4.patch stops it; these fail if an install loses the patch or a new KafkaJS
 * moves the code it changes.
 */
describe('KafkaJS request queue, as patched at install', () => {
  it('arms no timer when the last answer arrives and nothing is pending or throttled', () => {
    const queue = idleQueue();
    try {
      assert.equal(
        timersArmedDuring(() => queue.fulfillRequest({ correlationId: 1, payload: null, size: 0 })),
        0,
      );
    } finally {
      queue.destroy();
    }
  });

  it('still schedules a check when the broker throttles the client', () => {
    const queue = idleQueue();
    try {
      queue.maybeThrottle(1_000);
      assert.equal(
        timersArmedDuring(() => queue.fulfillRequest({ correlationId: 1, payload: null, size: 0 })),
        1,
      );
    } finally {
      queue.destroy();
    }
  });
});

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { createLogger, type Logger } from '@oms/common';
import { stillOurs, withHeartbeat } from '../../services/order-stream-process/src/use-cases/sync-batch/context.js';
import { createLinger } from '../../services/order-stream-process/src/use-cases/sync-batch/linger.js';

type Line = { level: string; msg: string; event?: string };

/** KafkaJS's batch controls as the consumer would answer them, counting what the step asked. */
function consumerTurn(state: { running?: boolean; stale?: boolean; heartbeatFails?: string } = {}) {
  const asked = { heartbeats: 0, isRunning: 0, isStale: 0 };
  const payload = {
    heartbeat: async () => {
      asked.heartbeats += 1;
      if (state.heartbeatFails) throw new Error(state.heartbeatFails);
    },
    isRunning: () => {
      asked.isRunning += 1;
      return state.running ?? true;
    },
    isStale: () => {
      asked.isStale += 1;
      return state.stale ?? false;
    },
  };
  return { payload, asked, state };
}

function captureLogger(): { logger: Logger; lines: Line[] } {
  const logger = createLogger({ service: 'order-stream-process', level: 'debug' });
  const lines: Line[] = [];
  for (const transport of logger.transports) transport.silent = true;
  logger.on('data', (info: Line) => lines.push({ ...info }));
  return { logger, lines };
}

/** Lets the promise callbacks a mocked timer started run to their end. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("whether a batch is still this consumer's", () => {
  const cases = [
    { running: true, stale: false, ours: true },
    { running: false, stale: false, ours: false },
    { running: true, stale: true, ours: false },
    { running: false, stale: true, ours: false },
  ];
  for (const { running, stale, ours } of cases) {
    it(`is ${ours ? '' : 'not '}ours when the consumer is ${running ? 'running' : 'stopping'} and the partition ${stale ? 'was taken' : 'is kept'}`, () => {
      assert.equal(stillOurs({ payload: consumerTurn({ running, stale }).payload }), ours);
    });
  }
});

describe('heartbeats during a long step', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('heartbeats the group once per interval while the step runs, and not after it ends', async () => {
    const { payload, asked } = consumerTurn();
    let finish!: (value: string) => void;
    const step = withHeartbeat({ payload, logger: captureLogger().logger }, 3000, () => new Promise<string>((r) => (finish = r)));
    mock.timers.tick(2999);
    assert.equal(asked.heartbeats, 0);
    mock.timers.tick(1);
    mock.timers.tick(6000);
    assert.equal(asked.heartbeats, 3);
    finish('synced');
    assert.equal(await step, 'synced');
    mock.timers.tick(9000);
    assert.equal(asked.heartbeats, 3);
  });

  it('passes a failed step on and stops heartbeating', async () => {
    const { payload, asked } = consumerTurn();
    let fail!: (err: Error) => void;
    const step = withHeartbeat(
      { payload, logger: captureLogger().logger },
      1000,
      () => new Promise<never>((_r, reject) => (fail = reject)),
    );
    mock.timers.tick(1000);
    fail(new Error('shopify_failed: 503'));
    await assert.rejects(step, { message: 'shopify_failed: 503' });
    mock.timers.tick(5000);
    assert.equal(asked.heartbeats, 1);
  });

  it('logs a failed heartbeat at debug as kafka.heartbeat and goes on with the step', async () => {
    const { payload, asked } = consumerTurn({ heartbeatFails: 'The coordinator is not aware of this member' });
    const { logger, lines } = captureLogger();
    let finish!: (value: string) => void;
    const step = withHeartbeat({ payload, logger }, 500, () => new Promise<string>((r) => (finish = r)));
    mock.timers.tick(1000);
    await settle();
    finish('synced');
    assert.equal(await step, 'synced');
    assert.equal(asked.heartbeats, 2);
    assert.deepEqual(
      lines.map(({ level, event, msg }) => ({ level, event, msg })),
      [
        { level: 'debug', event: 'kafka.heartbeat', msg: 'heartbeat failed: The coordinator is not aware of this member' },
        { level: 'debug', event: 'kafka.heartbeat', msg: 'heartbeat failed: The coordinator is not aware of this member' },
      ],
    );
  });
});

describe("a partition's batch linger", () => {
  const LINGER_MS = 60_000;
  const HEARTBEAT_MS = 3000;

  it("lets a partition's first batch go at once, without asking the consumer anything", async () => {
    const linger = createLinger(LINGER_MS, HEARTBEAT_MS);
    const { payload, asked } = consumerTurn({ running: false });
    linger.ended(2);
    assert.equal(await linger.wait({ payload, logger: captureLogger().logger, signal: new AbortController().signal }, 1), true);
    assert.deepEqual(asked, { heartbeats: 0, isRunning: 0, isStale: 0 });
  });

  it('lets a batch go at once when its partition has been quiet for the linger', async () => {
    const linger = createLinger(1, HEARTBEAT_MS);
    const { payload, asked } = consumerTurn({ running: false });
    linger.ended(1);
    const quietFrom = performance.now();
    while (performance.now() - quietFrom < 5) await settle();
    assert.equal(await linger.wait({ payload, logger: captureLogger().logger, signal: new AbortController().signal }, 1), true);
    assert.deepEqual(asked, { heartbeats: 0, isRunning: 0, isStale: 0 });
  });

  describe('a batch that follows its partition’s previous one within the linger', () => {
    // Real time: the linger sleeps on node:timers/promises, which node:test's mock timers leave running.
    const SHORT_LINGER_MS = 200;
    const SHORT_HEARTBEAT_MS = 20;

    /** Starts the wait of a batch right after the partition's previous one ended. */
    function waitAfterPrevious(turn: ReturnType<typeof consumerTurn>, signal = new AbortController().signal) {
      const linger = createLinger(SHORT_LINGER_MS, SHORT_HEARTBEAT_MS);
      const previousEnded = performance.now();
      linger.ended(0);
      const waiting = linger.wait({ payload: turn.payload, logger: captureLogger().logger, signal }, 0);
      return { waiting, previousEnded };
    }

    it('waits out the linger since the previous batch ended, heartbeating the group, then goes', async () => {
      const turn = consumerTurn();
      const { waiting, previousEnded } = waitAfterPrevious(turn);
      assert.equal(await waiting, true);
      // Timers fire on whole milliseconds: up to one early against performance.now().
      assert.ok(performance.now() - previousEnded >= SHORT_LINGER_MS - 1);
      assert.ok(turn.asked.heartbeats >= 1, 'a heartbeat falls due before the linger ends');
    });

    it('gives the batch up when the processor stops during the linger', async () => {
      const stop = new AbortController();
      const { waiting } = waitAfterPrevious(consumerTurn(), stop.signal);
      stop.abort();
      assert.equal(await waiting, false);
    });

    for (const [what, state] of [
      ['the consumer is stopping', { running: false }],
      ['a rebalance took the partition', { stale: true }],
    ] as const) {
      it(`gives the batch up when ${what} by the linger's end`, async () => {
        const turn = consumerTurn();
        const { waiting } = waitAfterPrevious(turn);
        Object.assign(turn.state, state);
        assert.equal(await waiting, false);
      });
    }
  });
});

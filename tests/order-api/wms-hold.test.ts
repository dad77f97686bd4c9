import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@oms/common';
import { Redis } from 'ioredis';
import { createWmsHold, type WmsHold } from '../../services/order-manage-api/src/clients/wms-hold.js';
import { eventually } from '../support/eventually.js';
import { stackEnv } from '../support/stack-env.js';
import { closedPort, type LogLine } from './intake-harness.js';

/**
 * docs/spec.md section 3: the WMS hold every replica shares, on the stack's Redis. Each test holds
 * its own random key, so the running services' hold (`wms:hold`) is never touched.
 */

let redis: Redis;
/** A client of a Redis that cannot be reached, failing at once as the service's own client does. */
let unreachable: Redis;
const keys: string[] = [];

before(async () => {
  redis = new Redis(stackEnv().REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  unreachable = new Redis(`redis://127.0.0.1:${await closedPort()}`, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  unreachable.on('error', () => undefined);
  // Once it has given up, every command fails the same way: the warning's text does not depend on timing.
  await new Promise((resolve) => unreachable.once('end', resolve));
});

after(async () => {
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  unreachable.disconnect();
});

const HOLD_SECONDS = 45;

/** A hold of HOLD_SECONDS on a key of this test's own (or on the default key), and the lines it logs. */
function hold(options: { client?: Redis; defaultKey?: boolean } = {}): { wmsHold: WmsHold; key: string; lines: LogLine[] } {
  const logger = createLogger({ service: 'order-manage-api', level: 'debug' });
  for (const transport of logger.transports) transport.silent = !process.env.SHOW_SERVICE_LOGS;
  const lines: LogLine[] = [];
  logger.on('data', (info: LogLine) => lines.push({ ...info }));
  const key = `test:wms:hold:${randomUUID()}`;
  keys.push(key);
  const wmsHold = createWmsHold({
    redis: options.client ?? redis,
    logger,
    ttlSeconds: HOLD_SECONDS,
    ...(options.defaultKey ? {} : { key }),
  });
  return { wmsHold, key, lines };
}

/** What a call answers while the key ticks down: no more than Redis said before it, no less than after it. */
async function betweenTtls(
  key: string,
  call: () => Promise<number | null>,
): Promise<{ answer: number | null; before: number; after: number }> {
  const before = await redis.ttl(key);
  const answer = await call();
  return { answer, before, after: await redis.ttl(key) };
}

const redisUnavailable = (action: string) => ({
  level: 'warn',
  event: 'wms.hold.redis_unavailable',
  msg: `redis unavailable while ${action} the WMS hold, going on without it: Connection is closed.`,
});

const holdLines = (lines: LogLine[]) => lines.map(({ level, event, msg, holdSeconds }) => ({ level, event, msg, holdSeconds }));

describe('WMS hold: remaining seconds', () => {
  it('reads no hold when the key is absent', async () => {
    const { wmsHold } = hold();
    assert.equal(await wmsHold.remainingSeconds(), null);
  });

  it('reads the seconds a running hold still lasts from its TTL', async () => {
    const { wmsHold, key } = hold();
    await redis.set(key, 'set by a replica', 'EX', 600);
    const { answer, before, after } = await betweenTtls(key, () => wmsHold.remainingSeconds());
    assert.ok(answer !== null && answer <= before && answer >= after, `${answer} s, Redis read ${before} then ${after}`);
  });

  it('reads a hold set by hand without expiry as the usual hold length', async () => {
    const { wmsHold, key } = hold();
    await redis.set(key, 'set by hand');
    assert.equal(await wmsHold.remainingSeconds(), HOLD_SECONDS);
  });

  it('reads a hold in its last half second (TTL 0) as 1 s, never 0', async () => {
    const { wmsHold, key } = hold();
    await eventually(async () => {
      await redis.set(key, 'ending', 'PX', 499);
      const answer = await wmsHold.remainingSeconds();
      // Only a read made while the key still lived says anything: on a slow turn it may have expired first.
      assert.ok((await redis.pttl(key)) > 0, 'the key expired before the hold read it');
      assert.equal(answer, 1);
    });
  });
});

describe('WMS hold: starting it', () => {
  it('sets the key for the hold length and answers it', async () => {
    const { wmsHold, key } = hold();
    assert.equal(await wmsHold.start(), HOLD_SECONDS);
    const ttl = await redis.ttl(key);
    assert.ok(ttl > 0 && ttl <= HOLD_SECONDS, `TTL ${ttl}`);
  });

  it('logs wms.hold.started with the hold length on the replica that started it', async () => {
    const { wmsHold, lines } = hold();
    await wmsHold.start();
    assert.deepEqual(holdLines(lines), [
      { level: 'warn', event: 'wms.hold.started', msg: 'WMS failing: holding WMS calls for 45 s', holdSeconds: 45 },
    ]);
  });

  it('keeps a running hold’s end and answers what is left of it, without logging a second start', async () => {
    const { wmsHold, key, lines } = hold();
    await redis.set(key, 'set by another replica', 'EX', 600);
    const { answer, before, after } = await betweenTtls(key, () => wmsHold.start());
    assert.ok(answer !== null && answer <= before && answer >= after, `${answer} s, Redis read ${before} then ${after}`);
    assert.ok(after > HOLD_SECONDS, `the hold was not shortened to ${HOLD_SECONDS} s: TTL ${after}`);
    assert.deepEqual(lines, []);
  });

  it('answers the hold length when a running hold was set by hand without expiry, and leaves it without one', async () => {
    const { wmsHold, key, lines } = hold();
    await redis.set(key, 'set by hand');
    assert.equal(await wmsHold.start(), HOLD_SECONDS);
    assert.equal(await redis.ttl(key), -1);
    assert.deepEqual(lines, []);
  });

  it('answers the hold length when the running hold is in its last half second (TTL 0)', async () => {
    const { wmsHold, key } = hold();
    await eventually(async () => {
      await redis.set(key, 'ending', 'PX', 499);
      const answer = await wmsHold.start();
      // Still the hold set here (not one the call started after it expired), so the call read its TTL 0.
      assert.equal(await redis.get(key), 'ending', 'the key expired before the hold read it');
      assert.equal(answer, HOLD_SECONDS);
    });
  });

  it('uses the key wms:hold unless told another', async () => {
    // The prefix keeps this test's wms:hold apart from the running services' and from a parallel run's.
    const prefix = `test:wms-hold:${randomUUID()}:`;
    const prefixed = new Redis(stackEnv().REDIS_URL, { keyPrefix: prefix, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    keys.push(`${prefix}wms:hold`);
    try {
      const { wmsHold } = hold({ client: prefixed, defaultKey: true });
      assert.equal(await wmsHold.start(), HOLD_SECONDS);
      const { answer, before, after } = await betweenTtls(`${prefix}wms:hold`, () => wmsHold.remainingSeconds());
      assert.ok(after > 0 && after <= HOLD_SECONDS, `TTL of ${prefix}wms:hold: ${after}`);
      assert.ok(answer !== null && answer <= before && answer >= after, `${answer} s, Redis read ${before} then ${after}`);
    } finally {
      prefixed.disconnect();
    }
  });
});

describe('WMS hold: Redis unreachable (fail open)', () => {
  it('reads no hold and warns that it could not read it', async () => {
    const { wmsHold, lines } = hold({ client: unreachable });
    assert.equal(await wmsHold.remainingSeconds(), null);
    assert.deepEqual(
      lines.map(({ level, event, msg }) => ({ level, event, msg })),
      [redisUnavailable('reading')],
    );
  });

  it('answers the hold length when it cannot start the hold, and warns that it could not set it', async () => {
    const { wmsHold, lines } = hold({ client: unreachable });
    assert.equal(await wmsHold.start(), HOLD_SECONDS);
    assert.deepEqual(
      lines.map(({ level, event, msg }) => ({ level, event, msg })),
      [redisUnavailable('setting')],
    );
  });
});

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import winston from 'winston';
import { createLogger, runWithCorrelation } from '@oms/common';

function capture(secrets: string[] = []) {
  const lines: string[] = [];
  const logger = createLogger({ service: 'order-manage-api', secrets });
  logger.clear();
  logger.add(
    new winston.transports.Stream({
      stream: new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk).trim());
          done();
        },
      }),
    }),
  );
  return { logger, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('service log lines', () => {
  it('are JSON with the fields docs/spec.md section 7 names, the correlation id taken from the request context', () => {
    const { logger, lines } = capture();
    runWithCorrelation('webhook-123', () => logger.info('SUCCESS order accepted', { event: 'order.accepted', orderId: 1001 }));
    const [line] = lines();
    assert.equal(line?.service, 'order-manage-api');
    assert.equal(line?.level, 'info');
    assert.equal(line?.event, 'order.accepted');
    assert.equal(line?.orderId, 1001);
    assert.equal(line?.correlationId, 'webhook-123');
    assert.equal(line?.msg, 'SUCCESS order accepted');
    assert.ok(!Number.isNaN(Date.parse(String(line?.time))));
  });

  it('never contain a configured secret, wherever it appears', () => {
    const { logger, lines } = capture(['local-webhook-secret']);
    logger.warn('header was local-webhook-secret', { event: 'x', detail: 'token=local-webhook-secret;' });
    const text = JSON.stringify(lines());
    assert.ok(!text.includes('local-webhook-secret'));
    assert.ok(text.includes('[REDACTED]'));
  });

  it('are still written for a value JSON cannot hold: a bigint as its decimal string, a cycle marked', () => {
    const { logger, lines } = capture();
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    logger.info('odd values', { event: 'x', big: 820982911946154508n, cyclic });
    const [line] = lines();
    assert.equal(line?.big, '820982911946154508');
    assert.deepEqual(line?.cyclic, { name: 'a', self: '[Circular]' });
    assert.equal(line?.msg, 'odd values');
  });
});

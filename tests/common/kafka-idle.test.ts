import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTopic, deleteTopics, kafkaClient, uniqueTopic } from '../support/kafka.js';

/** Timers created while `idle` runs, counted through async_hooks (every setTimeout is a `Timeout`). */
async function timersArmedDuring(idle: () => Promise<void>): Promise<number> {
  let armed = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'Timeout') armed += 1;
    },
  }).enable();
  try {
    await idle();
  } finally {
    hook.disable();
  }
  return armed;
}

/**
 * KafkaJS 2.2.4 re-armed a 1 ms timer on every broker connection for as long as it lived
 * (tulios/kafkajs#1556): about 3 % of a core in the data-api and the stream processor with no
 * order in sight. patches/kafkajs+2.2.4.patch stops it; this fails if an install loses the patch.
 */
describe('Kafka client (KafkaJS as patched at install)', () => {
  const topic = uniqueTopic('kafka-idle');
  const producer = kafkaClient().producer();

  after(async () => {
    await producer.disconnect();
    await deleteTopics([topic]);
  });

  it('an idle connected producer arms no timer of its own between sends', async () => {
    await createTopic(topic);
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'first' }] });

    const armed = await timersArmedDuring(() => sleep(500));

    // The sleep itself is one timer; the unpatched client armed about 400 a second per connection.
    assert.ok(armed <= 3, `${armed} timers were armed in 500 ms of idleness`);
    await producer.send({ topic, messages: [{ value: 'after the idle spell' }] });
  });
});

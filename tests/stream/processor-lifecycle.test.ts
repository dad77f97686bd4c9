/**
 * The processor's life in its consumer group (`entry-points/kafka-consumer.ts`): where a new group
 * starts, the line it logs once it consumes, and which partitions it says it holds.
 * Real Kafka, the Shopify stand-in and order-manage-data-api's figures.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { closeDb } from '../support/db.js';
import { benchFor, createVariant, eventually, recordMovement } from './harness.js';

after(closeDb);

const partitionsHeld = (processor: { consumes(partition: number): boolean }) => [0, 1, 2].filter((p) => processor.consumes(p));

describe('a new consumer group', () => {
  it("starts at the topic's oldest event: an event produced before the processor started reaches Shopify", async (t) => {
    const variant = await createVariant(t, { database: 10 });
    const bench = await benchFor(t, { start: false });
    const order = await recordMovement(variant, { reason: 'order', delta: -1 });
    await bench.produce([order], { partition: 1 });

    await bench.processor.start();

    await eventually(() => assert.equal(bench.success(order.eventId)?.result, 'lowered'));
  });

  it('logs kafka.consumer.started with its topic and group once it consumes', async (t) => {
    const bench = await benchFor(t);
    assert.deepEqual(
      bench.logs
        .filter((l) => l.event === 'kafka.consumer.started')
        .map(({ level, msg, topic, groupId }) => ({ level, msg, topic, groupId })),
      [{ level: 'info', msg: `consuming ${bench.topic} as group ${bench.groupId}`, topic: bench.topic, groupId: bench.groupId }],
    );
  });
});

describe('the partitions a processor holds', () => {
  it('are none, and Kafka is not ready, before it joins its group', async (t) => {
    const bench = await benchFor(t, { start: false });
    assert.deepEqual(partitionsHeld(bench.processor), []);
    await assert.rejects(bench.processor.checkKafka(), { message: 'the consumer is not in its group' });
  });

  it("are all the topic's once it is the group's only member, and Kafka is ready", async (t) => {
    const bench = await benchFor(t);
    await eventually(() => assert.deepEqual(partitionsHeld(bench.processor), [0, 1, 2]));
    await bench.processor.checkKafka();
  });

  it('are shared with a second replica of the group, each partition held by one of them', async (t) => {
    const bench = await benchFor(t);
    const second = bench.newProcessor();
    t.after(() => second.stop());
    await second.start();

    await eventually(() => {
      const [first, other] = [partitionsHeld(bench.processor), partitionsHeld(second)];
      assert.ok(first.length > 0 && other.length > 0, `both hold partitions: ${first} and ${other}`);
      assert.deepEqual([...first, ...other].sort(), [0, 1, 2]);
    });
  });

  it('are none once it stopped, and its partitions go to the replica that stays', async (t) => {
    const bench = await benchFor(t);
    const second = bench.newProcessor();
    t.after(() => second.stop());
    await second.start();
    await eventually(() => assert.ok(partitionsHeld(bench.processor).length > 0 && partitionsHeld(second).length > 0));

    await second.stop();

    assert.deepEqual(partitionsHeld(second), []);
    await assert.rejects(second.checkKafka(), { message: 'the consumer is not in its group' });
    await eventually(() => assert.deepEqual(partitionsHeld(bench.processor), [0, 1, 2]));
  });
});

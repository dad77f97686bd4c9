import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Partitioners, type PartitionerArgs } from 'kafkajs';

const murmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number;

/**
 * patches/kafkajs+2.2.4.patch computes KafkaJS's murmur2 in 32-bit integers instead of a BigInt per
 * step. A product's events must still land in the partition they always did (and that Kafka's Java
 * client would choose), or one product's events could be consumed out of order across a deploy.
 */
describe('Kafka partitioner (KafkaJS as patched at install)', () => {
  it("hashes keys exactly as Kafka's Java client does (the vectors of Kafka's own UtilsTest)", () => {
    const javaVectors: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    assert.deepEqual(
      javaVectors.map(([key]) => [key, murmur2(key)]),
      javaVectors,
    );
  });

  it('keeps every product id in the partition the unpatched KafkaJS chose', () => {
    // Computed with KafkaJS 2.2.4 as released, before the patch; the ids span 1 to 19 digits.
    const before: Array<[string, number]> = [
      ['8000000000001', 1900144564],
      ['820982911946154508', 1793695297],
      ['', 275646681],
    ];
    assert.deepEqual(
      before.map(([key]) => [key, murmur2(key)]),
      before,
    );
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1 })) as PartitionerArgs['partitionMetadata'];
    const partitionOf = (key: string) => partitioner({ topic: 'inventory-updates', partitionMetadata, message: { key, value: '{}' } });
    assert.deepEqual(
      before.map(([key]) => partitionOf(key)),
      before.map(([, hash]) => (hash & 0x7fffffff) % 3),
    );
  });
});

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Partitioners, type PartitionerArgs } from 'kafkajs';

const require = createRequire(import.meta.url);
const murmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number;
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (record: {
  offsetDelta: number;
  timestampDelta: number;
  key: string | null;
  value: string | null;
  headers?: Record<string, string>;
}) => { buffer: Buffer };

/**
 * patches/kafkajs+2.2.4.patch computes KafkaJS's murmur2 in 32-bit integers instead of a BigInt per
 * step, and encodes records without a buffer per varint. A product's events must still land in the
 * partition they always did (and that Kafka's Java client would choose), or one product's events
 * could be consumed out of order across a deploy; and every record must be the same bytes.
 */
describe('KafkaJS as patched at install', () => {
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
    // Computed with KafkaJS 2.2.4 as released, before the patch: a 13-digit id, an 18-digit one, an empty key.
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

  it('encodes records byte for byte as the unpatched KafkaJS did', () => {
    // Each expected value was encoded by KafkaJS 2.2.4 as released, before the patch.
    const records: Array<[Parameters<typeof encodeRecord>[0], string]> = [
      [
        { offsetDelta: 2, timestampDelta: 0, key: '8000000000001', value: '{"eventId":"e"}', headers: { 'x-correlation-id': 'c-1' } },
        '6e0000041a383030303030303030303030311e7b226576656e744964223a2265227d0220782d636f7272656c6174696f6e2d696406632d31',
      ],
      [{ offsetDelta: 300, timestampDelta: 2 ** 31, key: '820982911946154508', value: 'v', headers: {} }, '3c008080808010d80424383230393832393131393436313534353038027600'],
      [{ offsetDelta: 1, timestampDelta: -70, key: 'k', value: 'v' }, '12008b0102026b027600'],
      [{ offsetDelta: 1, timestampDelta: 1000, key: 'k', value: 'v' }, '1200d00f02026b027600'],
      [{ offsetDelta: 0, timestampDelta: -(2 ** 40), key: null, value: null }, '1600ffffffffff3f00010100'],
    ];
    assert.deepEqual(
      records.map(([record]) => encodeRecord(record).buffer.toString('hex')),
      records.map(([, hex]) => hex),
    );
  });
});

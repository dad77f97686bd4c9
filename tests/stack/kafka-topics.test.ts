import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaBrokers } from '../support/kafka.js';

it('the stack created inventory-updates and its DLQ with at least 3 partitions each', async () => {
  const admin = new Kafka({ clientId: 'stack-topics-test', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: ['inventory-updates', 'inventory-updates.dlq'] });
    const partitions = Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
    assert.ok((partitions['inventory-updates'] ?? 0) >= 3, `inventory-updates partitions: ${partitions['inventory-updates']}`);
    assert.ok((partitions['inventory-updates.dlq'] ?? 0) >= 3, `inventory-updates.dlq partitions: ${partitions['inventory-updates.dlq']}`);
  } finally {
    await admin.disconnect();
  }
});

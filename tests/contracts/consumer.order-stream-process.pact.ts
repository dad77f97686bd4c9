import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { parseInventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import { correlationOf } from '../../services/order-stream-process/src/batch-handler.js';
import { DATA_API, EXAMPLE, PACT_DIR, removePact, SHOPIFY_ID_PATTERN, STREAM_PROCESS } from './pact-support.js';

/**
 * What order-stream-process relies on in an inventory event, recorded by feeding the message to the
 * processor's own parsing (the value) and correlation reading (the x-correlation-id header): a
 * message those reject would go to the DLQ instead of Shopify.
 */
const { integer, iso8601DateTimeWithMillis, regex, string, uuid } = MatchersV3;

const pact = new PactV4({ consumer: STREAM_PROCESS, provider: DATA_API, dir: PACT_DIR, logLevel: 'warn' });

/** A Kafka message as kafkajs hands it to the processor: the key from the contract's metadata. */
function kafkaMessage(content: unknown, metadata: Record<string, unknown>): KafkaMessage {
  const correlationId = metadata['x-correlation-id'];
  return {
    key: Buffer.from(String(metadata.key)),
    value: Buffer.from(JSON.stringify(content)),
    headers: typeof correlationId === 'string' ? { 'x-correlation-id': Buffer.from(correlationId) } : {},
    timestamp: '0',
    attributes: 0,
    offset: '0',
  };
}

describe('order-manage-data-api → order-stream-process (message pact)', () => {
  before(() => removePact(STREAM_PROCESS, DATA_API));

  test('an inventory event of a committed order is one the processor accepts, with its correlation id', async () => {
    await pact
      .addAsynchronousInteraction()
      .given('an order for one product was committed')
      .expectsToReceive('an inventory event for a product of a committed order', (b) => {
        // The Kafka key is the product id: per-product ordering depends on it (SPEC.md section 5).
        b.withMetadata({
          key: regex(SHOPIFY_ID_PATTERN, EXAMPLE.productId),
          'x-correlation-id': regex(/^[A-Za-z0-9._:-]{1,128}$/, EXAMPLE.correlationId),
        }).withJSONContent({
          eventId: uuid('3f1c2b9e-6c3d-4c8e-9a51-2d4b7f0e8a11'),
          orderId: regex(SHOPIFY_ID_PATTERN, EXAMPLE.orderId),
          productId: regex(SHOPIFY_ID_PATTERN, EXAMPLE.productId),
          sku: string('TSHIRT-BLK-M'),
          inventoryItemId: regex(SHOPIFY_ID_PATTERN, EXAMPLE.inventoryItemId),
          locationId: regex(SHOPIFY_ID_PATTERN, EXAMPLE.locationId),
          quantityOrdered: integer(2),
          availableAfter: integer(118),
          inventoryVersion: integer(2),
          occurredAt: iso8601DateTimeWithMillis('2026-11-24T08:00:01.250Z'),
        });
      })
      .executeTest(async (message) => {
        const received = kafkaMessage(message.contents.content, message.metadata as Record<string, unknown>);
        const parsed = parseInventoryEvent(received.value);
        assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
        assert.equal(parsed.event.productId, EXAMPLE.productId);
        assert.equal(received.key?.toString(), parsed.event.productId, 'keyed by its product id');
        assert.equal(parsed.event.inventoryItemId, EXAMPLE.inventoryItemId);
        assert.equal(parsed.event.availableAfter, 118);
        assert.equal(correlationOf(received), EXAMPLE.correlationId);
      });
  });
});

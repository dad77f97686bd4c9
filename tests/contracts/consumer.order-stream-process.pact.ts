import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { MatchersV3, PactV4 } from '@pact-foundation/pact';
import { parseInventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import { isDelta } from '../../services/order-stream-process/src/domain/sync-rule.js';
import { correlationOf } from '../../services/order-stream-process/src/use-cases/sync-batch/receive.js';
import { DATA_API, EXAMPLE, PACT_DIR, removePact, SHOPIFY_ID_PATTERN, STREAM_PROCESS } from './pact-support.js';

/**
 * What order-stream-process relies on in an inventory event (docs/spec.md section 5: one per movement,
 * keyed by variant), recorded by feeding the message to the processor's own parsing (the value),
 * its sync rule (an order Shopify created is never sent to Shopify as a delta) and its correlation
 * reading (the x-correlation-id header): a message those reject would go to the DLQ instead of
 * Shopify.
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

  test('the inventory event of an accepted order’s variant is one the processor accepts, keyed by the variant, with its correlation id', async () => {
    await pact
      .addAsynchronousInteraction()
      .given('an order for one variant was accepted')
      .expectsToReceive('the inventory event of the order movement of a variant', (b) => {
        // The Kafka key is the variant id: one variant's events stay in order (docs/spec.md section 5).
        b.withMetadata({
          key: regex(SHOPIFY_ID_PATTERN, EXAMPLE.variantId),
          'x-correlation-id': regex(/^[A-Za-z0-9._:-]{1,128}$/, EXAMPLE.correlationId),
        }).withJSONContent({
          eventId: uuid('3f1c2b9e-6c3d-4c8e-9a51-2d4b7f0e8a11'),
          movementId: regex(SHOPIFY_ID_PATTERN, EXAMPLE.movementId),
          // An order's movement: Shopify took its units itself when it created the order.
          reason: 'order',
          reference: regex(SHOPIFY_ID_PATTERN, EXAMPLE.orderId),
          orderId: regex(SHOPIFY_ID_PATTERN, EXAMPLE.orderId),
          variantId: regex(SHOPIFY_ID_PATTERN, EXAMPLE.variantId),
          productId: regex(SHOPIFY_ID_PATTERN, EXAMPLE.productId),
          sku: string(EXAMPLE.sku),
          inventoryItemId: regex(SHOPIFY_ID_PATTERN, EXAMPLE.inventoryItemId),
          locationId: regex(SHOPIFY_ID_PATTERN, EXAMPLE.locationId),
          delta: integer(-2),
          availableAfter: integer(118),
          inventoryVersion: integer(2),
          occurredAt: iso8601DateTimeWithMillis('2026-11-24T08:00:01.250Z'),
          shopifyKnows: true,
        });
      })
      .executeTest(async (message) => {
        const received = kafkaMessage(message.contents.content, message.metadata as Record<string, unknown>);
        const parsed = parseInventoryEvent(received.value);
        assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
        assert.equal(parsed.event.variantId, EXAMPLE.variantId);
        assert.equal(received.key?.toString(), parsed.event.variantId, 'keyed by its variant id');
        assert.equal(parsed.event.inventoryItemId, EXAMPLE.inventoryItemId);
        assert.equal(parsed.event.delta, -2);
        assert.equal(parsed.event.availableAfter, 118);
        assert.equal(isDelta(parsed.event), false, 'an order Shopify created is confirmed, never sent again as a delta');
        assert.equal(correlationOf(received), EXAMPLE.correlationId);
      });
  });
});

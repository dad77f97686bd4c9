import { randomUUID } from 'node:crypto';
import type { InventoryEvent } from '../../services/order-stream-process/src/domain/event.js';

/**
 * An inventory event as order-manage-data-api writes it (docs/spec.md section 5), for the stream
 * processor's pure rules: an order of a demo variant that Shopify created (so Shopify took its
 * units), Shopify's test-notification order id (above 2^53), a fresh event id unless the test pins one.
 */
export function exampleInventoryEvent(fields: Partial<InventoryEvent> = {}): InventoryEvent {
  return {
    eventId: randomUUID(),
    movementId: '1201',
    reason: 'order',
    reference: '820982911946154508',
    orderId: '820982911946154508',
    variantId: '45123456789011',
    productId: '7523456789001',
    sku: 'TSHIRT-BLK-M',
    inventoryItemId: '44123456780001',
    locationId: '65432109876',
    delta: -2,
    availableAfter: 118,
    inventoryVersion: 2,
    occurredAt: '2026-11-24T08:00:00.000Z',
    shopifyKnows: true,
    ...fields,
  };
}

/** A movement Shopify cannot know: a restock from the warehouse through the adjustment API. */
export function exampleRestockEvent(fields: Partial<InventoryEvent> = {}): InventoryEvent {
  return exampleInventoryEvent({
    movementId: '1202',
    reason: 'restock',
    reference: 'restock-2026-11-24-a',
    orderId: null,
    delta: 10,
    availableAfter: 128,
    inventoryVersion: 3,
    shopifyKnows: false,
    ...fields,
  });
}

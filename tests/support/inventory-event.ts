import { randomUUID } from 'node:crypto';
import type { InventoryEvent } from '../../services/order-stream-process/src/domain/event.js';

/**
 * An inventory event as order-manage-data-api writes it (SPEC.md section 5), for the stream
 * processor's pure rules: a demo product, Shopify's test-notification order id (above 2^53), a fresh
 * event id unless the test pins one.
 */
export function exampleInventoryEvent(fields: Partial<InventoryEvent> = {}): InventoryEvent {
  return {
    eventId: randomUUID(),
    orderId: '820982911946154508',
    productId: '7523456789001',
    sku: 'TSHIRT-BLK-M',
    inventoryItemId: '44123456780001',
    locationId: '65432109876',
    quantityOrdered: 2,
    availableAfter: 118,
    inventoryVersion: 2,
    occurredAt: '2026-11-24T08:00:00.000Z',
    ...fields,
  };
}

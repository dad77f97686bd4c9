import type { ShopifyId } from '@oms/common';

/** The Kafka event of SPEC.md section 5, one per product of a committed order; ids are decimal strings. */
export interface InventoryEvent {
  eventId: string;
  orderId: ShopifyId;
  productId: ShopifyId;
  sku: string;
  inventoryItemId: ShopifyId;
  locationId: ShopifyId;
  quantityOrdered: number;
  availableAfter: number;
  inventoryVersion: number;
  occurredAt: string;
}

export type InventoryEventInput = Omit<InventoryEvent, 'occurredAt'> & { occurredAt: Date };

/** Pure: the same input always gives the same event, so the outbox row is the event. */
export function buildInventoryEvent(input: InventoryEventInput): InventoryEvent {
  return {
    eventId: input.eventId,
    orderId: input.orderId,
    productId: input.productId,
    sku: input.sku,
    inventoryItemId: input.inventoryItemId,
    locationId: input.locationId,
    quantityOrdered: input.quantityOrdered,
    availableAfter: input.availableAfter,
    inventoryVersion: input.inventoryVersion,
    occurredAt: input.occurredAt.toISOString(),
  };
}

/** Per-product ordering in Kafka: the key is the product id as a decimal string. */
export function inventoryEventKey(event: Pick<InventoryEvent, 'productId'>): string {
  return event.productId;
}

import type { ShopifyId } from '@oms/common';

/**
 * The Kafka event of SPEC.md section 5, one per product of a committed order; ids are decimal
 * strings. The commit builds it in SQL from what its decrement wrote (db/orders.ts), and the Kafka
 * key is the product id, so that one product's events stay in order.
 */
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

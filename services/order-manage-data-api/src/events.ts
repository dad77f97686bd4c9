import type { ShopifyId } from '@oms/common';

export type MovementReason = 'order' | 'cancel' | 'return' | 'restock' | 'correction' | 'import' | 'wms_sync';

/**
 * The Kafka event of docs/spec.md section 5, one per inventory movement; ids are decimal strings. The
 * commit builds it in SQL from what the movement wrote (db/outbox-events.ts), and the Kafka key is the
 * variant id, so that one variant's events stay in order.
 */
export interface InventoryEvent {
  eventId: string;
  movementId: ShopifyId;
  reason: MovementReason;
  reference: string;
  orderId: ShopifyId | null;
  variantId: ShopifyId;
  productId: ShopifyId;
  sku: string;
  inventoryItemId: ShopifyId;
  locationId: ShopifyId;
  delta: number;
  availableAfter: number;
  inventoryVersion: number;
  occurredAt: string;
  /** Shopify made this change itself (an order it created): the stream never repeats it there. */
  shopifyKnows: boolean;
}

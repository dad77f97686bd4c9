import type { ShopifyId } from '@oms/common';
import type pg from 'pg';

/** pg reads a bigint as its decimal string: ids stay exact from the column to the JSON. */
export interface OrderView {
  orderId: ShopifyId;
  webhookId: string;
  eventId: string | null;
  status: string;
  receivedAt: string;
}

export interface OrderRow {
  order_id: string;
  webhook_id: string;
  event_id: string | null;
  status: string;
  received_at: Date;
}

export const orderView = (r: OrderRow): OrderView => ({
  orderId: r.order_id,
  webhookId: r.webhook_id,
  eventId: r.event_id,
  status: r.status,
  receivedAt: r.received_at.toISOString(),
});

export async function findOrder(pool: pg.Pool | pg.PoolClient, orderId: ShopifyId): Promise<OrderView | null> {
  const { rows } = await pool.query<OrderRow>(
    'SELECT order_id, webhook_id, event_id, status, received_at FROM orders WHERE order_id = $1',
    [orderId],
  );
  return rows[0] ? orderView(rows[0]) : null;
}

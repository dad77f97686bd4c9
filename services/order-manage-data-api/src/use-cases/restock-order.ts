import { compareShopifyIds, type ShopifyId } from '@oms/common';
import type pg from 'pg';
import { lockOrderOf, planRestocks, type PlannedRestock, type RefundLine, refundLineKey } from '../domain/restock.js';
import { inTransaction, type Transaction } from '../db/pool.js';
import {
  claimEvent,
  lockOrderStatus,
  lockVariants,
  markCancelled,
  type OrderStatus,
  readRestockState,
  type RestockedVariant,
  type RestockMovement,
  type RestockTopic,
  writeRestocks,
} from '../db/restocks.js';
import { backOffOrRethrow } from './retry.js';

export interface RestockRequest {
  orderId: ShopifyId;
  topic: RestockTopic;
  webhookId: string;
  /** X-Shopify-Event-Id: an event handled before is answered as the first time; null when Shopify sent none. */
  eventId: string | null;
  /** orders/cancelled only: when the merchant cancelled (null: now). */
  cancelledAt: string | null;
  refundLines: RefundLine[];
  correlationId: string;
  /** The Kafka topic the outbox rows go to. */
  inventoryTopic: string;
}

export interface RestockOutcome {
  orderStatus: OrderStatus;
  /** The event was handled before: the first answer again, and nothing changed. */
  replayed: boolean;
  /** Units back per variant, ascending variant id (the webhook's answer). */
  restocked: RestockedVariant[];
  /** The movements this delivery wrote (none for a replay). */
  movements: RestockMovement[];
}

/**
 * Puts back the units of a cancellation's or a refund's restocked lines (docs/spec.md section 2.2), in
 * one transaction: the event claimed (an event handled before is answered as the first time), the
 * order locked and, for a cancellation, marked cancelled, the variants locked in ascending id order,
 * one movement per refund line item with its event. An order the system never accepted changes
 * nothing.
 */
export async function restockOrder(
  pool: pg.Pool,
  request: RestockRequest,
  options: { maxAttempts?: number } = {},
): Promise<RestockOutcome> {
  const maxAttempts = options.maxAttempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(pool, (client, tx) => restockOnce(client, tx, request));
    } catch (err) {
      await backOffOrRethrow(err, attempt, maxAttempts);
    }
  }
}

async function restockOnce(client: pg.PoolClient, tx: Transaction, request: RestockRequest): Promise<RestockOutcome> {
  const { orderId, eventId } = request;
  if (eventId !== null) {
    const handled = await claimEvent(client, { eventId, topic: request.topic, orderId, webhookId: request.webhookId });
    if (handled) return { orderStatus: handled.orderStatus, replayed: true, restocked: handled.restocked, movements: [] };
  }
  let orderStatus = await lockOrderStatus(client, orderId);
  const tookStock = orderStatus === 'accepted' || orderStatus === 'cancelled';
  if (tookStock && request.topic === 'orders/cancelled') {
    await markCancelled(client, orderId, request.cancelledAt);
    orderStatus = 'cancelled';
  }
  const plan = tookStock && request.refundLines.length > 0 ? await planFor(client, orderId, request.refundLines) : [];
  if (plan.length > 0) await lockVariants(client, lockOrderOf(plan));
  const movements = await writeRestocks(tx, { ...request, plan, orderStatus });
  return { orderStatus, replayed: false, restocked: restockedOf(movements), movements };
}

/** The plan for an accepted order, read under its lock: its reserved lines and the refund lines already in the ledger. */
async function planFor(client: pg.PoolClient, orderId: ShopifyId, refundLines: RefundLine[]): Promise<PlannedRestock[]> {
  const lineItemIds = [...new Set(refundLines.map((r) => r.lineItemId))];
  const { reserved, appliedKeys } = await readRestockState(
    client,
    orderId,
    lineItemIds,
    refundLines.map((r) => refundLineKey(r.id)),
  );
  return planRestocks(refundLines, reserved, new Set(refundLines.filter((r) => appliedKeys.has(refundLineKey(r.id))).map((r) => r.id)));
}

/** Units back per variant, ascending variant id: the same list the event's row keeps. */
function restockedOf(movements: readonly RestockMovement[]): RestockedVariant[] {
  const byVariant = new Map<ShopifyId, number>();
  for (const m of movements) byVariant.set(m.variantId, (byVariant.get(m.variantId) ?? 0) + m.delta);
  return [...byVariant.entries()]
    .map(([variantId, quantity]) => ({ variantId, quantity }))
    .sort((a, b) => compareShopifyIds(a.variantId, b.variantId));
}

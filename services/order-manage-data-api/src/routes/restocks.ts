import { randomUUID } from 'node:crypto';
import { currentContext, type Logger, ORDER_LIMITS, orderText, setContextOrderId, shopifyIdString } from '@oms/common';
import express, { type Router } from 'express';
import type pg from 'pg';
import { z } from 'zod';
import { restockOrder } from '../use-cases/restock-order.js';
import { invalid } from './problems.js';
import { orderIdParam } from './schemas.js';

/** An order has at most 500 lines, and each may be refunded in several parts. */
export const MAX_REFUND_LINES = 10 * ORDER_LIMITS.maxLines;

const refundLineSchema = z.object({
  id: shopifyIdString('id'),
  lineItemId: shopifyIdString('lineItemId'),
  quantity: z.number().int().min(0).max(ORDER_LIMITS.maxQuantity),
  restockType: orderText('restockType', 64),
  locationId: shopifyIdString('locationId').nullable().default(null),
});

export const restockSchema = z.object({
  topic: z.enum(['orders/cancelled', 'refunds/create']),
  webhookId: z.string().min(1).max(ORDER_LIMITS.maxShortTextLength),
  eventId: z.string().min(1).max(ORDER_LIMITS.maxShortTextLength).nullable().default(null),
  cancelledAt: z.iso.datetime({ offset: true }).nullable().default(null),
  refundLineItems: z.array(refundLineSchema).max(MAX_REFUND_LINES),
});

export interface RestocksRouteDeps {
  pool: pg.Pool;
  logger: Logger;
  inventoryTopic: string;
}

/**
 * `POST /internal/orders/:orderId/restocks`: the units a cancellation or a refund puts back (docs/spec.md
 * section 2.2). Always 200 for a valid request: an order the system never accepted restocks nothing.
 */
export function restocksRouter(deps: RestocksRouteDeps): Router {
  const { pool, logger, inventoryTopic } = deps;
  const router = express.Router();

  router.post('/orders/:orderId/restocks', async (req, res) => {
    const orderId = orderIdParam.safeParse(req.params.orderId);
    if (!orderId.success) throw invalid(orderId.error);
    const body = restockSchema.safeParse(req.body);
    if (!body.success) throw invalid(body.error);
    setContextOrderId(orderId.data);
    const { refundLineItems, ...delivery } = body.data;
    const outcome = await restockOrder(pool, {
      ...delivery,
      orderId: orderId.data,
      refundLines: refundLineItems,
      correlationId: currentContext()?.correlationId ?? randomUUID(),
      inventoryTopic,
    });
    if (outcome.movements.length > 0) {
      const units = outcome.movements.reduce((sum, m) => sum + m.delta, 0);
      logger.info(`order ${orderId.data}: ${units} unit(s) back on ${outcome.restocked.length} variant(s) (${delivery.topic})`, {
        event: 'order.restock.committed',
        orderId: orderId.data,
        topic: delivery.topic,
        movements: outcome.movements,
      });
    }
    res.json({ orderId: orderId.data, ...outcome });
  });

  return router;
}

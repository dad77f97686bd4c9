import { randomUUID } from 'node:crypto';
import express, { type Router } from 'express';
import type pg from 'pg';
import { currentContext, ProblemError, setContextOrderId, type Logger, type Problem } from '@oms/common';
import { listStock } from '../db/inventory.js';
import { commitOrder, findOrder, lookupIntake } from '../db/orders.js';
import { recordRejection } from '../db/rejections.js';
import type { DataApiMetrics } from '../metrics.js';
import { commitSchema, lookupSchema, orderIdParam, rejectionReportSchema, stockQuerySchema, validationErrors } from './schemas.js';
import type { z } from 'zod';

export interface InternalRoutesDeps {
  pool: pg.Pool;
  logger: Logger;
  metrics: DataApiMetrics;
  inventoryTopic: string;
}

export function invalid(error: z.ZodError): ProblemError {
  return new ProblemError({
    status: 400,
    code: 'INVALID_PAYLOAD',
    detail: 'The request failed validation.',
    errors: validationErrors(error),
  });
}

export function internalRouter(deps: InternalRoutesDeps): Router {
  const { pool, logger, metrics, inventoryTopic } = deps;
  const router = express.Router();

  /** A refused commit wrote nothing; it is counted and logged (without SUCCESS) for the operator. */
  const rejected = (problem: Problem): ProblemError => {
    metrics.ordersRejected.inc({ code: problem.code });
    logger.info(`order not committed: ${problem.detail}`, { event: 'order.rejected', code: problem.code });
    return new ProblemError(problem);
  };

  router.get('/orders/:orderId', async (req, res) => {
    const parsed = orderIdParam.safeParse(req.params.orderId);
    if (!parsed.success) throw invalid(parsed.error);
    const order = await findOrder(pool, parsed.data);
    if (!order) {
      throw new ProblemError({ status: 404, code: 'ORDER_NOT_FOUND', detail: `Order ${parsed.data} does not exist.`, orderId: parsed.data });
    }
    res.json(order);
  });

  /** With an orderId, the order too: the intake's checks before the WMS, in one round trip. */
  router.post('/products/lookup', async (req, res) => {
    const parsed = lookupSchema.safeParse(req.body);
    if (!parsed.success) throw invalid(parsed.error);
    const { orderId, productIds } = parsed.data;
    const { existingOrder, products } = await lookupIntake(pool, orderId ?? null, productIds);
    const found = new Set(products.map((p) => p.productId));
    const missingProductIds = [...new Set(productIds.filter((productId) => !found.has(productId)))];
    res.json(orderId === undefined ? { products, missingProductIds } : { existingOrder, products, missingProductIds });
  });

  router.post('/orders', async (req, res) => {
    const parsed = commitSchema.safeParse(req.body);
    if (!parsed.success) throw invalid(parsed.error);
    const { order, lines, nonStockLines } = parsed.data;
    setContextOrderId(order.orderId);
    const outcome = await commitOrder(pool, {
      order,
      lines,
      nonStockLines,
      correlationId: currentContext()?.correlationId ?? randomUUID(),
      topic: inventoryTopic,
    });
    switch (outcome.kind) {
      case 'committed':
        metrics.ordersCommitted.inc();
        logger.info(`SUCCESS order ${order.orderId} committed: inventory decremented for ${outcome.items.length} product(s)`, {
          event: 'order.committed',
          orderId: order.orderId,
          items: outcome.items,
        });
        res.status(201).json({ orderId: order.orderId, status: 'committed', items: outcome.items });
        return;
      case 'duplicate':
        throw rejected({
          status: 409,
          code: 'ORDER_ALREADY_EXISTS',
          detail: `Order ${order.orderId} was already accepted.`,
          orderId: order.orderId,
          existingWebhookId: outcome.existingWebhookId,
        });
      case 'not_found':
        throw rejected({
          status: 422,
          code: 'PRODUCT_NOT_FOUND',
          detail: `Unknown product(s): ${outcome.productIds.join(', ')}.`,
          orderId: order.orderId,
          productIds: outcome.productIds,
        });
      case 'insufficient':
        throw rejected({
          status: 422,
          code: 'INSUFFICIENT_INVENTORY',
          detail: `Not enough stock for product(s): ${outcome.items.map((i) => i.productId).join(', ')}.`,
          orderId: order.orderId,
          items: outcome.items,
        });
    }
  });

  /** The api reports each refusal of an identifiable order here, after it has answered Shopify. */
  router.post('/orders/rejections', async (req, res) => {
    const parsed = rejectionReportSchema.safeParse(req.body);
    if (!parsed.success) throw invalid(parsed.error);
    const report = parsed.data;
    setContextOrderId(report.orderId);
    const rejection = await recordRejection(pool, report);
    metrics.rejectionsRecorded.inc({ code: report.code });
    logger.info(`refused order ${report.orderId} recorded (${report.code}, delivery ${rejection.deliveries})`, {
      event: 'order.rejection.recorded',
      orderId: report.orderId,
      code: report.code,
      status: report.status,
      webhookId: report.webhookId,
      deliveries: rejection.deliveries,
    });
    res.status(rejection.deliveries === 1 ? 201 : 200).json(rejection);
  });

  /** The stock Shopify should show, paged by product id: what reconciliation compares against. */
  router.get('/inventory', async (req, res) => {
    const parsed = stockQuerySchema.safeParse(req.query);
    if (!parsed.success) throw invalid(parsed.error);
    res.json(await listStock(pool, parsed.data));
  });

  return router;
}

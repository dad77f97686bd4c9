import { randomUUID } from 'node:crypto';
import express, { type Router } from 'express';
import type pg from 'pg';
import { currentContext, ProblemError, setContextOrderId, type Logger, type Problem } from '@oms/common';
import { listStock } from '../db/inventory.js';
import { findOrder } from '../db/order-view.js';
import { type CommitOutcome, commitOrder } from '../db/orders.js';
import { resolveLines } from '../db/variants.js';
import { recordRejection } from '../db/rejections.js';
import type { DataApiMetrics } from '../metrics.js';
import { commitSchema, orderIdParam, resolveSchema, rejectionReportSchema, stockQuerySchema, validationErrors } from './schemas.js';
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

/** The one place a refused commit becomes a problem. */
function refusalOf(orderId: string, outcome: Exclude<CommitOutcome, { kind: 'committed' }>): Problem {
  switch (outcome.kind) {
    case 'duplicate':
      return {
        status: 409,
        code: 'ORDER_ALREADY_EXISTS',
        detail: `Order ${orderId} was already accepted.`,
        orderId,
        existingWebhookId: outcome.existingWebhookId,
        existingEventId: outcome.existingEventId,
      };
    case 'not_found':
      return { status: 422, code: 'PRODUCT_NOT_FOUND', detail: `Unknown variant(s): ${outcome.variantIds.join(', ')}.`, orderId, variantIds: outcome.variantIds };
    case 'insufficient':
      return {
        status: 422,
        code: 'INSUFFICIENT_INVENTORY',
        detail: `Not enough stock for variant(s): ${outcome.items.map((i) => i.variantId).join(', ')}.`,
        orderId,
        items: outcome.items,
      };
    case 'line_item_taken':
      return {
        status: 400,
        code: 'INVALID_PAYLOAD',
        detail: `Line item id(s) ${outcome.lineItemIds.join(', ')} already belong to another order.`,
        orderId,
        errors: outcome.lineItemIds.map((id) => ({ path: 'lines', reason: `line item ${id} already belongs to another order` })),
      };
  }
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

  /** A line's variant by variant id, else by SKU within its product; with an orderId, the order too: one round trip. */
  router.post('/variants/resolve', async (req, res) => {
    const parsed = resolveSchema.safeParse(req.body);
    if (!parsed.success) throw invalid(parsed.error);
    const { orderId, lines } = parsed.data;
    const { existingOrder, resolved, unresolved } = await resolveLines(pool, orderId ?? null, lines);
    res.json(orderId === undefined ? { resolved, unresolved } : { existingOrder, resolved, unresolved });
  });

  router.post('/orders', async (req, res) => {
    const parsed = commitSchema.safeParse(req.body);
    if (!parsed.success) throw invalid(parsed.error);
    const { order, lines } = parsed.data;
    setContextOrderId(order.orderId);
    const outcome = await commitOrder(pool, {
      order,
      lines,
      correlationId: currentContext()?.correlationId ?? randomUUID(),
      topic: inventoryTopic,
    });
    if (outcome.kind !== 'committed') throw rejected(refusalOf(order.orderId, outcome));
    metrics.ordersCommitted.inc();
    logger.info(`SUCCESS order ${order.orderId} committed: inventory decremented for ${outcome.items.length} variant(s)`, {
      event: 'order.committed',
      orderId: order.orderId,
      items: outcome.items,
    });
    res.status(201).json({ orderId: order.orderId, status: 'accepted', items: outcome.items });
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

  /** The stock Shopify should show, paged by variant id: what reconciliation compares against. */
  router.get('/inventory', async (req, res) => {
    const parsed = stockQuerySchema.safeParse(req.query);
    if (!parsed.success) throw invalid(parsed.error);
    res.json(await listStock(pool, parsed.data));
  });

  return router;
}

import { randomUUID } from 'node:crypto';
import express, { type RequestHandler, type Router } from 'express';
import type pg from 'pg';
import { currentContext, ProblemError, setContextOrderId, type Logger } from '@oms/common';
import { listStock } from '../db/inventory.js';
import { findOrder } from '../db/order-view.js';
import { recordRejection } from '../db/rejections.js';
import type { DataApiMetrics } from '../metrics.js';
import { commitOrder } from '../use-cases/commit-order.js';
import { resolveLines } from '../use-cases/resolve-variants.js';
import { invalid, refusalOf } from './problems.js';
import { commitSchema, orderIdParam, resolveSchema, rejectionReportSchema, stockQuerySchema } from './schemas.js';

export interface InternalRoutesDeps {
  pool: pg.Pool;
  logger: Logger;
  metrics: DataApiMetrics;
  inventoryTopic: string;
}

/** Mounted at `/internal`: what the api calls for an order, and the stock reconciliation compares against. */
export function internalRouter(deps: InternalRoutesDeps): Router {
  const router = express.Router();
  router.get('/orders/:orderId', getOrder(deps.pool));
  router.post('/variants/resolve', resolveVariants(deps.pool));
  router.post('/orders', commit(deps));
  router.post('/orders/rejections', recordRefusal(deps));
  router.get('/inventory', listInventory(deps.pool));
  return router;
}

const getOrder =
  (pool: pg.Pool): RequestHandler =>
  async (req, res) => {
    const parsed = orderIdParam.safeParse(req.params.orderId);
    if (!parsed.success) throw invalid(parsed.error);
    const order = await findOrder(pool, parsed.data);
    if (!order) {
      throw new ProblemError({
        status: 404,
        code: 'ORDER_NOT_FOUND',
        detail: `Order ${parsed.data} does not exist.`,
        orderId: parsed.data,
      });
    }
    res.json(order);
  };

/** A line's variant by variant id, else by SKU within its product; with an orderId, the order too: one round trip. */
const resolveVariants =
  (pool: pg.Pool): RequestHandler =>
  async (req, res) => {
    const parsed = resolveSchema.safeParse(req.body);
    if (!parsed.success) throw invalid(parsed.error);
    const { orderId, lines } = parsed.data;
    const { existingOrder, resolved, unresolved } = await resolveLines(pool, orderId ?? null, lines);
    res.json(orderId === undefined ? { resolved, unresolved } : { existingOrder, resolved, unresolved });
  };

function commit({ pool, logger, metrics, inventoryTopic }: InternalRoutesDeps): RequestHandler {
  return async (req, res) => {
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
    if (outcome.kind !== 'committed') {
      // A refused commit wrote nothing; it is counted and logged (without SUCCESS) for the operator.
      const problem = refusalOf(order.orderId, outcome);
      metrics.ordersRejected.inc({ code: problem.code });
      logger.info(`order not committed: ${problem.detail}`, { event: 'order.rejected', code: problem.code });
      throw new ProblemError(problem);
    }
    metrics.ordersCommitted.inc();
    logger.info(`SUCCESS order ${order.orderId} committed: inventory decremented for ${outcome.items.length} variant(s)`, {
      event: 'order.committed',
      orderId: order.orderId,
      items: outcome.items,
    });
    res.status(201).json({ orderId: order.orderId, status: 'accepted', items: outcome.items });
  };
}

/** The api reports each refusal of an identifiable order here, after it has answered Shopify. */
function recordRefusal({ pool, logger, metrics }: InternalRoutesDeps): RequestHandler {
  return async (req, res) => {
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
  };
}

/** The stock Shopify should show, paged by variant id: what reconciliation compares against. */
const listInventory =
  (pool: pg.Pool): RequestHandler =>
  async (req, res) => {
    const parsed = stockQuerySchema.safeParse(req.query);
    if (!parsed.success) throw invalid(parsed.error);
    res.json(await listStock(pool, parsed.data));
  };

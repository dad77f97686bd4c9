import { type Logger, type ShopifyId } from '@oms/common';
import express, { type Request, type Response, type Router } from 'express';
import type { RejectionRecorder } from '../clients/rejection-recorder.js';
import type { RefusalStatus } from '../config.js';
import { type OrderIntake, validateOrder } from '../domain/order.js';
import type { IntakeOutcome } from '../domain/outcome.js';
import type { ApiMetrics } from '../metrics.js';
import type { ReceiveOrder } from '../use-cases/receive-order.js';
import {
  dataApiUnavailable,
  handleDelivery,
  headerErrors,
  openDelivery,
  receiveDelivery,
  type Reject,
  refusalAtWebhook,
  Rejection,
  sendRefusal,
  type WebhookSource,
} from './delivery.js';

export const WEBHOOK_PATH = '/api/shopify/webhooks/orders';
export const ORDERS_TOPIC = 'orders/create';

export interface WebhookDeps {
  logger: Logger;
  metrics: ApiMetrics;
  receiveOrder: ReceiveOrder;
  /** The secrets a delivery may be signed with, and the one shop it may come from. */
  source: WebhookSource;
  /** WEBHOOK_REFUSAL_STATUS: `200` answers a refusal of an identifiable order with 200 (docs/spec.md section 2.1). */
  refusalStatus: RefusalStatus;
  /** Every answer leaves within this many ms of the request's arrival (Shopify gives up at 5 s). */
  deadlineMs: number;
  /** The refused-orders ledger; absent, a refusal is only logged and counted. */
  rejections?: RejectionRecorder;
}

const acceptedBody = (orderId: ShopifyId) => ({ status: 'success', message: 'Order received and processed', order_id: orderId });

export function webhookRouter(deps: WebhookDeps): Router {
  const { logger, metrics, receiveOrder, source, deadlineMs } = deps;
  const router = express.Router();
  const reject = refuser(deps);

  router.post(
    WEBHOOK_PATH,
    ...receiveDelivery({ deadlineMs, reject }),
    handleDelivery({
      parse: (req) => parseOrder(req, source),
      orderIdOf: (intake: OrderIntake) => intake.order.orderId,
      run: receiveOrder,
      answer: (res, outcome: IntakeOutcome) => answer({ logger, metrics, reject }, res, outcome),
      reject,
    }),
  );

  return router;
}

/** Every refusal, from the delivery's checks to the use case's outcome, is answered here. */
function refuser({ logger, metrics, refusalStatus, rejections }: WebhookDeps): Reject {
  return (res, problem, headers = {}) => {
    metrics.countOrder(problem.code);
    const sent = sendRefusal(res, problem, headers, refusalStatus);
    const answered = sent === problem.status ? '' : ` (answered ${sent}, WEBHOOK_REFUSAL_STATUS=${refusalStatus})`;
    logger.warn(`order rejected with ${problem.status} ${problem.code}${answered}: ${problem.detail}`, {
      event: 'order.rejected',
      code: problem.code,
      status: problem.status,
      ...(sent === problem.status ? {} : { answeredStatus: sent }),
      ...(typeof problem.orderId === 'string' ? { orderId: problem.orderId } : {}),
    });
    // Only once the answer is on its way: the ledger never delays or changes what Shopify is told.
    rejections?.record(problem, res.req.header('x-shopify-webhook-id'));
  };
}

/** The order the delivery carries, or a Rejection naming every field and header that failed. */
function parseOrder(req: Request, source: WebhookSource): OrderIntake {
  const result = validateOrder(openDelivery(req, source, ORDERS_TOPIC));
  const errors = [...(result.ok ? [] : result.errors), ...headerErrors(req)];
  if (!result.ok || errors.length > 0) {
    const orderId = result.ok ? result.intake.order.orderId : result.orderId;
    throw new Rejection({
      status: 400,
      code: 'INVALID_PAYLOAD',
      detail: `The order failed validation: ${errors.map((e) => `${e.path} ${e.reason}`).join('; ')}.`,
      ...(orderId !== undefined ? { orderId } : {}),
      errors,
    });
  }
  return result.intake;
}

interface Answering {
  logger: Logger;
  metrics: ApiMetrics;
  reject: Reject;
}

/** The one place an outcome becomes an HTTP answer (docs/spec.md section 2). */
function answer({ logger, metrics, reject }: Answering, res: Response, outcome: IntakeOutcome): void {
  const { orderId } = outcome;
  switch (outcome.kind) {
    case 'accepted':
      metrics.countOrder('accepted');
      logger.info(`SUCCESS order ${orderId} accepted: ${outcome.lines} line(s), ${outcome.variants} variant(s) reserved`, {
        event: 'order.accepted',
        orderId,
        variants: outcome.variants,
        lines: outcome.lines,
      });
      res.status(201).json(acceptedBody(orderId));
      return;
    case 'replayed':
      metrics.countOrder('replayed');
      logger.info(`order ${orderId} redelivered (same webhook or same event): answering the original 201`, {
        event: 'order.replayed',
        orderId,
      });
      res.status(201).setHeader('Idempotent-Replayed', 'true').json(acceptedBody(orderId));
      return;
    case 'already_exists':
      return reject(res, {
        status: 409,
        code: 'ORDER_ALREADY_EXISTS',
        detail: `Order ${orderId} was already accepted from another delivery.`,
        orderId,
      });
    case 'product_not_found':
      return reject(res, {
        status: 422,
        code: 'PRODUCT_NOT_FOUND',
        detail: outcome.detail,
        orderId,
        productIds: outcome.productIds,
        variants: outcome.variants,
      });
    case 'insufficient_inventory':
      return reject(res, { status: 422, code: 'INSUFFICIENT_INVENTORY', detail: outcome.detail, orderId, items: outcome.items });
    case 'invalid_payload':
      return reject(res, { status: 400, code: 'INVALID_PAYLOAD', detail: outcome.detail, orderId, errors: outcome.errors });
    case 'wms_unavailable':
      return reject(
        res,
        { status: 503, code: 'WMS_UNAVAILABLE', detail: outcome.detail, orderId },
        { 'Retry-After': String(outcome.retryAfterSeconds) },
      );
    case 'data_api_unavailable':
      return dataApiUnavailable({ logger, reject }, res, orderId, outcome.detail);
    case 'refused_by_data_api':
      return reject(res, refusalAtWebhook(outcome.problem, orderId, logger));
  }
}

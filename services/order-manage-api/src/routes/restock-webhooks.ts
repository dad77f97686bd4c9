import { type Logger, prom, sendProblem } from '@oms/common';
import express, { type Request, type Response, type Router } from 'express';
import { type RestockIntake, type RestockOutcome, type RestockTopic, TOPICS, validateRestock } from '../domain/refund.js';
import type { ApiMetrics } from '../metrics.js';
import type { RestockOrder } from '../use-cases/restock-order.js';
import {
  dataApiUnavailable,
  handleDelivery,
  headerErrors,
  openDelivery,
  receiveDelivery,
  type Reject,
  refusalAtWebhook,
  Rejection,
  type WebhookSource,
} from './delivery.js';

export const CANCELLED_PATH = '/api/shopify/webhooks/orders-cancelled';
export const REFUNDS_PATH = '/api/shopify/webhooks/refunds';

const PATHS: ReadonlyArray<[string, RestockTopic]> = [
  [CANCELLED_PATH, TOPICS.cancelled],
  [REFUNDS_PATH, TOPICS.refund],
];

export interface RestockWebhookDeps {
  logger: Logger;
  metrics: ApiMetrics;
  restockOrder: RestockOrder;
  /** The secrets a delivery may be signed with, and the one shop it may come from. */
  source: WebhookSource;
  /** Every answer leaves within this many ms of the request's arrival (Shopify gives up at 5 s). */
  deadlineMs: number;
}

const DELIVERIES_METRIC = 'restock_webhooks_total';

/** Deliveries of the two topics by outcome: restocked, nothing_restocked, replayed, or the problem code. */
function deliveriesCounter(metrics: ApiMetrics): prom.Counter<'topic' | 'outcome'> {
  const existing = metrics.registry.getSingleMetric(DELIVERIES_METRIC);
  return (
    (existing as prom.Counter<'topic' | 'outcome'> | undefined) ??
    new prom.Counter({
      name: DELIVERIES_METRIC,
      help: 'orders/cancelled and refunds/create deliveries by topic and outcome: restocked, nothing_restocked, replayed, or the problem code',
      labelNames: ['topic', 'outcome'] as const,
      registers: [metrics.registry],
    })
  );
}

const successBody = (restocked: unknown) => ({ status: 'success', restocked });

interface Answering {
  logger: Logger;
  counted: prom.Counter<'topic' | 'outcome'>;
  reject: Reject;
}

/** The one place a restock outcome becomes an HTTP answer. */
function answer({ logger, counted, reject }: Answering, res: Response, outcome: RestockOutcome): void {
  const { orderId, topic } = outcome;
  switch (outcome.kind) {
    case 'restocked':
      counted.inc({ topic, outcome: 'restocked' });
      logger.info(
        `SUCCESS order ${orderId} restocked: ${outcome.units} unit(s) of ${outcome.restocked.length} variant(s) back (${topic})`,
        {
          event: 'order.restocked',
          orderId,
          topic,
          restocked: outcome.restocked,
        },
      );
      res.status(200).json(successBody(outcome.restocked));
      return;
    case 'nothing_restocked':
      counted.inc({ topic, outcome: 'nothing_restocked' });
      logger.info(`order ${orderId}: nothing to restock from this ${topic} delivery (order ${outcome.orderStatus})`, {
        event: 'order.restock.none',
        orderId,
        topic,
        orderStatus: outcome.orderStatus,
      });
      res.status(200).json(successBody([]));
      return;
    case 'replayed':
      counted.inc({ topic, outcome: 'replayed' });
      logger.info(`order ${orderId}: ${topic} event handled before, answering as the first time`, {
        event: 'order.restock.replayed',
        orderId,
        topic,
      });
      res.status(200).setHeader('Idempotent-Replayed', 'true').json(successBody(outcome.restocked));
      return;
    case 'data_api_unavailable':
      return dataApiUnavailable({ logger, reject }, res, orderId, outcome.detail);
    case 'refused_by_data_api':
      return reject(res, refusalAtWebhook(outcome.problem, orderId, logger));
  }
}

const topicOf = (res: Response) => (res.locals.topic as RestockTopic | undefined) ?? 'unknown';

/** Every refusal of a cancellation or refund delivery is answered here. */
function refuser(logger: Logger, counted: prom.Counter<'topic' | 'outcome'>): Reject {
  return (res, problem, headers = {}) => {
    counted.inc({ topic: topicOf(res), outcome: problem.code });
    logger.warn(`${topicOf(res)} delivery refused with ${problem.status} ${problem.code}: ${problem.detail}`, {
      event: 'order.restock.rejected',
      code: problem.code,
      status: problem.status,
      ...(typeof problem.orderId === 'string' ? { orderId: problem.orderId } : {}),
    });
    sendProblem(res, problem, headers);
  };
}

/** The restock the delivery carries, or a Rejection naming every field and header that failed. */
function parseRestock(req: Request, source: WebhookSource, topic: RestockTopic): RestockIntake {
  const result = validateRestock(topic, openDelivery(req, source, topic));
  const errors = [...(result.ok ? [] : result.errors), ...headerErrors(req)];
  if (!result.ok || errors.length > 0) {
    const orderId = result.ok ? result.intake.orderId : result.orderId;
    throw new Rejection({
      status: 400,
      code: 'INVALID_PAYLOAD',
      detail: `The ${topic} delivery failed validation: ${errors.map((e) => `${e.path} ${e.reason}`).join('; ')}.`,
      ...(orderId !== undefined ? { orderId } : {}),
      errors,
    });
  }
  return result.intake;
}

/**
 * `orders/cancelled` and `refunds/create` (docs/spec.md section 2.2): the same checks as an order's
 * delivery (signature, size, shop, topic, JSON with exact ids), then the restock use case. Every answer
 * to a well-formed delivery is 200, also for an order the system never accepted; only the data-api
 * being out of reach is a 503, for Shopify to deliver again.
 */
export function restockWebhookRouter(deps: RestockWebhookDeps): Router {
  const { logger, restockOrder, source, deadlineMs } = deps;
  const counted = deliveriesCounter(deps.metrics);
  const router = express.Router();
  const reject = refuser(logger, counted);

  for (const [path, topic] of PATHS) {
    const delivery = receiveDelivery({ deadlineMs, reject });
    const nameTopic = (_req: Request, res: Response, next: () => void) => {
      res.locals.topic = topic;
      next();
    };
    router.post(
      path,
      nameTopic,
      ...delivery,
      handleDelivery({
        parse: (req) => parseRestock(req, source, topic),
        orderIdOf: (intake: RestockIntake) => intake.orderId,
        run: restockOrder,
        answer: (res, outcome: RestockOutcome) => answer({ logger, counted, reject }, res, outcome),
        reject,
      }),
    );
  }

  return router;
}

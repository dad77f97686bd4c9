import {
  type Deadline,
  deadlineIn,
  type Logger,
  parseJsonWithExactIds,
  type Problem,
  sendProblem,
  setContextOrderId,
  type ShopifyId,
} from '@oms/common';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { RejectionRecorder } from '../clients/rejection-recorder.js';
import { type FieldError, type OrderIntake, validateOrder } from '../domain/order.js';
import type { IntakeOutcome } from '../domain/outcome.js';
import { isWellFormedSignature, verifySignature } from '../domain/signature.js';
import type { ApiMetrics } from '../metrics.js';
import type { ReceiveOrder } from '../use-cases/receive-order.js';

export const WEBHOOK_PATH = '/api/shopify/webhooks/orders';
export const MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookDeps {
  logger: Logger;
  metrics: ApiMetrics;
  receiveOrder: ReceiveOrder;
  webhookSecret: string;
  /** Every answer leaves within this many ms of the request's arrival (Shopify gives up at 5 s). */
  deadlineMs: number;
  /** The refused-orders ledger; absent, a refusal is only logged and counted. */
  rejections?: RejectionRecorder;
}

/** Shopify retries on its own schedule; a replica or a proxy in front of it may honour this. */
const DATA_API_RETRY_AFTER_SECONDS = 2;

const acceptedBody = (orderId: ShopifyId) => ({ status: 'success', message: 'Order received and processed', order_id: orderId });

/** A delivery refused before the intake use case runs: its signature, its body, its headers. */
class Rejection extends Error {
  constructor(readonly problem: Problem) {
    super(problem.code);
  }
}

export function webhookRouter(deps: WebhookDeps): Router {
  const { logger, metrics, receiveOrder, webhookSecret, deadlineMs } = deps;
  const router = express.Router();
  // Every body is read as bytes whatever its Content-Type (even none): the signature covers the bytes,
  // and a signed delivery with an odd header should fail on its content, not look unsigned.
  const raw = express.raw({ type: () => true, limit: MAX_BODY_BYTES });

  function reject(res: Response, problem: Problem, headers: Record<string, string> = {}): void {
    metrics.countOrder(problem.code);
    logger.warn(`order rejected with ${problem.status} ${problem.code}: ${problem.detail}`, {
      event: 'order.rejected',
      code: problem.code,
      status: problem.status,
      ...(typeof problem.orderId === 'string' ? { orderId: problem.orderId } : {}),
    });
    sendProblem(res, problem, headers);
    // Only once the answer is on its way: the ledger never delays or changes what Shopify is told.
    deps.rejections?.record(problem, res.req.header('x-shopify-webhook-id'));
  }

  const invalidSignature = (res: Response) =>
    reject(res, { status: 401, code: 'INVALID_SIGNATURE', detail: 'The X-Shopify-Hmac-Sha256 header is missing or does not match the body.' });

  /**
   * A missing or malformed signature is refused before a byte of the body is read. A well-formed
   * one can only be checked against the whole body, and the 1 MiB limit is what keeps an
   * unauthenticated sender from making us read more, so an oversized body answers 413 then.
   */
  function requireSignatureHeader(req: Request, res: Response, next: NextFunction): void {
    res.locals.deadline = deadlineIn(deadlineMs);
    if (!isWellFormedSignature(req.header('x-shopify-hmac-sha256'))) return invalidSignature(res);
    next();
  }

  function readRawBody(req: Request, res: Response, next: NextFunction): void {
    raw(req, res, (err?: unknown) => {
      if (!err) return next();
      const type = (err as { type?: string }).type;
      if (type === 'entity.too.large') {
        return reject(res, { status: 413, code: 'PAYLOAD_TOO_LARGE', detail: `The request body is larger than ${MAX_BODY_BYTES} bytes (1 MiB).` });
      }
      reject(res, { status: 400, code: 'INVALID_PAYLOAD', detail: `The request body could not be read (${type ?? 'unreadable'}).` });
    });
  }

  function parse(req: Request): OrderIntake {
    const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifySignature(body, req.header('x-shopify-hmac-sha256'), webhookSecret)) {
      throw new Rejection({ status: 401, code: 'INVALID_SIGNATURE', detail: 'The X-Shopify-Hmac-Sha256 header does not match the body.' });
    }
    let json: unknown;
    try {
      json = parseJsonWithExactIds(body.toString('utf8'));
    } catch {
      throw new Rejection({ status: 400, code: 'INVALID_PAYLOAD', detail: 'The request body is not valid JSON.', errors: [] });
    }
    const result = validateOrder(json);
    const errors: FieldError[] = result.ok ? [] : [...result.errors];
    if (!req.header('x-shopify-webhook-id')) errors.push({ path: 'headers.x-shopify-webhook-id', reason: 'is required' });
    const topic = req.header('x-shopify-topic');
    if (topic !== undefined && topic !== 'orders/create') errors.push({ path: 'headers.x-shopify-topic', reason: 'must be orders/create' });
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

  /** The one place an outcome becomes an HTTP answer (SPEC.md section 2). */
  function answer(res: Response, outcome: IntakeOutcome): void {
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
        logger.info(`order ${orderId} redelivered (same webhook or same event): answering the original 201`, { event: 'order.replayed', orderId });
        res.status(201).setHeader('Idempotent-Replayed', 'true').json(acceptedBody(orderId));
        return;
      case 'already_exists':
        return reject(res, { status: 409, code: 'ORDER_ALREADY_EXISTS', detail: `Order ${orderId} was already accepted from another delivery.`, orderId });
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
        return reject(res, { status: 503, code: 'WMS_UNAVAILABLE', detail: outcome.detail, orderId }, { 'Retry-After': String(outcome.retryAfterSeconds) });
      case 'data_api_unavailable':
        logger.error(`order-manage-data-api unavailable: ${outcome.detail}`, { event: 'data_api.unavailable', orderId });
        return reject(res, {
          status: 503,
          code: 'DATA_API_UNAVAILABLE',
          detail: 'The order store cannot be reached or did not answer in time; retry later.',
          orderId,
        }, { 'Retry-After': String(DATA_API_RETRY_AFTER_SECONDS) });
      case 'refused_by_data_api':
        return reject(res, refusalAtWebhook(outcome.problem, orderId));
    }
  }

  /**
   * The data-api's refusal is permanent, so the webhook's answer is too (a 503 would have Shopify
   * retry it for hours). Only a refused internal token is ours to fix, not the order's: a 500.
   */
  function refusalAtWebhook(problem: Problem, orderId: ShopifyId): Problem {
    if (problem.status === 401 || problem.status === 403) {
      logger.error(`order-manage-data-api refused our credentials (${problem.status}): check INTERNAL_API_TOKEN`, { event: 'data_api.refused', orderId });
      return { status: 500, code: 'INTERNAL_ERROR', detail: 'The order store refused this service; the operator has been told.' };
    }
    return { ...problem, orderId };
  }

  router.post(WEBHOOK_PATH, requireSignatureHeader, readRawBody, async (req, res, next) => {
    let intake: OrderIntake;
    try {
      intake = parse(req);
    } catch (err) {
      if (err instanceof Rejection) return reject(res, err.problem);
      return next(err);
    }
    setContextOrderId(intake.order.orderId);
    try {
      const outcome = await receiveOrder(intake, {
        webhookId: req.header('x-shopify-webhook-id')!,
        // An empty header names no event: it must not match another delivery's empty one.
        eventId: req.header('x-shopify-event-id') || null,
        deadline: res.locals.deadline as Deadline,
      });
      answer(res, outcome);
    } catch (err) {
      next(err);
    }
  });

  return router;
}

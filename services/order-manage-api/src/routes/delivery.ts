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
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { FieldError } from '../domain/order.js';
import type { RefusalStatus } from '../config.js';
import { refusesAnOrder } from '../domain/outcome.js';
import { isWellFormedSignature, verifySignature } from '../domain/signature.js';

/**
 * What every Shopify webhook path checks before its own rules (docs/spec.md section 2), in this order:
 * the signature header, the size, the signature over the exact bytes, the shop, the topic, then the JSON.
 */

export const MAX_BODY_BYTES = 1024 * 1024;

/** Shopify retries on its own schedule; a replica or a proxy in front of it may honour this. */
const DATA_API_RETRY_AFTER_SECONDS = 2;

/** A delivery refused before its use case runs: its signature, its body, its headers. */
export class Rejection extends Error {
  constructor(readonly problem: Problem) {
    super(problem.code);
  }
}

/** How a path answers a refusal: each path logs and counts its own. */
export type Reject = (res: Response, problem: Problem, headers?: Record<string, string>) => void;

/** Who may deliver (docs/spec.md sections 2 and 12). */
export interface WebhookSource {
  /** SHOPIFY_WEBHOOK_SECRET: one secret, or two while one is being rotated; a delivery signed with either is authentic. */
  secrets: readonly string[];
  /** SHOPIFY_SHOP_DOMAIN in lower case: when set, a signed delivery from any other shop is 401 UNKNOWN_SHOP. */
  shopDomain?: string;
}

export function webhookSource(secrets: string | readonly string[], shopDomain?: string): WebhookSource {
  return {
    secrets: typeof secrets === 'string' ? [secrets] : [...secrets],
    ...(shopDomain ? { shopDomain: shopDomain.toLowerCase() } : {}),
  };
}

export interface DeliveryOptions {
  /** Every answer leaves within this many ms of the request's arrival (Shopify gives up at 5 s). */
  deadlineMs: number;
  reject: Reject;
}

/** What a use case learns of a delivery: Shopify's ids, to know a retry, and the answer's deadline. */
export interface DeliveryContext {
  webhookId: string;
  eventId: string | null;
  deadline: Deadline;
}

export interface DeliverySteps<I, O> {
  /** Throws a Rejection for a payload the path refuses. */
  parse: (req: Request) => I;
  orderIdOf: (intake: I) => ShopifyId;
  run: (intake: I, delivery: DeliveryContext) => Promise<O>;
  answer: (res: Response, outcome: O) => void;
  reject: Reject;
}

/** A path's handler after the shared checks: parse, name the order in the log context, run the use case, answer. */
export function handleDelivery<I, O>({ parse, orderIdOf, run, answer, reject }: DeliverySteps<I, O>): RequestHandler {
  return async (req, res, next) => {
    let intake: I;
    try {
      intake = parse(req);
    } catch (err) {
      if (err instanceof Rejection) return reject(res, err.problem);
      return next(err);
    }
    setContextOrderId(orderIdOf(intake));
    try {
      const outcome = await run(intake, {
        webhookId: req.header('x-shopify-webhook-id')!,
        // An empty header names no event: it must not match another delivery's empty one.
        eventId: req.header('x-shopify-event-id') || null,
        deadline: res.locals.deadline as Deadline,
      });
      answer(res, outcome);
    } catch (err) {
      next(err);
    }
  };
}

/** The data-api out of reach: a 503 Shopify delivers again after, the same on every path. */
export function dataApiUnavailable(
  { logger, reject }: { logger: Logger; reject: Reject },
  res: Response,
  orderId: ShopifyId,
  detail: string,
): void {
  logger.error(`order-manage-data-api unavailable: ${detail}`, { event: 'data_api.unavailable', orderId });
  reject(
    res,
    {
      status: 503,
      code: 'DATA_API_UNAVAILABLE',
      detail: 'The order store cannot be reached or did not answer in time; retry later.',
      orderId,
    },
    { 'Retry-After': String(DATA_API_RETRY_AFTER_SECONDS) },
  );
}

const invalidSignature = (detail: string): Problem => ({ status: 401, code: 'INVALID_SIGNATURE', detail });

/**
 * The middleware before a path's handler. A missing or malformed signature is refused before a byte
 * of the body is read. A well-formed one can only be checked against the whole body, and the 1 MiB
 * limit is what keeps an unauthenticated sender from making us read more, so an oversized body
 * answers 413 then. Every body is read as bytes whatever its Content-Type (even none): the signature
 * covers the bytes, and a signed delivery with an odd header should fail on its content, not look unsigned.
 */
export function receiveDelivery({ deadlineMs, reject }: DeliveryOptions): RequestHandler[] {
  const raw = express.raw({ type: () => true, limit: MAX_BODY_BYTES });

  function requireSignatureHeader(req: Request, res: Response, next: NextFunction): void {
    res.locals.deadline = deadlineIn(deadlineMs);
    if (!isWellFormedSignature(req.header('x-shopify-hmac-sha256'))) {
      return reject(res, invalidSignature('The X-Shopify-Hmac-Sha256 header is missing or does not match the body.'));
    }
    next();
  }

  function readRawBody(req: Request, res: Response, next: NextFunction): void {
    raw(req, res, (err?: unknown) => {
      if (!err) return next();
      const type = (err as { type?: string }).type;
      if (type === 'entity.too.large') {
        return reject(res, {
          status: 413,
          code: 'PAYLOAD_TOO_LARGE',
          detail: `The request body is larger than ${MAX_BODY_BYTES} bytes (1 MiB).`,
        });
      }
      reject(res, { status: 400, code: 'INVALID_PAYLOAD', detail: `The request body could not be read (${type ?? 'unreadable'}).` });
    });
  }

  return [requireSignatureHeader, readRawBody];
}

/** Longest shop domain quoted back in a refusal's detail. */
const MAX_QUOTED_DOMAIN = 255;

/**
 * The delivery's JSON, every id exact, once its HMAC (over the exact bytes, in constant time, with
 * each secret), its shop and its topic are checked: nothing of the body is parsed before it is known
 * to be Shopify's. An app's secret can be shared by every shop that installed it, so a signed
 * delivery is also refused with 401 `UNKNOWN_SHOP` when `X-Shopify-Shop-Domain` is not
 * SHOPIFY_SHOP_DOMAIN (when that is set); a bad signature is refused first. A delivery without
 * `X-Shopify-Topic` is taken as the path's own; one naming another topic is 400 `UNEXPECTED_TOPIC`
 * (Shopify sends each topic to the path it was subscribed with). Throws Rejection.
 */
export function openDelivery(req: Request, source: WebhookSource, topic: string): unknown {
  const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  if (!verifySignature(body, req.header('x-shopify-hmac-sha256'), source.secrets)) {
    throw new Rejection(invalidSignature('The X-Shopify-Hmac-Sha256 header does not match the body.'));
  }
  const shop = req.header('x-shopify-shop-domain');
  if (source.shopDomain !== undefined && shop?.trim().toLowerCase() !== source.shopDomain) {
    throw new Rejection({
      status: 401,
      code: 'UNKNOWN_SHOP',
      detail: shop
        ? `The delivery comes from shop ${shop.slice(0, MAX_QUOTED_DOMAIN)}, which is not the shop this system serves.`
        : 'The X-Shopify-Shop-Domain header is missing: this system takes deliveries of one shop only.',
    });
  }
  const sent = req.header('x-shopify-topic');
  if (sent !== undefined && sent !== topic) {
    throw new Rejection({
      status: 400,
      code: 'UNEXPECTED_TOPIC',
      detail: `${req.path} takes ${topic} deliveries; this one is ${sent || 'of an empty topic'}.`,
      expectedTopic: topic,
      topic: sent,
    });
  }
  try {
    return parseJsonWithExactIds(body.toString('utf8'));
  } catch {
    throw new Rejection({ status: 400, code: 'INVALID_PAYLOAD', detail: 'The request body is not valid JSON.', errors: [] });
  }
}

/** Names the refusal's code on a 200 answer, where the status no longer tells Shopify's sender anything. */
export const ORDER_REFUSED_HEADER = 'X-Order-Refused';

/**
 * Sends a refusal as WEBHOOK_REFUSAL_STATUS says. With `200`, a refusal of an identifiable order
 * (400 with a readable id, 409, 422: what the refused-orders ledger keeps) is answered with status
 * 200, the same problem body (its `status` still the refusal's) and `X-Order-Refused: <code>`, so
 * that Shopify neither retries it for hours nor counts it towards deleting the subscription. Every
 * other refusal (401, 413, a 400 without an order id, a 5xx) keeps its status in both modes.
 * Returns the HTTP status sent.
 */
export function sendRefusal(res: Response, problem: Problem, headers: Record<string, string>, mode: RefusalStatus): number {
  if (mode !== '200' || !refusesAnOrder(problem)) {
    sendProblem(res, problem, headers);
    return problem.status;
  }
  res.setHeader(ORDER_REFUSED_HEADER, problem.code);
  sendProblem(res, problem, headers, 200);
  return 200;
}

/** Redelivery detection needs the webhook id: its absence is reported with the body's own field errors. */
export const headerErrors = (req: Request): FieldError[] =>
  req.header('x-shopify-webhook-id') ? [] : [{ path: 'headers.x-shopify-webhook-id', reason: 'is required' }];

/**
 * The data-api's refusal is permanent, so the webhook's answer is too (a 503 would have Shopify
 * retry it for hours). Only a refused internal token is ours to fix, not the delivery's: a 500.
 */
export function refusalAtWebhook(problem: Problem, orderId: ShopifyId, logger: Logger): Problem {
  if (problem.status === 401 || problem.status === 403) {
    logger.error(`order-manage-data-api refused our credentials (${problem.status}): check INTERNAL_API_TOKEN`, {
      event: 'data_api.refused',
      orderId,
    });
    return { status: 500, code: 'INTERNAL_ERROR', detail: 'The order store refused this service; the operator has been told.' };
  }
  return { ...problem, orderId };
}

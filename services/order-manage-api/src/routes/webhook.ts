import {
  currentContext,
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
import { type DataApiClient, DataApiRefusedError, DataApiUnavailableError } from '../clients/data-api.js';
import type { WmsHold } from '../clients/redis.js';
import type { RejectionRecorder } from '../clients/rejection-recorder.js';
import { type WmsClient, type WmsInventory, WmsUnavailableError } from '../clients/wms.js';
import { type FieldError, findShortages, type OrderIntake, validateOrder } from '../domain/order.js';
import { isWellFormedSignature, verifySignature } from '../domain/signature.js';
import type { ApiMetrics } from '../metrics.js';

export const WEBHOOK_PATH = '/api/shopify/webhooks/orders';
export const MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookDeps {
  logger: Logger;
  metrics: ApiMetrics;
  dataApi: DataApiClient;
  wms: WmsClient;
  wmsHold: WmsHold;
  webhookSecret: string;
  /** Every answer leaves within this many ms of the request's arrival (Shopify gives up at 5 s). */
  deadlineMs: number;
  /** The refused-orders ledger; absent, a refusal is only logged and counted. */
  rejections?: RejectionRecorder;
}

/**
 * The WMS checks stop this long before the answer deadline, so a slow WMS still leaves the commit
 * time to finish inside it.
 */
const MAX_COMMIT_RESERVE_MS = 500;

const acceptedBody = (orderId: ShopifyId) => ({ status: 'success', message: 'Order received and processed', order_id: orderId });

class Rejection extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.code);
  }
}

export function webhookRouter(deps: WebhookDeps): Router {
  const { logger, metrics, dataApi, wms, wmsHold, webhookSecret, deadlineMs } = deps;
  const commitReserveMs = Math.min(MAX_COMMIT_RESERVE_MS, Math.floor(deadlineMs / 4));
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

  function replay(res: Response, orderId: ShopifyId): void {
    metrics.countOrder('replayed');
    logger.info(`order ${orderId} redelivered by the same webhook: answering the original 201`, { event: 'order.replayed', orderId });
    res.status(201).setHeader('Idempotent-Replayed', 'true').json(acceptedBody(orderId));
  }

  async function checkWms(intake: OrderIntake, deadline: Deadline): Promise<void> {
    const { orderId } = intake.order;
    const held = await wmsHold.remainingSeconds();
    if (held !== null) {
      throw new Rejection(
        { status: 503, code: 'WMS_UNAVAILABLE', detail: `WMS calls are on hold after repeated failures; retry in ${held} s.`, orderId },
        { 'Retry-After': String(held) },
      );
    }
    const wmsDeadline: Deadline = { remainingMs: () => Math.max(0, deadline.remainingMs() - commitReserveMs) };
    const results = await Promise.allSettled(intake.demands.map((d) => wms.checkInventory(d.productId, { deadline: wmsDeadline })));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    const answers = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ demand: intake.demands[i]!, inventory: r.value }] : []));
    const retryAfter = failures.length > 0 ? await wmsHold.start() : 0;
    for (const failure of failures) {
      if (!(failure instanceof WmsUnavailableError)) throw failure;
      logger.warn(failure.message, { event: 'wms.check.failed', orderId, productId: failure.productId });
    }
    // A definite answer (unknown product, too little stock) wins over a failure: a retry cannot fix the order.
    const unknown = answers.filter((a) => a.inventory === null).map((a) => a.demand.productId);
    if (unknown.length > 0) {
      throw new Rejection({ status: 422, code: 'PRODUCT_NOT_FOUND', detail: `The WMS does not know product(s) ${unknown.join(', ')}.`, orderId, productIds: unknown });
    }
    const stock = new Map(answers.map((a) => [a.demand.productId, (a.inventory as WmsInventory).availableQuantity]));
    const shortages = findShortages(answers.map((a) => a.demand), stock);
    if (shortages.length > 0) {
      throw new Rejection({ status: 422, code: 'INSUFFICIENT_INVENTORY', detail: 'The warehouse has less stock than ordered.', orderId, items: shortages });
    }
    if (failures.length > 0) {
      throw new Rejection(
        { status: 503, code: 'WMS_UNAVAILABLE', detail: `The WMS could not confirm stock (${failures.map((f) => (f as Error).message).join('; ')}); retry in ${retryAfter} s.`, orderId },
        { 'Retry-After': String(retryAfter) },
      );
    }
  }

  async function handle(req: Request, res: Response): Promise<void> {
    const deadline = res.locals.deadline as Deadline;
    const intake = parse(req);
    const { orderId } = intake.order;
    setContextOrderId(orderId);
    const webhookId = req.header('x-shopify-webhook-id')!;

    const existing = await dataApi.getOrder(orderId, { deadline });
    if (existing) {
      if (existing.webhookId === webhookId) return replay(res, orderId);
      throw new Rejection({ status: 409, code: 'ORDER_ALREADY_EXISTS', detail: `Order ${orderId} was already accepted from another delivery.`, orderId });
    }

    // An order of tips, custom items or gift cards only draws on no stock: nothing to look up or ask.
    if (intake.demands.length > 0) await checkStock(intake, deadline);

    const result = await dataApi.commitOrder(
      {
        order: { ...intake.order, webhookId, eventId: req.header('x-shopify-event-id') ?? null },
        lines: intake.demands,
        nonStockLines: intake.nonStockLines,
      },
      { deadline },
    );
    switch (result.outcome) {
      case 'committed':
        metrics.countOrder('accepted');
        logger.info(`SUCCESS order ${orderId} accepted: ${intake.demands.length} product(s) committed`, {
          event: 'order.accepted',
          orderId,
          products: intake.demands.length,
          nonStockLines: intake.nonStockLines.length,
        });
        res.status(201).json(acceptedBody(orderId));
        return;
      case 'already_exists':
        // A concurrent delivery of the same webhook committed first.
        if (result.existingWebhookId === webhookId) return replay(res, orderId);
        throw new Rejection({ status: 409, code: 'ORDER_ALREADY_EXISTS', detail: `Order ${orderId} was already accepted from another delivery.`, orderId });
      case 'insufficient_inventory':
        throw new Rejection({ status: 422, code: 'INSUFFICIENT_INVENTORY', detail: 'There is less stock than ordered.', orderId, items: result.items });
      case 'product_not_found':
        throw new Rejection({
          status: 422,
          code: 'PRODUCT_NOT_FOUND',
          detail: `Product(s) ${result.productIds.join(', ')} are not in inventory.`,
          orderId,
          productIds: result.productIds,
        });
      case 'invalid_payload':
        throw new Rejection({ status: 400, code: 'INVALID_PAYLOAD', detail: 'The order failed validation.', orderId, errors: result.errors });
    }
  }

  async function checkStock(intake: OrderIntake, deadline: Deadline): Promise<void> {
    const { orderId } = intake.order;
    const productIds = intake.demands.map((d) => d.productId);
    const { products, missingProductIds } = await dataApi.lookupProducts(productIds, { deadline });
    if (missingProductIds.length > 0) {
      throw new Rejection({
        status: 422,
        code: 'PRODUCT_NOT_FOUND',
        detail: `Product(s) ${missingProductIds.join(', ')} are not in inventory.`,
        orderId,
        productIds: missingProductIds,
      });
    }
    // Our own stock is checked first: it costs the WMS nothing and already rules out most shortages.
    const shortages = findShortages(intake.demands, new Map(products.map((p) => [p.productId, p.availableQuantity])));
    if (shortages.length > 0) {
      throw new Rejection({ status: 422, code: 'INSUFFICIENT_INVENTORY', detail: 'There is less stock than ordered.', orderId, items: shortages });
    }

    await checkWms(intake, deadline);
  }

  /**
   * The data-api's refusal is permanent, so the webhook's answer is too (a 503 would have Shopify
   * retry it for hours). Only a refused internal token is ours to fix, not the order's: a 500.
   */
  function refusalAtWebhook(problem: Problem): Problem {
    const orderId = currentContext()?.orderId;
    if (problem.status === 401 || problem.status === 403) {
      logger.error(`order-manage-data-api refused our credentials (${problem.status}): check INTERNAL_API_TOKEN`, { event: 'data_api.refused' });
      return { status: 500, code: 'INTERNAL_ERROR', detail: 'The order store refused this service; the operator has been told.' };
    }
    return { ...problem, ...(orderId !== undefined ? { orderId } : {}) };
  }

  router.post(WEBHOOK_PATH, requireSignatureHeader, readRawBody, async (req, res, next) => {
    try {
      await handle(req, res);
    } catch (err) {
      if (err instanceof Rejection) return reject(res, err.problem, err.headers);
      if (err instanceof DataApiRefusedError) return reject(res, refusalAtWebhook(err.problem));
      if (err instanceof DataApiUnavailableError) {
        logger.error(`order-manage-data-api unavailable: ${err.message}`, { event: 'data_api.unavailable' });
        const orderId = currentContext()?.orderId;
        return reject(res, {
          status: 503,
          code: 'DATA_API_UNAVAILABLE',
          detail: 'The order store cannot be reached or did not answer in time; retry later.',
          ...(orderId !== undefined ? { orderId } : {}),
        });
      }
      next(err);
    }
  });

  return router;
}

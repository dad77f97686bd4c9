import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export const CORRELATION_HEADER = 'x-correlation-id';

interface RequestContext {
  correlationId: string;
  orderId?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

export function runWithCorrelation<T>(correlationId: string, fn: () => T): T {
  return storage.run({ correlationId }, fn);
}

/** Lets every later log line of this request carry the order id without passing it around. */
export function setContextOrderId(orderId: string): void {
  const ctx = storage.getStore();
  if (ctx) ctx.orderId = orderId;
}

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Shopify's webhook id is the natural correlation id: its retries reuse it, so every delivery
 * of one order can be followed across services. Anything unsafe for a header or a log is replaced.
 */
export function correlationMiddleware(req: Request, res: Response, next: NextFunction): void {
  const candidate = req.header(CORRELATION_HEADER) ?? req.header('x-shopify-webhook-id');
  const correlationId = candidate && SAFE_ID.test(candidate) ? candidate : randomUUID();
  res.setHeader(CORRELATION_HEADER, correlationId);
  storage.run({ correlationId }, () => next());
}

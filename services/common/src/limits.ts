import { z } from 'zod';
import { isShopifyId, SHOPIFY_ID_RULE } from './ids.js';

/**
 * What order-manage-api and order-manage-data-api both accept of an order. The api checks them so a
 * permanent refusal is a 400 before the WMS is asked; the data-api checks them again because it
 * trusts no caller. One definition, so the two can never drift apart again.
 */
export const ORDER_LIMITS = {
  /** Line items in one order, and so products in one commit or lookup. */
  maxLines: 500,
  /** Units of one line, and of one product once its lines are summed. */
  maxQuantity: 1_000_000,
  maxTitleLength: 1000,
  /** Names, skus, webhook and event ids. */
  maxShortTextLength: 255,
  maxFinancialStatusLength: 64,
} as const;

/** PostgreSQL text cannot hold U+0000: refused up front, or the commit would fail on every redelivery. */
export const orderText = (what: string, max: number) =>
  z
    .string({ error: `${what} must be a string` })
    .max(max, `${what} must be at most ${max} characters`)
    .refine((s) => !s.includes('\u0000'), `${what} must not contain a NUL character`);

/** Money travels as a decimal string and lands in numeric(12,2): never through a float. */
export const money = (what: string) =>
  z
    .string({ error: `${what} must be a decimal string such as "24.90"` })
    .regex(/^\d{1,10}(\.\d{1,2})?$/, `${what} must be a decimal string with at most 2 decimals, such as "24.90"`);

export const quantity = (what: string) => {
  const rule = `${what} must be an integer of at least 1`;
  return z
    .number({ error: rule })
    .int(rule)
    .min(1, rule)
    .max(ORDER_LIMITS.maxQuantity, `${what} must be at most ${ORDER_LIMITS.maxQuantity}`);
};

/** An id as this system writes it in JSON: a decimal string. */
export const shopifyIdString = (what: string) => {
  const rule = `${what} ${SHOPIFY_ID_RULE}, as a decimal string`;
  return z.string({ error: rule }).refine(isShopifyId, rule);
};

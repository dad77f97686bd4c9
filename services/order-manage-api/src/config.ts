import { logLevel, port, positiveInt, secret, shopifyIdString, url } from '@oms/common';
import { z } from 'zod';

export const SERVICE = 'order-manage-api';

/** Shopify gives up on a delivery after 5 s; answering within 4 s leaves room for the network. */
export const DEFAULT_WEBHOOK_DEADLINE_MS = 4000;

export const configSchema = z.object({
  PORT: port(8080),
  LOG_LEVEL: logLevel(),
  DATA_API_URL: url(),
  DATA_API_TIMEOUT_MS: positiveInt(4000),
  /** Reporting a refusal to the ledger happens after the answer, so it has a budget of its own. */
  REJECTION_RECORD_TIMEOUT_MS: positiveInt(2000),
  INTERNAL_API_TOKEN: secret(),
  REDIS_URL: url(),
  WMS_BASE_URL: url(),
  WMS_API_KEY: z.string().min(1),
  WMS_TIMEOUT_MS: positiveInt(2000),
  WMS_HOLD_TTL_SECONDS: positiveInt(60),
  SHOPIFY_WEBHOOK_SECRET: secret(),
  /** The warehouse's Shopify location: a point-of-sale order at any other location takes no warehouse stock. */
  SHOPIFY_LOCATION_ID: shopifyIdString('SHOPIFY_LOCATION_ID'),
  WEBHOOK_DEADLINE_MS: positiveInt(DEFAULT_WEBHOOK_DEADLINE_MS),
});

export type Config = z.infer<typeof configSchema>;

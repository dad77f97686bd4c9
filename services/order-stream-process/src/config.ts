import { z } from 'zod';
import { logLevel, port, positiveInt, secret, url } from '@oms/common';

export const SERVICE = 'order-stream-process';

const brokerList = z
  .string()
  .transform((value) => value.split(',').map((b) => b.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port')).min(1, 'must list at least one broker'));

export const configSchema = z.object({
  PORT: port(8082),
  LOG_LEVEL: logLevel(),
  KAFKA_BROKERS: brokerList,
  SHOPIFY_ADMIN_BASE_URL: url(),
  SHOPIFY_API_VERSION: z.string().regex(/^\d{4}-\d{2}$/, 'must look like 2026-10').default('2026-10'),
  SHOPIFY_ACCESS_TOKEN: secret(),
  SHOPIFY_TIMEOUT_MS: positiveInt(5000),
  /** Attempts per Shopify call before its events go to the DLQ. */
  SHOPIFY_MAX_ATTEMPTS: positiveInt(5),
  /** First backoff delay; each retry doubles it. */
  SHOPIFY_RETRY_BASE_DELAY_MS: positiveInt(500),
  INVENTORY_TOPIC: z.string().min(1).default('inventory-updates'),
  DLQ_TOPIC: z.string().min(1).default('inventory-updates.dlq'),
  CONSUMER_GROUP: z.string().min(1).default('order-stream-process'),
});

export type Config = z.infer<typeof configSchema>;

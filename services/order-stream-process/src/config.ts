import { z } from 'zod';
import { httpServerSettings, kafkaSecurityRule, kafkaSecuritySettings, logLevel, port, positiveInt, secret, url } from '@oms/common';

import { credentialsProblem } from './clients/shopify-token.js';

export const SERVICE = 'order-stream-process';

/** A reconciliation reads every stocked item: more often than this would spend Shopify's budget on reads. */
export const MIN_RECONCILE_INTERVAL_MS = 60_000;

const brokerList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'each broker must be host:port')).min(1, 'must list at least one broker'));

export const configSchema = z
  .object({
    PORT: port(8082),
    ...httpServerSettings,
    LOG_LEVEL: logLevel(),
    KAFKA_BROKERS: brokerList,
    ...kafkaSecuritySettings,
    SHOPIFY_ADMIN_BASE_URL: url(),
    SHOPIFY_API_VERSION: z
      .string()
      .regex(/^\d{4}-\d{2}$/, 'must look like 2026-10')
      .default('2026-10'),
    /** A static Admin API token; or SHOPIFY_CLIENT_ID with SHOPIFY_CLIENT_SECRET for the client-credentials grant (docs/spec.md 12). */
    SHOPIFY_ACCESS_TOKEN: secret().optional(),
    SHOPIFY_CLIENT_ID: secret(1).optional(),
    SHOPIFY_CLIENT_SECRET: secret().optional(),
    SHOPIFY_TIMEOUT_MS: positiveInt(5000),
    /** Attempts per Shopify call before its events go to the DLQ. */
    SHOPIFY_MAX_ATTEMPTS: positiveInt(5),
    /** First backoff delay; each retry doubles it. */
    SHOPIFY_RETRY_BASE_DELAY_MS: positiveInt(500),
    /**
     * A batch that follows its partition's previous one by less than this waits until that long has
     * passed, so bursts coalesce into fewer, larger batches (fewer Shopify calls); 0 is off.
     */
    SHOPIFY_BATCH_LINGER_MS: z.coerce.number().int().min(0).max(5000).default(300),
    INVENTORY_TOPIC: z.string().min(1).default('inventory-updates'),
    DLQ_TOPIC: z.string().min(1).default('inventory-updates.dlq'),
    CONSUMER_GROUP: z.string().min(1).default('order-stream-process'),
    /** 0 (the default) is off; otherwise reconciliation runs this long after the previous run ended. */
    RECONCILE_INTERVAL_MS: z.coerce
      .number()
      .int()
      .refine((ms) => ms === 0 || ms >= MIN_RECONCILE_INTERVAL_MS, `must be 0 (off) or at least ${MIN_RECONCILE_INTERVAL_MS}`)
      .default(0),
    /** Where the confirm step and reconciliation read the database's stock (order-manage-data-api owns PostgreSQL). */
    DATA_API_URL: url(),
    INTERNAL_API_TOKEN: secret(),
    DATA_API_TIMEOUT_MS: positiveInt(5000),
  })
  .superRefine(kafkaSecurityRule)
  .superRefine((config, ctx) => {
    const problem = credentialsProblem({
      accessToken: config.SHOPIFY_ACCESS_TOKEN,
      clientId: config.SHOPIFY_CLIENT_ID,
      clientSecret: config.SHOPIFY_CLIENT_SECRET,
    });
    if (problem) ctx.addIssue({ code: 'custom', path: [problem.variable], message: problem.message });
  });

export type Config = z.infer<typeof configSchema>;

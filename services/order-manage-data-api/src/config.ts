import { z } from 'zod';
import {
  httpServerSettings,
  kafkaSecurityRule,
  kafkaSecuritySettings,
  logLevel,
  port,
  positiveInt,
  secret,
  withoutDemoPassword,
} from '@oms/common';

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
    PORT: port(8081),
    ...httpServerSettings,
    LOG_LEVEL: logLevel(),
    DATABASE_URL: withoutDemoPassword(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')),
    KAFKA_BROKERS: brokerList,
    ...kafkaSecuritySettings,
    INTERNAL_API_TOKEN: secret(),
    INVENTORY_TOPIC: z.string().min(1).default('inventory-updates'),
    DB_POOL_MAX: positiveInt(10),
    /** Caps any one statement, so a stuck lock cannot hold a request past the api's 4 s timeout. */
    DB_STATEMENT_TIMEOUT_MS: positiveInt(3000),
    OUTBOX_POLL_INTERVAL_MS: positiveInt(1500),
    OUTBOX_BATCH_SIZE: positiveInt(100),
    /**
     * Under steady load a short wait gathers several orders into one relay batch; only a wake-up within
     * this long of the last batch waits, so a lone order is not held back.
     */
    OUTBOX_LINGER_MS: z.coerce.number().int().min(0).max(1000).default(50),
    /** See AppDeps.kafkaGatesReadiness. */
    READINESS_REQUIRES_KAFKA: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
  })
  .superRefine(kafkaSecurityRule);

export type Config = z.infer<typeof configSchema>;

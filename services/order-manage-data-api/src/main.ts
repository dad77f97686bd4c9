import { createKafkaHealthCheck, createLogger, exitOnStartupError, kafkaSecurity, parseConfig, serve } from '@oms/common';
import { createApp } from './app.js';
import { createKafka } from './clients/kafka.js';
import { configSchema } from './config.js';
import { createPool } from './db/pool.js';
import { createDataApiMetrics, SERVICE } from './metrics.js';
import { OutboxRelay } from './outbox/relay.js';

async function main(): Promise<void> {
  const config = parseConfig(SERVICE, configSchema);
  const dbPassword = new URL(config.DATABASE_URL).password;
  const logger = createLogger({
    service: SERVICE,
    level: config.LOG_LEVEL,
    secrets: [config.INTERNAL_API_TOKEN, dbPassword ? decodeURIComponent(dbPassword) : undefined, config.KAFKA_SASL_PASSWORD],
  });
  const metrics = createDataApiMetrics();
  const pool = createPool({
    databaseUrl: config.DATABASE_URL,
    max: config.DB_POOL_MAX,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    logger,
  });
  // The stack seeds the schema before starting us; here we only say early when the database is missing.
  await pool.query('SELECT 1 FROM outbox_event LIMIT 1').catch((err: Error) => {
    logger.warn(`PostgreSQL not usable yet (${err.message}); readiness stays down until it is`, { event: 'db.unavailable' });
  });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, logger, security: kafkaSecurity(SERVICE, config) });
  const kafkaHealth = createKafkaHealthCheck(kafka);
  const relay = new OutboxRelay({
    pool,
    databaseUrl: config.DATABASE_URL,
    kafka,
    topics: [config.INVENTORY_TOPIC],
    logger,
    metrics,
    pollIntervalMs: config.OUTBOX_POLL_INTERVAL_MS,
    batchSize: config.OUTBOX_BATCH_SIZE,
    lingerMs: config.OUTBOX_LINGER_MS,
  });
  const state = { shuttingDown: false };
  const app = createApp({
    pool,
    logger,
    metrics,
    internalApiToken: config.INTERNAL_API_TOKEN,
    inventoryTopic: config.INVENTORY_TOPIC,
    kafkaCheck: kafkaHealth.check,
    kafkaGatesReadiness: config.READINESS_REQUIRES_KAFKA,
    state,
  });
  relay.start();
  await serve({
    app,
    port: config.PORT,
    http: config,
    logger,
    state,
    closers: [
      { name: 'outbox relay', close: () => relay.stop() },
      { name: 'kafka health check', close: () => kafkaHealth.close() },
      { name: 'postgres pool', close: () => pool.end() },
    ],
  });
}

main().catch((err: unknown) => exitOnStartupError(SERVICE, err));

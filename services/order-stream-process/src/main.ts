import { createLogger, exitOnStartupError, kafkaSecurity, parseConfig, serve } from '@oms/common';
import { createApp } from './app.js';
import { createKafka } from './clients/kafka.js';
import { createShopifyClient } from './clients/shopify.js';
import { accessTokenSource, shopifyCredentials } from './clients/shopify-token.js';
import { createStockSource } from './clients/stock.js';
import { configSchema, SERVICE } from './config.js';
import { createStreamMetrics } from './metrics.js';
import { createInventoryProcessor } from './processor.js';
import { createReconciler } from './reconcile.js';
import { type ReconcileInterval, startReconcileInterval } from './reconcile-interval.js';

async function main(): Promise<void> {
  const config = parseConfig(SERVICE, configSchema);
  const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL, secrets: [config.SHOPIFY_ACCESS_TOKEN, config.SHOPIFY_CLIENT_SECRET, config.INTERNAL_API_TOKEN, config.KAFKA_SASL_PASSWORD] });
  const metrics = createStreamMetrics();
  const shopify = createShopifyClient({
    baseUrl: config.SHOPIFY_ADMIN_BASE_URL,
    apiVersion: config.SHOPIFY_API_VERSION,
    // A static token, or the client-credentials grant's, renewed before it expires and once on a 401.
    tokens: accessTokenSource(shopifyCredentials((name) => config[name as keyof typeof config] as string | undefined), {
      baseUrl: config.SHOPIFY_ADMIN_BASE_URL,
      timeoutMs: config.SHOPIFY_TIMEOUT_MS,
      logger,
    }),
    timeoutMs: config.SHOPIFY_TIMEOUT_MS,
    maxAttempts: config.SHOPIFY_MAX_ATTEMPTS,
    baseDelayMs: config.SHOPIFY_RETRY_BASE_DELAY_MS,
    logger,
    metrics: metrics.shopify,
  });
  const stock = createStockSource({ baseUrl: config.DATA_API_URL, token: config.INTERNAL_API_TOKEN, timeoutMs: config.DATA_API_TIMEOUT_MS });
  const processor = createInventoryProcessor({
    kafka: createKafka(config.KAFKA_BROKERS, logger, kafkaSecurity(SERVICE, config)),
    topic: config.INVENTORY_TOPIC,
    dlqTopic: config.DLQ_TOPIC,
    groupId: config.CONSUMER_GROUP,
    shopify,
    stock,
    logger,
    metrics,
    batchLingerMs: config.SHOPIFY_BATCH_LINGER_MS,
    onFatalError: () => {
      // A consumer KafkaJS gave up on consumes nothing more: exit so the supervisor restarts us.
      process.exit(1);
    },
  });
  const state = { shuttingDown: false };
  const app = createApp({
    logger,
    metrics,
    checks: { kafka: () => processor.checkKafka(), shopify: () => shopify.ping(), dataApi: () => stock.ping() },
    state,
  });
  await processor.start();
  let reconciling: ReconcileInterval | undefined;
  if (config.RECONCILE_INTERVAL_MS > 0) {
    reconciling = startReconcileInterval({
      reconciler: createReconciler({ stock, shopify, logger }),
      intervalMs: config.RECONCILE_INTERVAL_MS,
      logger,
      isDesignated: () => processor.consumes(0),
      onRun: metrics.countReconcileRun,
    });
  }
  await serve({
    app,
    port: config.PORT,
    http: config,
    logger,
    state,
    closers: [
      { name: 'reconciliation', close: async () => reconciling?.stop() },
      { name: 'kafka consumer and producer', close: () => processor.stop() },
    ],
    shutdownTimeoutMs: 15_000,
  });
}

main().catch((err: unknown) => exitOnStartupError(SERVICE, err));

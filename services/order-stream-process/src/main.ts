import { createLogger, exitOnStartupError, kafkaSecurity, type Logger, parseConfig, serve } from '@oms/common';
import { createKafka } from './clients/kafka.js';
import { createShopifyClient, type ShopifyClient } from './clients/shopify.js';
import { accessTokenSource, shopifyCredentials } from './clients/shopify-token.js';
import { createStockSource, type StockSource } from './clients/stock.js';
import { type Config, configSchema, SERVICE } from './config.js';
import { createApp } from './entry-points/http.js';
import { createInventoryProcessor, type InventoryProcessor } from './entry-points/kafka-consumer.js';
import { type ReconcileInterval, startReconcileInterval } from './entry-points/reconcile-schedule.js';
import { createStreamMetrics, type StreamMetrics } from './metrics.js';
import { createReconciler } from './use-cases/reconcile/reconcile.js';

interface Wiring {
  config: Config;
  logger: Logger;
  metrics: StreamMetrics;
}

function shopifyClient({ config, logger, metrics }: Wiring): ShopifyClient {
  return createShopifyClient({
    baseUrl: config.SHOPIFY_ADMIN_BASE_URL,
    apiVersion: config.SHOPIFY_API_VERSION,
    // A static token, or the client-credentials grant's, renewed before it expires and once on a 401.
    tokens: accessTokenSource(
      shopifyCredentials((name) => config[name as keyof typeof config] as string | undefined),
      {
        baseUrl: config.SHOPIFY_ADMIN_BASE_URL,
        timeoutMs: config.SHOPIFY_TIMEOUT_MS,
        logger,
      },
    ),
    timeoutMs: config.SHOPIFY_TIMEOUT_MS,
    maxAttempts: config.SHOPIFY_MAX_ATTEMPTS,
    baseDelayMs: config.SHOPIFY_RETRY_BASE_DELAY_MS,
    logger,
    metrics: metrics.shopify,
  });
}

function inventoryProcessor({ config, logger, metrics }: Wiring, shopify: ShopifyClient, stock: StockSource): InventoryProcessor {
  return createInventoryProcessor({
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
}

/** RECONCILE_INTERVAL_MS: scheduled reconciliation, run by the replica consuming partition 0; none when 0. */
function reconciliation(
  { config, logger, metrics }: Wiring,
  deps: { shopify: ShopifyClient; stock: StockSource; processor: InventoryProcessor },
): ReconcileInterval | undefined {
  if (config.RECONCILE_INTERVAL_MS <= 0) return undefined;
  return startReconcileInterval({
    reconciler: createReconciler({ stock: deps.stock, shopify: deps.shopify, logger }),
    intervalMs: config.RECONCILE_INTERVAL_MS,
    logger,
    isDesignated: () => deps.processor.consumes(0),
    onRun: metrics.countReconcileRun,
  });
}

async function main(): Promise<void> {
  const config = parseConfig(SERVICE, configSchema);
  const logger = createLogger({
    service: SERVICE,
    level: config.LOG_LEVEL,
    secrets: [config.SHOPIFY_ACCESS_TOKEN, config.SHOPIFY_CLIENT_SECRET, config.INTERNAL_API_TOKEN, config.KAFKA_SASL_PASSWORD],
  });
  const wiring: Wiring = { config, logger, metrics: createStreamMetrics() };
  const shopify = shopifyClient(wiring);
  const stock = createStockSource({
    baseUrl: config.DATA_API_URL,
    token: config.INTERNAL_API_TOKEN,
    timeoutMs: config.DATA_API_TIMEOUT_MS,
  });
  const processor = inventoryProcessor(wiring, shopify, stock);
  const state = { shuttingDown: false };
  const app = createApp({
    logger,
    metrics: wiring.metrics,
    checks: { kafka: () => processor.checkKafka(), shopify: () => shopify.ping(), dataApi: () => stock.ping() },
    state,
  });
  await processor.start();
  const reconciling = reconciliation(wiring, { shopify, stock, processor });
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

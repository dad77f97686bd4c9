import { createLogger, exitOnStartupError, parseConfig, serve } from '@oms/common';
import { createApp } from './app.js';
import { createDataApiClient } from './clients/data-api.js';
import { createRedis } from './clients/redis.js';
import { createWmsHold } from './clients/wms-hold.js';
import { createRejectionRecorder } from './clients/rejection-recorder.js';
import { createWmsClient } from './clients/wms.js';
import { configSchema, SERVICE } from './config.js';
import { createApiMetrics } from './metrics.js';

async function main(): Promise<void> {
  const config = parseConfig(SERVICE, configSchema);
  const logger = createLogger({
    service: SERVICE,
    level: config.LOG_LEVEL,
    secrets: [config.INTERNAL_API_TOKEN, config.WMS_API_KEY, config.SHOPIFY_WEBHOOK_SECRET],
  });
  const metrics = createApiMetrics();
  // Redis being down at start is not fatal: the client reconnects in the background, the hold fails open.
  const redis = createRedis(config.REDIS_URL, logger);
  const rejections = createRejectionRecorder({
    baseUrl: config.DATA_API_URL,
    token: config.INTERNAL_API_TOKEN,
    timeoutMs: config.REJECTION_RECORD_TIMEOUT_MS,
    logger,
    onOutcome: metrics.countRejectionReport,
  });
  const state = { shuttingDown: false };
  const app = createApp({
    rejections,
    logger,
    metrics,
    redis,
    state,
    webhookSecret: config.SHOPIFY_WEBHOOK_SECRET,
    warehouseLocationId: config.SHOPIFY_LOCATION_ID,
    deadlineMs: config.WEBHOOK_DEADLINE_MS,
    dataApi: createDataApiClient({ baseUrl: config.DATA_API_URL, token: config.INTERNAL_API_TOKEN, timeoutMs: config.DATA_API_TIMEOUT_MS }),
    wms: createWmsClient({
      baseUrl: config.WMS_BASE_URL,
      apiKey: config.WMS_API_KEY,
      timeoutMs: config.WMS_TIMEOUT_MS,
      onCall: metrics.observeWmsCall,
    }),
    wmsHold: createWmsHold({ redis, logger, ttlSeconds: config.WMS_HOLD_TTL_SECONDS }),
  });
  await serve({
    app,
    port: config.PORT,
    logger,
    state,
    closers: [
      { name: 'rejection reports in flight', close: () => rejections.drain() },
      { name: 'redis', close: () => redis.quit().catch(() => redis.disconnect()) },
    ],
  });
}

main().catch((err: unknown) => exitOnStartupError(SERVICE, err));

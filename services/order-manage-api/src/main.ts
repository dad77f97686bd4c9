import { createLogger, exitOnStartupError, parseConfig, serve } from '@oms/common';
import { createApp } from './app.js';
import { createDataApiClient } from './clients/data-api.js';
import { createRedis } from './clients/redis.js';
import { createWmsHold } from './clients/wms-hold.js';
import { createRejectionRecorder } from './clients/rejection-recorder.js';
import { createRestockClient } from './clients/restocks.js';
import { createWmsClient, type WmsListClient } from './clients/wms.js';
import { type Config, configSchema, SERVICE } from './config.js';
import { createVariantCache } from './domain/variant-cache.js';
import { createApiMetrics } from './metrics.js';
import { createWmsSync } from './wms-sync.js';
import { startWmsSyncInterval, type WmsSyncInterval, type WmsSyncIntervalOptions } from './wms-sync-interval.js';

async function main(): Promise<void> {
  const config = parseConfig(SERVICE, configSchema);
  const logger = createLogger({
    service: SERVICE,
    level: config.LOG_LEVEL,
    secrets: [config.INTERNAL_API_TOKEN, config.WMS_API_KEY, ...config.SHOPIFY_WEBHOOK_SECRET],
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
  const wms = createWmsClient({
    baseUrl: config.WMS_BASE_URL,
    apiKey: config.WMS_API_KEY,
    timeoutMs: config.WMS_TIMEOUT_MS,
    onCall: metrics.observeWmsCall,
  });
  const app = createApp({
    rejections,
    logger,
    metrics,
    redis,
    state,
    webhookSecret: config.SHOPIFY_WEBHOOK_SECRET,
    shopDomain: config.SHOPIFY_SHOP_DOMAIN,
    refusalStatus: config.WEBHOOK_REFUSAL_STATUS,
    warehouseLocationId: config.SHOPIFY_LOCATION_ID,
    deadlineMs: config.WEBHOOK_DEADLINE_MS,
    dataApi: createDataApiClient({ baseUrl: config.DATA_API_URL, token: config.INTERNAL_API_TOKEN, timeoutMs: config.DATA_API_TIMEOUT_MS }),
    restocks: createRestockClient({
      baseUrl: config.DATA_API_URL,
      token: config.INTERNAL_API_TOKEN,
      timeoutMs: config.DATA_API_TIMEOUT_MS,
    }),
    wms,
    wmsHold: createWmsHold({ redis, logger, ttlSeconds: config.WMS_HOLD_TTL_SECONDS }),
    variantCache: createVariantCache({ ttlMs: config.VARIANT_CACHE_TTL_MS, maxEntries: config.VARIANT_CACHE_MAX_ENTRIES }),
  });
  const wmsSync = startWmsSync(config, { wms, redis, logger, registry: metrics.registry });
  await serve({
    app,
    port: config.PORT,
    http: config,
    logger,
    state,
    closers: [
      { name: 'wms stock sync', close: async () => wmsSync?.stop() },
      { name: 'rejection reports in flight', close: () => rejections.drain() },
      { name: 'redis', close: () => redis.quit().catch(() => redis.disconnect()) },
    ],
  });
}

/** Off unless WMS_SYNC_INTERVAL_MS is set: the api owns the WMS calls, so it runs the stock sync. */
function startWmsSync(
  config: Config,
  { wms, redis, logger, registry }: Pick<WmsSyncIntervalOptions, 'redis' | 'logger' | 'registry'> & { wms: WmsListClient },
): WmsSyncInterval | undefined {
  if (config.WMS_SYNC_INTERVAL_MS <= 0) return undefined;
  return startWmsSyncInterval({
    sync: createWmsSync({ wms, dataApiUrl: config.DATA_API_URL, token: config.INTERNAL_API_TOKEN, logger }),
    redis,
    logger,
    intervalMs: config.WMS_SYNC_INTERVAL_MS,
    pageSize: config.WMS_SYNC_PAGE_SIZE,
    registry,
  });
}

main().catch((err: unknown) => exitOnStartupError(SERVICE, err));

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { serviceUrls } from './components/services.js';
import { paths, urls, type Settings } from './settings.js';

/**
 * docs/spec.md section 8: how tests, the benchmark and any tool find this stack. The single-URL keys
 * name replica 1; the `_URLS` keys list every replica, comma separated, for clients that spread.
 */
export function stackEnvValues(settings: Settings): Record<string, string> {
  const u = urls(settings);
  return {
    DATABASE_URL: settings.databaseUrl,
    REDIS_URL: settings.redisUrl,
    KAFKA_BROKERS: u.kafkaBrokers,
    WIREMOCK_URL: u.wiremock,
    WMS_BASE_URL: u.wiremock,
    SHOPIFY_ADMIN_BASE_URL: u.wiremock,
    SHOPIFY_API_VERSION: settings.shopifyApiVersion,
    SHOPIFY_WEBHOOK_SECRET: settings.shopifyWebhookSecret,
    SHOPIFY_LOCATION_ID: settings.shopifyLocationId,
    ORDER_API_URL: u.orderApi,
    DATA_API_URL: u.dataApi,
    STREAM_PROCESS_URL: u.streamProcess,
    ORDER_API_URLS: serviceUrls(settings, 'order-manage-api').join(','),
    DATA_API_URLS: serviceUrls(settings, 'order-manage-data-api').join(','),
    STREAM_PROCESS_URLS: serviceUrls(settings, 'order-stream-process').join(','),
    INTERNAL_API_TOKEN: settings.internalApiToken,
    WMS_API_KEY: settings.wmsApiKey,
    SHOPIFY_ACCESS_TOKEN: settings.shopifyAccessToken,
    INVENTORY_TOPIC: settings.inventoryTopic,
    DLQ_TOPIC: settings.dlqTopic,
  };
}

export function writeStackEnv(settings: Settings): string {
  const file = paths(settings).env;
  mkdirSync(path.dirname(file), { recursive: true });
  const body = Object.entries(stackEnvValues(settings))
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  writeFileSync(file, `# Written by the local stack (npm run stack:up); removed by npm run stack:down.\n${body}\n`);
  return file;
}

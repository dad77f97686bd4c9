import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..');

export interface Settings {
  stackDir: string;
  host: string;
  databaseUrl: string;
  redisUrl: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  wiremockPort: number;
  orderApiPort: number;
  dataApiPort: number;
  streamProcessPort: number;
  logLevel: string;
  internalApiToken: string;
  wmsApiKey: string;
  shopifyAccessToken: string;
  shopifyWebhookSecret: string;
  shopifyApiVersion: string;
  inventoryTopic: string;
  dlqTopic: string;
}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name} must be a port number (1-65535), got "${raw}"`);
  }
  return value;
}

/**
 * Every port, the state directory and the database are overridable so that a second stack can run
 * beside a developer's own (tests of the launcher itself do exactly that); the defaults are SPEC.md's.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  return {
    stackDir: path.resolve(REPO_ROOT, env.STACK_DIR || '.stack'),
    host: '127.0.0.1',
    databaseUrl: env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/orders',
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    kafkaPort: portFrom(env, 'KAFKA_PORT', 9092),
    kafkaControllerPort: portFrom(env, 'KAFKA_CONTROLLER_PORT', 9093),
    wiremockPort: portFrom(env, 'WIREMOCK_PORT', 8089),
    orderApiPort: portFrom(env, 'ORDER_API_PORT', 8080),
    dataApiPort: portFrom(env, 'DATA_API_PORT', 8081),
    streamProcessPort: portFrom(env, 'STREAM_PROCESS_PORT', 8082),
    logLevel: env.LOG_LEVEL || 'info',
    internalApiToken: env.INTERNAL_API_TOKEN || 'local-internal-token',
    wmsApiKey: env.WMS_API_KEY || 'local-wms-key',
    shopifyAccessToken: env.SHOPIFY_ACCESS_TOKEN || 'shpat_local_access_token',
    shopifyWebhookSecret: env.SHOPIFY_WEBHOOK_SECRET || 'local-webhook-secret',
    shopifyApiVersion: env.SHOPIFY_API_VERSION || '2026-10',
    inventoryTopic: 'inventory-updates',
    dlqTopic: 'inventory-updates.dlq',
  };
}

export const paths = (s: Settings) => ({
  pids: path.join(s.stackDir, 'pids'),
  logs: path.join(s.stackDir, 'logs'),
  env: path.join(s.stackDir, 'env'),
  kafka: path.join(s.stackDir, 'kafka'),
  kafkaLibs: path.join(s.stackDir, 'kafka', 'libs'),
  postgres: path.join(s.stackDir, 'postgres'),
  redis: path.join(s.stackDir, 'redis'),
});

export const urls = (s: Settings) => ({
  kafkaBrokers: `${s.host}:${s.kafkaPort}`,
  wiremock: `http://${s.host}:${s.wiremockPort}`,
  orderApi: `http://${s.host}:${s.orderApiPort}`,
  dataApi: `http://${s.host}:${s.dataApiPort}`,
  streamProcess: `http://${s.host}:${s.streamProcessPort}`,
});

/** host:port of a postgres:// or redis:// URL, with the scheme's default port. */
export function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : defaultPort };
}

/** For messages and tables: a connection URL without its credentials. */
export function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

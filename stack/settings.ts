import { DEMO_LOCATION_ID } from '../db/catalogue.js';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICE_ALIASES, SERVICES, type ReplicaCounts, type ServiceName } from './components/types.js';

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
  /** How many replicas of each service run; 1 each unless asked (`--replicas`, STACK_REPLICAS). */
  replicas: ReplicaCounts;
  /** Replica n of a service listens on its base port + step × (n − 1). */
  replicaPortStep: number;
  logLevel: string;
  internalApiToken: string;
  wmsApiKey: string;
  shopifyAccessToken: string;
  shopifyWebhookSecret: string;
  shopifyApiVersion: string;
  /** SHOPIFY_LOCATION_ID: the warehouse's Shopify location (the demo catalogue's). */
  shopifyLocationId: string;
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

/** More replicas than this would only idle (the topic has 3 partitions) or starve a small machine. */
export const MAX_REPLICAS = 9;

const ONE_EACH: ReplicaCounts = { 'order-manage-api': 1, 'order-manage-data-api': 1, 'order-stream-process': 1 };

/**
 * `2` (every service) or `api=2,data-api=2,stream=3` (short or full service names; a service not
 * named keeps one replica).
 */
export function parseReplicas(text: string): ReplicaCounts {
  const count = (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > MAX_REPLICAS)
      throw new Error(`replicas must be a whole number from 1 to ${MAX_REPLICAS}, got "${raw}"`);
    return n;
  };
  if (!text.includes('=')) {
    const n = count(text.trim());
    return { 'order-manage-api': n, 'order-manage-data-api': n, 'order-stream-process': n };
  }
  const out = { ...ONE_EACH };
  for (const part of text.split(',')) {
    const [name = '', raw = ''] = part.split('=').map((x) => x.trim());
    const service = SERVICE_ALIASES[name] ?? SERVICES.find((s) => s === name);
    if (!service) throw new Error(`--replicas: unknown service "${name}" (api, data-api, stream or a full service name)`);
    out[service] = count(raw);
  }
  return out;
}

export const formatReplicas = (r: ReplicaCounts): string => SERVICES.map((s: ServiceName) => `${s}=${r[s]}`).join(',');

/**
 * A stack brought up with replicas records their counts in its directory, so that later commands
 * (`stop order-manage-api-2`, `down`, `status`) address every replica without being told again.
 */
function recordedReplicas(stackDir: string): ReplicaCounts | undefined {
  const file = path.join(stackDir, 'replicas');
  return existsSync(file) ? parseReplicas(readFileSync(file, 'utf8').trim()) : undefined;
}

/**
 * Every port, the state directory and the database are overridable so that a second stack can run
 * beside a developer's own (tests of the launcher itself do exactly that); the defaults are docs/spec.md's.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const stackDir = path.resolve(REPO_ROOT, env.STACK_DIR || '.stack');
  return {
    stackDir,
    host: '127.0.0.1',
    databaseUrl: env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/orders',
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    kafkaPort: portFrom(env, 'KAFKA_PORT', 9092),
    kafkaControllerPort: portFrom(env, 'KAFKA_CONTROLLER_PORT', 9093),
    wiremockPort: portFrom(env, 'WIREMOCK_PORT', 8089),
    orderApiPort: portFrom(env, 'ORDER_API_PORT', 8080),
    dataApiPort: portFrom(env, 'DATA_API_PORT', 8081),
    streamProcessPort: portFrom(env, 'STREAM_PROCESS_PORT', 8082),
    replicas: env.STACK_REPLICAS ? parseReplicas(env.STACK_REPLICAS) : (recordedReplicas(stackDir) ?? { ...ONE_EACH }),
    replicaPortStep: portFrom(env, 'REPLICA_PORT_STEP', 100),
    logLevel: env.LOG_LEVEL || 'info',
    internalApiToken: env.INTERNAL_API_TOKEN || 'local-internal-token',
    wmsApiKey: env.WMS_API_KEY || 'local-wms-key',
    shopifyAccessToken: env.SHOPIFY_ACCESS_TOKEN || 'shpat_local_access_token',
    shopifyWebhookSecret: env.SHOPIFY_WEBHOOK_SECRET || 'local-webhook-secret',
    shopifyApiVersion: env.SHOPIFY_API_VERSION || '2026-10',
    shopifyLocationId: env.SHOPIFY_LOCATION_ID || String(DEMO_LOCATION_ID),
    inventoryTopic: 'inventory-updates',
    dlqTopic: 'inventory-updates.dlq',
  };
}

export const paths = (s: Settings) => ({
  pids: path.join(s.stackDir, 'pids'),
  logs: path.join(s.stackDir, 'logs'),
  env: path.join(s.stackDir, 'env'),
  replicas: path.join(s.stackDir, 'replicas'),
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

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface StackEnv {
  DATABASE_URL: string;
  REDIS_URL: string;
  KAFKA_BROKERS: string;
  WIREMOCK_URL: string;
  WMS_BASE_URL: string;
  SHOPIFY_ADMIN_BASE_URL: string;
  SHOPIFY_API_VERSION: string;
  SHOPIFY_WEBHOOK_SECRET: string;
  SHOPIFY_LOCATION_ID: string;
  ORDER_API_URL: string;
  DATA_API_URL: string;
  STREAM_PROCESS_URL: string;
  INTERNAL_API_TOKEN: string;
  [key: string]: string;
}

const DEFAULTS: StackEnv = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/orders',
  REDIS_URL: 'redis://127.0.0.1:6379',
  KAFKA_BROKERS: '127.0.0.1:9092',
  WIREMOCK_URL: 'http://127.0.0.1:8089',
  WMS_BASE_URL: 'http://127.0.0.1:8089',
  SHOPIFY_ADMIN_BASE_URL: 'http://127.0.0.1:8089',
  SHOPIFY_API_VERSION: '2026-10',
  SHOPIFY_WEBHOOK_SECRET: 'local-webhook-secret',
  SHOPIFY_LOCATION_ID: '65432109876',
  ORDER_API_URL: 'http://127.0.0.1:8080',
  DATA_API_URL: 'http://127.0.0.1:8081',
  STREAM_PROCESS_URL: 'http://127.0.0.1:8082',
  INTERNAL_API_TOKEN: 'local-internal-token',
};

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match) out[match[1]!] = match[2]!;
  }
  return out;
}

/**
 * Tests find the running stack through `.stack/env` (docs/spec.md section 8); a variable set in the
 * process environment wins, and STACK_ENV_FILE points at another stack's file.
 */
export function stackEnvFile(): string {
  return process.env.STACK_ENV_FILE ?? path.join(REPO_ROOT, '.stack', 'env');
}

/** The stack's state directory: the env file sits at its top (stack/settings.ts `paths`). */
export function stackDir(): string {
  return path.dirname(path.resolve(stackEnvFile()));
}

/** Where the running stack's services write their logs. */
export function stackLogsDir(): string {
  return path.join(stackDir(), 'logs');
}

export function stackEnv(): StackEnv {
  const file = stackEnvFile();
  const fromFile = existsSync(file) ? parseEnvFile(readFileSync(file, 'utf8')) : {};
  const merged: Record<string, string> = { ...DEFAULTS, ...fromFile };
  for (const key of Object.keys(merged)) {
    const value = process.env[key];
    if (value) merged[key] = value;
  }
  return merged as StackEnv;
}

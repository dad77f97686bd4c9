import pg from 'pg';
import { DataSource } from '@oms/order-manage-data-api/typeorm';
import { CreateOrderTables1764000000000 } from './migrations/1764000000000-CreateOrderTables.js';
import { CreateOutboxEvent1764000000001 } from './migrations/1764000000001-CreateOutboxEvent.js';
import { OrderDetailNonStockLines1764000000002 } from './migrations/1764000000002-OrderDetailNonStockLines.js';
import { CreateOrderRejection1764000000003 } from './migrations/1764000000003-CreateOrderRejection.js';
import { VariantInventory1764000000004 } from './migrations/1764000000004-VariantInventory.js';
import { WebhookEvent1764000000005 } from './migrations/1764000000005-WebhookEvent.js';
import { InventoryAdjustment1764000000006 } from './migrations/1764000000006-InventoryAdjustment.js';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/orders';

/** Listed explicitly: a glob would depend on the working directory and on file extensions at run time. */
export const MIGRATIONS = [
  CreateOrderTables1764000000000,
  CreateOutboxEvent1764000000001,
  OrderDetailNonStockLines1764000000002,
  CreateOrderRejection1764000000003,
  VariantInventory1764000000004,
  WebhookEvent1764000000005,
  InventoryAdjustment1764000000006,
];

export function databaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.DATABASE_URL || DEFAULT_DATABASE_URL;
}

export function createDataSource(url: string = databaseUrl()): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    // Every migration in one transaction: a failed deploy leaves the schema as it was.
    migrationsTransactionMode: 'all',
    synchronize: false,
    logging: ['error'],
    connectTimeoutMS: 5_000,
  });
}

/** A fresh machine has no `orders` database yet: create it through the maintenance database. */
export async function ensureDatabase(url: string = databaseUrl()): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return;
    const quoted = `"${name.replace(/"/g, '""')}"`;
    try {
      await client.query(`CREATE DATABASE ${quoted}`);
    } catch (err) {
      // Another process (a parallel seed) created it between our check and our CREATE; depending
      // on timing PostgreSQL says so as duplicate_database or as a unique violation in pg_database.
      const code = (err as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw err;
    }
  } finally {
    await client.end();
  }
}

// Any constant shared by every migrating process; pg advisory locks are keyed by a bigint.
const MIGRATION_LOCK_KEY = 7_523_456_000_001n;

/**
 * Creates the database if needed and applies pending migrations; returns the names applied.
 * Runs under an advisory lock: two seeds started together (the stack and a developer, say)
 * take turns instead of both creating the same tables.
 */
export async function migrate(url: string = databaseUrl()): Promise<string[]> {
  await ensureDatabase(url);
  const lock = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    const dataSource = createDataSource(url);
    await dataSource.initialize();
    try {
      const applied = await dataSource.runMigrations({ transaction: 'all' });
      return applied.map((m) => m.name);
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await lock.end();
  }
}

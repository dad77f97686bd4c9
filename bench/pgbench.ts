import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../db/data-source.js';
import { cpuDelta, trackCpu } from './proc.js';

const PRODUCTS_PER_SLOT = 10;

/**
 * The order service's commit transaction (services/order-manage-data-api/src/db/orders.ts) for a
 * 3-line order, as a pgbench script: the order row, the locked rows in product id order, the
 * decrement, the details, one outbox event per product and the notify. Each line draws from its own
 * range of products so one order never names a product twice.
 */
const COMMIT_SCRIPT = `\\set p1 random(1, ${PRODUCTS_PER_SLOT})
\\set p2 random(${PRODUCTS_PER_SLOT + 1}, ${2 * PRODUCTS_PER_SLOT})
\\set p3 random(${2 * PRODUCTS_PER_SLOT + 1}, ${3 * PRODUCTS_PER_SLOT})
\\set oid random(1, 9000000000000000000)
BEGIN;
INSERT INTO orders (order_id, order_number, name, customer_id, currency, total_price, financial_status, status, webhook_id, event_id, created_at)
  VALUES (:oid, 1001, '#1001', 207119551, 'USD', '30.00', 'paid', 'committed', 'pgbench', NULL, now());
SELECT product_id, available_quantity FROM inventory WHERE product_id = ANY(ARRAY[:p1, :p2, :p3]::bigint[]) ORDER BY product_id FOR UPDATE;
UPDATE inventory AS i SET available_quantity = i.available_quantity - 1, version = i.version + 1, updated_at = now()
  FROM unnest(ARRAY[:p1, :p2, :p3]::bigint[]) AS d(product_id) WHERE i.product_id = d.product_id
  RETURNING i.product_id, i.sku, i.available_quantity, i.version, i.shopify_inventory_item_id, i.shopify_location_id, i.updated_at;
INSERT INTO order_detail (order_id, product_id, line_item_id, sku, title, quantity, price)
  SELECT :oid, d.product_id, NULL, 'SKU', 'Bench product', 1, 10.00 FROM unnest(ARRAY[:p1, :p2, :p3]::bigint[]) AS d(product_id);
INSERT INTO outbox_event (event_id, topic, message_key, payload, headers, order_id)
  SELECT gen_random_uuid(), 'pgbench', d.product_id::text, '{"bench":true}'::jsonb, '{}'::jsonb, :oid FROM unnest(ARRAY[:p1, :p2, :p3]::bigint[]) AS d(product_id);
SELECT pg_notify('outbox_event_pgbench', '');
COMMIT;
`;

export interface PgbenchResult {
  tps: number;
  clients: number;
  seconds: number;
  postgresCpuMsPerTxn: number;
}

/** A database of its own on the same server: the raw limit of this transaction on this machine. */
async function prepareDatabase(url: string): Promise<void> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${path.basename(new URL(url).pathname)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
  await migrate(url);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    await db.query(
      `INSERT INTO inventory (product_id, sku, title, price, available_quantity, shopify_inventory_item_id, shopify_location_id)
       SELECT n, 'PGBENCH-' || n, 'Bench product ' || n, 10.00, 2000000000, 46000000000000 + n, 70000000000 FROM generate_series(1, $1::int) AS n`,
      [3 * PRODUCTS_PER_SLOT],
    );
  } finally {
    await db.end();
  }
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}: ${out.slice(-500)}`))));
  });
}

export async function runPgbench(stackDatabaseUrl: string, options: { clients: number; seconds: number }): Promise<PgbenchResult> {
  const url = new URL(stackDatabaseUrl);
  url.pathname = '/orders_pgbench';
  await prepareDatabase(url.toString());
  const script = path.join(mkdtempSync(path.join(tmpdir(), 'pgbench-')), 'commit.sql');
  writeFileSync(script, COMMIT_SCRIPT);
  const postgres = () => ({ postgres: { comm: 'postgres' } });
  const cpu = trackCpu(postgres);
  const out = await run('pgbench', ['-n', '-c', String(options.clients), '-j', '2', '-T', String(options.seconds), '-f', script, url.toString()]);
  const spent = cpuDelta(cpu.first, cpu.stop());
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1]);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]);
  if (!Number.isFinite(tps) || !transactions) throw new Error(`pgbench printed no figures:\n${out}`);
  return { tps, clients: options.clients, seconds: options.seconds, postgresCpuMsPerTxn: spent.postgres! / transactions };
}

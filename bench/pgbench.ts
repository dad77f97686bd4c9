import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../db/data-source.js';
import { cpuDelta, trackCpu } from './proc.js';

const VARIANTS_PER_SLOT = 10;
const SLOTS = 3;

/**
 * The order service's commit transaction (services/order-manage-data-api/src/db/orders.ts) for a
 * 3-line order, as a pgbench script: the order row with the variants locked in variant id order,
 * one movement per variant (its trigger applies the delta to the inventory row, as in every commit),
 * the three lines, one outbox event per movement built from the movement and the inventory row, and
 * the notify. Each line draws from its own range of variants so one order never names a variant
 * twice. `:oid` and `:lid` are random, so order ids, line item ids and the movements' idempotency
 * keys stay unique over a run.
 */
const COMMIT_SCRIPT = `\\set v1 random(1, ${VARIANTS_PER_SLOT})
\\set v2 random(${VARIANTS_PER_SLOT + 1}, ${2 * VARIANTS_PER_SLOT})
\\set v3 random(${2 * VARIANTS_PER_SLOT + 1}, ${3 * VARIANTS_PER_SLOT})
\\set oid random(1, 9000000000000000000)
\\set lid random(1, 3000000000000000000)
BEGIN;
WITH new_order AS (
  INSERT INTO orders (order_id, order_number, name, customer_id, currency, total_price, financial_status, status, webhook_id, event_id, created_at, location_id)
  VALUES (:oid, 1001, '#1001', 207119551, 'USD', '30.00', 'paid', 'accepted', 'pgbench', NULL, now(), NULL)
)
SELECT 1 FROM inventory WHERE variant_id = ANY(ARRAY[:v1, :v2, :v3]::bigint[]) ORDER BY variant_id FOR UPDATE;
WITH movement AS (
  INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key)
  SELECT d.variant_id, -1, 'order', (:oid)::text, 'order:' || (:oid)::text || ':' || d.variant_id
    FROM unnest(ARRAY[:v1, :v2, :v3]::bigint[]) AS d(variant_id) ORDER BY d.variant_id
  RETURNING id, variant_id, delta, available_after, version_after
),
detail AS (
  INSERT INTO order_detail (line_item_id, order_id, product_id, variant_id, sku, title, quantity, price, reserved)
  SELECT 3 * (:lid)::bigint + d.n, :oid, d.variant_id, d.variant_id, 'PGBENCH-' || d.variant_id, 'Bench product', 1, 10.00, 1
    FROM unnest(ARRAY[:v1, :v2, :v3]::bigint[]) WITH ORDINALITY AS d(variant_id, n)
),
outbox AS (
  INSERT INTO outbox_event (event_id, topic, message_key, payload, headers, order_id)
  SELECT e.event_id, 'pgbench', e.variant_id::text,
         jsonb_build_object(
           'eventId', e.event_id, 'movementId', e.id::text, 'reason', 'order', 'reference', (:oid)::text,
           'orderId', (:oid)::text, 'variantId', e.variant_id::text, 'productId', i.product_id::text, 'sku', i.sku,
           'inventoryItemId', i.shopify_inventory_item_id::text, 'locationId', i.shopify_location_id::text,
           'delta', e.delta, 'availableAfter', e.available_after, 'inventoryVersion', e.version_after,
           'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'shopifyKnows', true),
         '{"x-correlation-id":"pgbench"}'::jsonb, :oid
    FROM (SELECT gen_random_uuid() AS event_id, movement.* FROM movement) AS e
    JOIN inventory i ON i.variant_id = e.variant_id
   ORDER BY e.variant_id
)
SELECT variant_id, available_after, version_after,
       (SELECT pg_notify('outbox_event_pgbench', '') WHERE EXISTS (SELECT 1 FROM movement)) AS notified
  FROM movement ORDER BY variant_id;
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
    // Each variant at zero, then its stock as one movement: the ledger is the only writer of stock.
    await db.query(
      `INSERT INTO inventory (variant_id, product_id, sku, title, price, shopify_inventory_item_id, shopify_location_id)
       SELECT n, n, 'PGBENCH-' || n, 'Bench product ' || n, 10.00, 46000000000000 + n, 70000000000 FROM generate_series(1, $1::int) AS n`,
      [SLOTS * VARIANTS_PER_SLOT],
    );
    await db.query(
      `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key)
       SELECT n, 2000000000, 'import', 'pgbench', 'pgbench-import:' || n FROM generate_series(1, $1::int) AS n`,
      [SLOTS * VARIANTS_PER_SLOT],
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
  const out = await run('pgbench', [
    '-n',
    '-c',
    String(options.clients),
    '-j',
    '2',
    '-T',
    String(options.seconds),
    '-f',
    script,
    url.toString(),
  ]);
  const spent = cpuDelta(cpu.first, cpu.stop());
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1]);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]);
  if (!Number.isFinite(tps) || !transactions) throw new Error(`pgbench printed no figures:\n${out}`);
  return { tps, clients: options.clients, seconds: options.seconds, postgresCpuMsPerTxn: spent.postgres! / transactions };
}

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { stockedProducts, type StockedProducts } from '../e2e/support.js';
import type { TestProductOptions } from '../support/db.js';
import { readServiceLog, type LogLine } from '../support/logs.js';
import { parseEnvFile, REPO_ROOT, stackEnv } from '../support/stack-env.js';

/**
 * The replica suite's own stack, beside (never on) a developer's: its own directory, ports, database
 * and Redis database, started with replicas and stopped at the end. Replica n of a service listens on
 * its base port + 100 × (n − 1): api 27080/27180, data-api 27081/27181, stream 27082/27182/27282.
 */
const SETTINGS: Record<string, string> = {
  STACK_DIR: path.join(REPO_ROOT, '.stack-replicas'),
  // Below Linux's ephemeral range (32768-60999): an outgoing connection never holds one of these.
  KAFKA_PORT: '27092',
  KAFKA_CONTROLLER_PORT: '27093',
  WIREMOCK_PORT: '27089',
  ORDER_API_PORT: '27080',
  DATA_API_PORT: '27081',
  STREAM_PROCESS_PORT: '27082',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/orders_replicas',
  REDIS_URL: 'redis://127.0.0.1:6379/11',
};
export const REPLICAS = 'api=2,data-api=2,stream=3';
const ENV_FILE = path.join(SETTINGS.STACK_DIR!, 'env');
/** Launcher settings the caller's environment might carry for another stack. */
const FOREIGN = [...Object.keys(SETTINGS), 'STACK_REPLICAS', 'REPLICA_PORT_STEP', 'STACK_ENV_FILE'];

function launch(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const env = { ...process.env };
  for (const key of FOREIGN) delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [path.join(REPO_ROOT, 'stack', 'cli.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { ...env, ...SETTINGS },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/**
 * Brings the suite's stack up and points every helper (stackEnv, the logs, launcherOk, crash) at it.
 * Values in the process environment would win over its env file (tests/support/stack-env.ts), so
 * the ones it defines are dropped from this process.
 */
export async function startReplicaStack(): Promise<void> {
  const { code, output } = await launch(['up', '--replicas', REPLICAS], 300_000);
  if (code !== 0) {
    await stopReplicaStack();
    throw new Error(`the replica stack did not start (exit ${code}):\n${output}`);
  }
  for (const key of FOREIGN) delete process.env[key];
  for (const key of Object.keys(parseEnvFile(readFileSync(ENV_FILE, 'utf8')))) delete process.env[key];
  process.env.STACK_ENV_FILE = ENV_FILE;
}

export async function stopReplicaStack(): Promise<void> {
  const { code, output } = await launch(['down'], 180_000);
  if (code !== 0 || existsSync(ENV_FILE)) console.error(`stopping the replica stack: exit ${code}\n${output}`);
}

const urlsOf = (key: string): string[] => (stackEnv()[key] ?? '').split(',').filter(Boolean);

/** Every api replica, for clients that spread their requests. */
export const apiUrls = (): string[] => urlsOf('ORDER_API_URLS');

/** Instance names of a service's replicas (stack/components/types.ts: replica 1 keeps the service name). */
export function replicaNames(service: 'order-manage-api' | 'order-manage-data-api' | 'order-stream-process'): string[] {
  const key = {
    'order-manage-api': 'ORDER_API_URLS',
    'order-manage-data-api': 'DATA_API_URLS',
    'order-stream-process': 'STREAM_PROCESS_URLS',
  }[service];
  return urlsOf(key).map((_, i) => (i === 0 ? service : `${service}-${i + 1}`));
}

export const PARTITIONS = 3;
const partitioner = Partitioners.DefaultPartitioner();
const metadata: PartitionMetadata[] = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
  partitionErrorCode: 0,
  partitionId,
  leader: 1,
  replicas: [1],
  isr: [1],
}));

/** The partition of inventory-updates a variant's events land on: the data-api's partitioner, keyed by variant id. */
export function partitionOf(variantId: number | string): number {
  return partitioner({ topic: 'inventory-updates', partitionMetadata: metadata, message: { key: String(variantId), value: null } });
}

/** `perPartition` variants on each partition of the topic, so every stream replica has work. */
export async function productsOnEveryPartition(perPartition: number, options: TestProductOptions): Promise<StockedProducts> {
  const kept: StockedProducts['products'] = [];
  const cleanups: Array<() => Promise<void>> = [];
  for (let round = 0; round < 10; round++) {
    const batch = await stockedProducts(PARTITIONS * perPartition, { ...options, wmsQuantity: 1_000_000 });
    cleanups.push(batch.cleanup);
    for (const p of batch.products) {
      if (kept.filter((k) => partitionOf(k.variantId) === partitionOf(p.variantId)).length < perPartition) kept.push(p);
    }
    if (kept.length === PARTITIONS * perPartition) break;
  }
  if (kept.length < PARTITIONS * perPartition) throw new Error('could not find variants for every partition');
  return {
    products: kept,
    async cleanup() {
      for (const c of cleanups) await c();
    },
  };
}

/** One service's JSON log lines of every replica, each tagged with the replica that wrote it. */
export function replicaLogs(service: 'order-manage-data-api' | 'order-stream-process'): Array<LogLine & { replica: string }> {
  return replicaNames(service).flatMap((replica) => readServiceLog(replica).map((line) => ({ ...line, replica })));
}

/** The stream processors' SUCCESS lines for these event ids, in the order each replica wrote them. */
export function streamSuccesses(eventIds: ReadonlySet<string>): Array<LogLine & { replica: string }> {
  return replicaLogs('order-stream-process').filter(
    (line) => line.event === 'shopify.inventory.updated' && line.msg.startsWith('SUCCESS') && eventIds.has(String(line.eventId)),
  );
}

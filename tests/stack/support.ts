import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildOnce, serviceBundle } from '../../stack/build.js';
import { eventually } from '../support/eventually.js';
import { REPO_ROOT, stackEnv } from '../support/stack-env.js';

export const SERVICES = ['order-manage-api', 'order-manage-data-api', 'order-stream-process'] as const;
export type Service = (typeof SERVICES)[number];

export function serviceUrl(service: Service): string {
  const env = stackEnv();
  return {
    'order-manage-api': env.ORDER_API_URL,
    'order-manage-data-api': env.DATA_API_URL,
    'order-stream-process': env.STREAM_PROCESS_URL,
  }[service];
}

/** A port nobody listens on right now, for a second instance of a service. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A service's variables pointing at the running stack's dependencies (docs/design.md names). */
export function serviceEnvFromStack(service: Service, port: number): Record<string, string> {
  const env = stackEnv();
  const common = { PORT: String(port), LOG_LEVEL: 'info' };
  switch (service) {
    case 'order-manage-api':
      return {
        ...common,
        DATA_API_URL: env.DATA_API_URL,
        INTERNAL_API_TOKEN: env.INTERNAL_API_TOKEN,
        REDIS_URL: env.REDIS_URL,
        WMS_BASE_URL: env.WMS_BASE_URL,
        WMS_API_KEY: env.WMS_API_KEY ?? 'local-wms-key',
        SHOPIFY_WEBHOOK_SECRET: env.SHOPIFY_WEBHOOK_SECRET,
        SHOPIFY_LOCATION_ID: env.SHOPIFY_LOCATION_ID,
      };
    case 'order-manage-data-api':
      return {
        ...common,
        DATABASE_URL: env.DATABASE_URL,
        KAFKA_BROKERS: env.KAFKA_BROKERS,
        INTERNAL_API_TOKEN: env.INTERNAL_API_TOKEN,
      };
    case 'order-stream-process':
      return {
        ...common,
        KAFKA_BROKERS: env.KAFKA_BROKERS,
        SHOPIFY_ADMIN_BASE_URL: env.SHOPIFY_ADMIN_BASE_URL,
        SHOPIFY_API_VERSION: env.SHOPIFY_API_VERSION,
        SHOPIFY_ACCESS_TOKEN: env.SHOPIFY_ACCESS_TOKEN ?? 'shpat_local_access_token',
        // The confirm step reads the database's stock through the data-api.
        DATA_API_URL: env.DATA_API_URL,
        INTERNAL_API_TOKEN: env.INTERNAL_API_TOKEN,
      };
  }
}

export interface RunningService {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// The bundles the running stack was started from (it builds them on up); built here only if absent.
if (SERVICES.some((s) => !existsSync(serviceBundle(s)))) await buildOnce();

/**
 * Runs a service's bundle as the stack does (node dist/<service>/main.js), with exactly `env` plus
 * PATH and HOME: nothing from the test's own environment can fill in a variable the test left out.
 */
export function spawnService(service: Service, env: Record<string, string>): RunningService {
  const child = spawn(process.execPath, ['--enable-source-maps', serviceBundle(service)], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => ({ stdout, stderr }), exited };
}

/** Resolves to the exit, or kills the process and rejects when it outlives `ms`. */
export async function exitWithin(running: RunningService, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const timer = sleep(ms).then(() => 'timeout' as const);
  const result = await Promise.race([running.exited, timer]);
  if (result === 'timeout') {
    running.child.kill('SIGKILL');
    throw new Error(`the process did not exit within ${ms} ms; output:\n${running.output().stdout}\n${running.output().stderr}`);
  }
  return result;
}

export async function getStatus(url: string, timeoutMs = 3000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Polls until `url` answers `status`; returns the last status seen. */
export async function waitForStatus(url: string, status: number, deadlineMs: number): Promise<number> {
  let last = 0;
  try {
    return await eventually(
      async () => {
        last = await getStatus(url);
        if (last !== status) throw new Error(`${url} answered ${last}`);
        return last;
      },
      deadlineMs,
      500,
    );
  } catch {
    return last;
  }
}

/** The JSON log lines a service wrote (anything else on stdout is ignored). */
export function logLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

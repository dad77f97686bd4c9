/**
 * `npm start` stops everything it started (docs/spec.md section 8): on Ctrl-C when its output is
 * piped and the reader is gone first (`npm start | tee start.log`: Ctrl-C ends tee too), on a
 * supervisor's SIGTERM, and on SIGHUP when the terminal closes. Each case runs `npm start` as a
 * merchant's engineer does, on a stack of its own beside (never on) the developer's: its own
 * directory, ports, database and Redis database. PostgreSQL and Redis already answer, so the
 * launcher starts Kafka, WireMock and the three services, and those are what must be stopped.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually } from '../support/eventually.js';
import { REPO_ROOT } from '../support/stack-env.js';

const STACK_DIR = path.join(REPO_ROOT, '.stack-launcher-stops');
const PORTS = { KAFKA_PORT: 38092, KAFKA_CONTROLLER_PORT: 38093, WIREMOCK_PORT: 38089, ORDER_API_PORT: 38080, DATA_API_PORT: 38081, STREAM_PROCESS_PORT: 38082 };
const SETTINGS: Record<string, string> = {
  STACK_DIR,
  ...Object.fromEntries(Object.entries(PORTS).map(([k, v]) => [k, String(v)])),
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/orders_launcher_stops',
  REDIS_URL: 'redis://127.0.0.1:6379/12',
};
/** What the launcher starts here (PostgreSQL and Redis already run): one pid file each. */
const STARTED = ['kafka', 'wiremock', 'order-manage-data-api', 'order-manage-api', 'order-stream-process'];

function env(): NodeJS.ProcessEnv {
  const out = { ...process.env, ...SETTINGS };
  for (const key of ['STACK_REPLICAS', 'REPLICA_PORT_STEP', 'STACK_ENV_FILE']) delete out[key];
  return out;
}

interface Launch {
  npm: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm start` in a process group of its own, as a terminal runs a foreground job. */
function npmStart(): Launch {
  const npm = spawn('npm', ['start'], { cwd: REPO_ROOT, env: env(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  npm.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  npm.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
  return { npm, output: () => output, exited };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The pid of each component the launcher started, from its pid files. */
function startedPids(): Map<string, number> {
  const dir = path.join(STACK_DIR, 'pids');
  const pids = new Map<string, number>();
  for (const file of existsSync(dir) ? readdirSync(dir) : []) pids.set(file.replace(/\.pid$/, ''), Number(readFileSync(path.join(dir, file), 'utf8').trim()));
  return pids;
}

/** Waits until the launcher says the stack is up, and returns what it started. */
async function up(launch: Launch): Promise<Map<string, number>> {
  await eventually(
    () => {
      assert.ok(launch.npm.exitCode === null, `npm start exited early:\n${launch.output()}`);
      assert.match(launch.output(), /The stack is up\. Ctrl-C stops it\./);
    },
    300_000,
    500,
  );
  const pids = startedPids();
  assert.deepEqual([...pids.keys()].sort(), [...STARTED].sort(), `the launcher started Kafka, WireMock and the services:\n${launch.output()}`);
  for (const [name, pid] of pids) {
    assert.match(launch.output(), new RegExp(`${name}\\s+started \\(pid ${pid}\\)`), `this launch started ${name}`);
    assert.ok(isAlive(pid), `${name} (pid ${pid}) runs`);
  }
  for (const port of [PORTS.KAFKA_PORT, PORTS.WIREMOCK_PORT, PORTS.ORDER_API_PORT, PORTS.DATA_API_PORT, PORTS.STREAM_PROCESS_PORT]) {
    assert.equal(await listening(port), true, `port ${port} answers`);
  }
  return pids;
}

/** Every process the launcher started has exited, no port of the stack answers, and npm has exited. */
async function allStopped(launch: Launch, pids: Map<string, number>): Promise<void> {
  await eventually(
    async () => {
      for (const [name, pid] of pids) assert.equal(isAlive(pid), false, `${name} (pid ${pid}) was stopped:\n${launch.output()}`);
      for (const port of Object.values(PORTS)) assert.equal(await listening(port), false, `nothing listens on ${port} any more`);
      assert.equal(existsSync(path.join(STACK_DIR, 'env')), false, 'the env file is gone with the stack');
    },
    180_000,
    500,
  );
  await eventually(() => assert.notEqual(launch.npm.exitCode === null && launch.npm.signalCode === null, true, 'npm start has exited'), 30_000, 200);
}

after(() => {
  // Whatever happened above, nothing of this stack is left running.
  spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'stack', 'cli.ts'), 'down'], { cwd: REPO_ROOT, env: env(), timeout: 180_000 });
});

describe('npm start stops everything it started', () => {
  it('on Ctrl-C when its output went through a pipe whose reader is gone (npm start | tee start.log)', async () => {
    const launch = npmStart();
    const pids = await up(launch);
    // tee gets the terminal's Ctrl-C too and ends first: every later write of the launcher fails (EPIPE).
    launch.npm.stdout!.destroy();
    launch.npm.stderr!.destroy();
    process.kill(-launch.npm.pid!, 'SIGINT');
    await allStopped(launch, pids);
  });

  it("on a supervisor's SIGTERM to npm", async () => {
    const launch = npmStart();
    const pids = await up(launch);
    process.kill(launch.npm.pid!, 'SIGTERM');
    await allStopped(launch, pids);
    assert.match(launch.output(), /SIGTERM: stopping the stack/);
    assert.match(launch.output(), /stopped 5 component\(s\)/);
  });

  it('on SIGHUP, when the terminal it runs in closes', async () => {
    const launch = npmStart();
    const pids = await up(launch);
    process.kill(-launch.npm.pid!, 'SIGHUP');
    await allStopped(launch, pids);
    assert.match(launch.output(), /SIGHUP: stopping the stack/);
  });

  it('when npm itself is killed outright (SIGKILL), leaving nobody to stop it', async () => {
    const launch = npmStart();
    const pids = await up(launch);
    process.kill(launch.npm.pid!, 'SIGKILL');
    await allStopped(launch, pids);
  });
});

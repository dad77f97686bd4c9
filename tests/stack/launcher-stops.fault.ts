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
import { after, afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../support/stack-env.js';

const STACK_DIR = path.join(REPO_ROOT, '.stack-launcher-stops');
const PORTS = {
  // Below Linux's ephemeral range (32768-60999): an outgoing connection never holds one of these.
  KAFKA_PORT: 28092,
  KAFKA_CONTROLLER_PORT: 28093,
  WIREMOCK_PORT: 28089,
  ORDER_API_PORT: 28080,
  DATA_API_PORT: 28081,
  STREAM_PROCESS_PORT: 28082,
};
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
}

/** The running case's launch and what it started: whatever a failed case leaves is ended before the next. */
let current: { launch: Launch; pids: Map<string, number> } | undefined;

/** `npm start` in a process group of its own, as a terminal runs a foreground job. */
function npmStart(): Launch {
  const npm = spawn('npm', ['start'], { cwd: REPO_ROOT, env: env(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  npm.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  npm.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const launch = { npm, output: () => output };
  current = { launch, pids: new Map() };
  return launch;
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
  for (const file of existsSync(dir) ? readdirSync(dir) : [])
    pids.set(file.replace(/\.pid$/, ''), Number(readFileSync(path.join(dir, file), 'utf8').trim()));
  return pids;
}

/** Polls until `done` holds; nothing but the test's own timeout guard (its signal) ends the wait. */
async function until(signal: AbortSignal, done: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await done())) await sleep(500, undefined, { signal });
}

function ended(launch: Launch): boolean {
  return launch.npm.exitCode !== null || launch.npm.signalCode !== null;
}

/** Waits until the launcher says the stack is up, and returns what it started; fails at once if npm start ends first. */
async function up(signal: AbortSignal, launch: Launch): Promise<Map<string, number>> {
  await until(signal, () => {
    if (/The stack is up\. Ctrl-C stops it\./.test(launch.output())) return true;
    assert.equal(ended(launch), false, `npm start exited before the stack was up:\n${launch.output()}`);
    return false;
  });
  const pids = startedPids();
  assert.deepEqual(
    [...pids.keys()].sort(),
    [...STARTED].sort(),
    `the launcher started Kafka, WireMock and the services:\n${launch.output()}`,
  );
  for (const [name, pid] of pids) {
    assert.match(launch.output(), new RegExp(`${name}\\s+started \\(pid ${pid}\\)`), `this launch started ${name}`);
    assert.ok(isAlive(pid), `${name} (pid ${pid}) runs`);
  }
  for (const port of [PORTS.KAFKA_PORT, PORTS.WIREMOCK_PORT, PORTS.ORDER_API_PORT, PORTS.DATA_API_PORT, PORTS.STREAM_PROCESS_PORT]) {
    assert.equal(await listening(port), true, `port ${port} answers`);
  }
  current = { launch, pids };
  return pids;
}

/** What of the stack still runs: processes, ports, the env file, npm itself. */
async function stillThere(launch: Launch, pids: Map<string, number>): Promise<string[]> {
  const left = [...pids].filter(([, pid]) => isAlive(pid)).map(([name, pid]) => `${name} (pid ${pid})`);
  for (const port of Object.values(PORTS)) if (await listening(port)) left.push(`port ${port}`);
  if (existsSync(path.join(STACK_DIR, 'env'))) left.push('the env file');
  if (!ended(launch)) left.push('npm start');
  return left;
}

/** Every process the launcher started has exited, no port of the stack answers, and npm has exited. */
async function allStopped(signal: AbortSignal, launch: Launch, pids: Map<string, number>): Promise<void> {
  await until(signal, async () => (await stillThere(launch, pids)).length === 0);
}

function down(): void {
  spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'stack', 'cli.ts'), 'down'], {
    cwd: REPO_ROOT,
    env: env(),
    timeout: 180_000,
  });
}

afterEach(async () => {
  if (!current) return;
  const { launch, pids } = current;
  current = undefined;
  const left = await stillThere(launch, pids);
  if (left.length === 0) return;
  console.error(`left running after the case: ${left.join(', ')}\n--- npm start's output:\n${launch.output()}`);
  try {
    // npm and the launcher share the group npm leads, also once npm itself has gone.
    process.kill(-launch.npm.pid!, 'SIGKILL');
  } catch {
    // nobody left in it
  }
  down();
});

// Whatever happened above, nothing of this stack is left running.
after(down);

/** Generous: a start and a stop take about a minute on a loaded 2-core machine. */
const GUARD = { timeout: 15 * 60_000 };

describe('npm start stops everything it started', () => {
  it('on Ctrl-C when its output went through a pipe whose reader is gone (npm start | tee start.log)', GUARD, async (t) => {
    const launch = npmStart();
    const pids = await up(t.signal, launch);
    // tee gets the terminal's Ctrl-C too and ends first: every later write of the launcher fails (EPIPE).
    launch.npm.stdout!.destroy();
    launch.npm.stderr!.destroy();
    process.kill(-launch.npm.pid!, 'SIGINT');
    await allStopped(t.signal, launch, pids);
  });

  it("on a supervisor's SIGTERM to npm", GUARD, async (t) => {
    const launch = npmStart();
    const pids = await up(t.signal, launch);
    process.kill(launch.npm.pid!, 'SIGTERM');
    await allStopped(t.signal, launch, pids);
    assert.match(launch.output(), /SIGTERM: stopping the stack/);
    assert.match(launch.output(), /stopped 5 component\(s\)/);
  });

  it('on SIGHUP, when the terminal it runs in closes', GUARD, async (t) => {
    const launch = npmStart();
    const pids = await up(t.signal, launch);
    process.kill(-launch.npm.pid!, 'SIGHUP');
    await allStopped(t.signal, launch, pids);
    assert.match(launch.output(), /SIGHUP: stopping the stack/);
  });

  it('when npm itself is killed outright (SIGKILL), leaving nobody to stop it', GUARD, async (t) => {
    const launch = npmStart();
    const pids = await up(t.signal, launch);
    process.kill(launch.npm.pid!, 'SIGKILL');
    await allStopped(t.signal, launch, pids);
  });
});

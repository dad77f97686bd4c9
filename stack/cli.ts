import path from 'node:path';
import { COMPONENT_NAMES } from './components/types.js';
import { ensureKafkaLibs, ensureWiremockExtension, wiremockJar } from './install.js';
import { isAlive } from './proc.js';
import { loadSettings, parseReplicas, paths, REPO_ROOT } from './settings.js';
import { ComponentFailed, Interrupted, Stack } from './stack.js';
import { runTests } from './test-command.js';
import { bold, dim, keepRunningWhenOutputCloses, yellow } from './ui.js';

const USAGE = `usage: npm run stack -- <command> [--replicas N | --replicas api=N,data-api=N,stream=N]

  install              fetch and build what the stack runs (Kafka's jars and WireMock's Shopify rate-limit extension through Maven; WireMock comes with npm ci)
  up                   start every component in the background; returns once all are ready
  down                 stop everything the stack started
  start                up, then stay in the foreground until Ctrl-C (or SIGTERM, SIGHUP), then down
  start <component>    start one component and wait until it is ready
  stop <component>     stop one component the stack started
  status               each component's state and URL
  test                 up if needed, run every test suite, stop what it started

components: ${COMPONENT_NAMES.join(', ')}; replica n > 1 of a service is <service>-n (order-manage-api-2)
--replicas: how many replicas of each service "up" starts (default 1); the stack remembers them until "down"
settings (environment): STACK_DIR, DATABASE_URL, REDIS_URL, KAFKA_PORT, KAFKA_CONTROLLER_PORT,
  WIREMOCK_PORT, ORDER_API_PORT, DATA_API_PORT, STREAM_PROCESS_PORT, LOG_LEVEL,
  STACK_REPLICAS (as --replicas), REPLICA_PORT_STEP (replica n listens on its port + step × (n − 1); 100)`;

function componentArg(stack: Stack, arg: string | undefined): string {
  if (!arg || !stack.components.has(arg)) {
    console.error(`unknown component "${arg ?? ''}": one of ${[...stack.components.keys()].join(', ')}`);
    process.exit(64);
  }
  return arg;
}

/** Takes `--replicas X` or `--replicas=X` out of the arguments. */
function replicasFlag(args: string[]): { rest: string[]; replicas?: string } {
  const rest: string[] = [];
  let replicas: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--replicas') replicas = args[++i] ?? '';
    else if (arg.startsWith('--replicas=')) replicas = arg.slice('--replicas='.length);
    else rest.push(arg);
  }
  return { rest, replicas };
}

async function printSummary(stack: Stack): Promise<void> {
  const p = paths(stack.settings);
  console.log(`\n${await stack.statusTable()}\n`);
  const show = (file: string) => (file.startsWith(`${REPO_ROOT}${path.sep}`) ? path.relative(REPO_ROOT, file) : file);
  console.log(dim(`settings: ${show(p.env)}    logs: ${show(p.logs)}/<component>.log`));
}

/** What stops `npm start`: Ctrl-C, a supervisor's SIGTERM, the terminal closing (SIGHUP). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * `npm start`: up, then in the foreground until a stop signal, then down. A signal while the stack
 * is still starting stops it too: what was started is stopped again. The output may be gone by then
 * (`npm start | tee start.log`: Ctrl-C ends tee as well), which must not end the launcher early.
 *
 * package.json runs it as `exec node --import tsx …`, one process in the place of npm's shell, so
 * that the SIGTERM npm passes on reaches it (a shell would die of it, and tsx's own parent process
 * would pass on neither that nor SIGHUP). And should the process that started it end anyway
 * (npm killed outright), nothing could stop the stack any more: it stops then too.
 */
async function startForeground(stack: Stack): Promise<number> {
  let stopSignal: string | undefined;
  let wake = () => undefined as void;
  const onSignal = (signal: string) => {
    if (stopSignal !== undefined) {
      console.log(`${signal}: already stopping the stack`);
      return;
    }
    stopSignal = signal;
    console.log(`\n${signal}: stopping the stack`);
    stack.interrupt(signal);
    wake();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  const parent = process.ppid;
  const parentWatch = setInterval(() => {
    if (process.ppid !== parent) onSignal(`the process that started the stack (pid ${parent}) ended`);
  }, 1000);
  parentWatch.unref();
  try {
    await stack.up();
    await printSummary(stack);
    if (stopSignal === undefined) await foreground(stack, (resolve) => (wake = resolve));
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err;
  }
  clearInterval(parentWatch);
  const stopped = await stack.down();
  console.log(`stopped ${stopped} component(s)`);
  return 0;
}

/** Stays up until `onWake` is called (a stop signal); says so when a process the stack runs dies meanwhile. */
async function foreground(stack: Stack, onWake: (resolve: () => void) => void): Promise<void> {
  console.log(bold('\nThe stack is up. Ctrl-C stops it.'));
  const watched = new Map<string, number>();
  for (const [name, c] of stack.components) {
    const pid = c.pid();
    if (pid !== undefined) watched.set(name, pid);
  }
  const monitor = setInterval(() => {
    for (const [name, pid] of watched) {
      if (!isAlive(pid)) {
        watched.delete(name);
        console.log(yellow(`⚠ ${name} (pid ${pid}) exited: see ${stack.component(name).logFile}`));
      }
    }
  }, 5000);
  await new Promise<void>((resolve) => onWake(resolve));
  clearInterval(monitor);
}

async function main(args: string[]): Promise<number> {
  keepRunningWhenOutputCloses();
  const { rest, replicas } = replicasFlag(args);
  const [command, arg] = rest;
  const settings = loadSettings();
  if (replicas !== undefined) settings.replicas = parseReplicas(replicas);
  const stack = new Stack(settings);
  switch (command) {
    case 'install': {
      const settings = stack.settings;
      const kafka = ensureKafkaLibs(paths(settings).kafkaLibs);
      console.log(`Kafka jars: ${kafka} in ${paths(settings).kafkaLibs}`);
      console.log(`WireMock: ${wiremockJar()}`);
      const extension = ensureWiremockExtension();
      console.log(`WireMock's Shopify rate-limit extension: ${extension.state} ${extension.jar}`);
      return 0;
    }
    case 'up':
      await stack.up();
      await printSummary(stack);
      return 0;
    case 'start':
      if (arg) {
        await stack.startOne(componentArg(stack, arg));
        return 0;
      }
      return startForeground(stack);
    case 'stop': {
      const name = componentArg(stack, arg);
      const outcome = await stack.stopOne(name);
      if (outcome === 'not-managed') console.log(`${name} is not managed by this stack (it was already running): left alone`);
      if (outcome === 'not-running') console.log(`${name} is not running`);
      return 0;
    }
    case 'down': {
      const stopped = await stack.down();
      console.log(`stopped ${stopped} component(s)`);
      return 0;
    }
    case 'status':
      console.log(await stack.statusTable());
      return 0;
    case 'test':
      return runTests(stack);
    default:
      console.error(USAGE);
      return command === undefined || command === 'help' ? 0 : 64;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ComponentFailed) {
      console.error(new Stack(loadSettings()).failureReport(err));
    } else {
      console.error(err instanceof Error ? err.message : String(err));
    }
    process.exit(1);
  },
);

import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { kafkaComponent } from './components/kafka.js';
import { postgresComponent } from './components/postgres.js';
import { redisComponent } from './components/redis.js';
import { serviceComponent } from './components/services.js';
import { SERVICES, type Component, type ServiceName } from './components/types.js';
import { wiremockComponent } from './components/wiremock.js';
import { writeStackEnv } from './envfile.js';
import { seedShopifyLevels } from './shopify-levels.js';
import { isAlive, removeFile, tail } from './proc.js';
import { formatReplicas, paths, REPO_ROOT, type Settings, urls } from './settings.js';
import { dim, green, red, StatusLine, table, yellow } from './ui.js';
import { DeadlineError, waitUntil } from './wait.js';

export class ComponentFailed extends Error {
  constructor(
    readonly component: string,
    readonly reason: string,
    readonly logFile: string,
  ) {
    super(`${component}: ${reason}`);
    this.name = 'ComponentFailed';
  }
}

/** A stop signal came while the stack was starting: what this run started is stopped again. */
export class Interrupted extends Error {
  constructor(readonly signal: string) {
    super(`${signal}: start interrupted`);
    this.name = 'Interrupted';
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs a one-shot command (the seed) with its output appended to a log file; resolves to its exit code. */
function runLogged(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<number> {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', fd, fd] });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  }).finally(() => closeSync(fd)) as Promise<number>;
}

export class Stack {
  /** In start order: infrastructure, then each service's replicas; stopped in the reverse order. */
  readonly components: Map<string, Component>;
  /** Set by `interrupt`: no component is launched or awaited any more. */
  private interruptedBy: string | undefined;

  constructor(readonly settings: Settings) {
    const all = [
      postgresComponent(settings),
      redisComponent(settings),
      kafkaComponent(settings),
      wiremockComponent(settings),
      ...SERVICES.flatMap((service) =>
        Array.from({ length: settings.replicas[service] }, (_, i) => serviceComponent(settings, service, i + 1)),
      ),
    ];
    this.components = new Map(all.map((c) => [c.name, c]));
  }

  /**
   * A stop signal (Ctrl-C, SIGTERM, SIGHUP) while `up` runs: the component being awaited is given up
   * on, nothing more is launched, and `up` stops what it started before it rejects with Interrupted.
   */
  interrupt(signal: string): void {
    this.interruptedBy ??= signal;
  }

  private throwIfInterrupted(): void {
    if (this.interruptedBy !== undefined) throw new Interrupted(this.interruptedBy);
  }

  component(name: string): Component {
    const c = this.components.get(name);
    if (!c) throw new Error(`unknown component "${name}": one of ${[...this.components.keys()].join(', ')}`);
    return c;
  }

  /** Every replica of a service, replica 1 first. */
  replicasOf(service: ServiceName): Component[] {
    return Array.from({ length: this.settings.replicas[service] }, (_, i) => this.component(i === 0 ? service : `${service}-${i + 1}`));
  }

  /**
   * Brings every component up in dependency order, leaving alone whatever already answers.
   * Returns what this run started; when one component fails, what this run started is stopped again.
   */
  async up(): Promise<string[]> {
    const started: string[] = [];
    for (const dir of [paths(this.settings).pids, paths(this.settings).logs]) mkdirSync(dir, { recursive: true });
    try {
      // Counted as started once launched, not once ready: one that a failure or a stop signal
      // interrupts while it starts is stopped with the others.
      for (const name of ['postgres', 'redis', 'kafka', 'wiremock'] as const) await this.bringUpTogether([this.component(name)], started);
      this.throwIfInterrupted();
      await this.seed();
      this.throwIfInterrupted();
      await this.seedShopifyLevels();
      // Records the counts before any replica starts, so a `down` after a failed start stops them all.
      writeFileSync(paths(this.settings).replicas, `${formatReplicas(this.settings.replicas)}\n`);
      await this.bringUpTogether(this.replicasOf('order-manage-data-api'), started);
      // The api and the stream processor do not depend on each other: they boot at once. Further
      // stream replicas join the consumer group one at a time, each once the group has settled:
      // members joining a fresh group all at once kept it rebalancing past the start deadline.
      const [firstStream, ...moreStreams] = this.replicasOf('order-stream-process');
      await this.bringUpTogether([...this.replicasOf('order-manage-api'), firstStream!], started);
      for (const c of moreStreams) await this.bringUpTogether([c], started);
    } catch (err) {
      if (started.length) {
        console.log(yellow(`stopping what this run started: ${started.join(', ')}`));
        await this.stopAll(started);
      }
      throw err;
    }
    writeStackEnv(this.settings);
    return started;
  }

  /** True when this call started the component. */
  async bringUp(c: Component): Promise<boolean> {
    const pid = await this.launch(c);
    await this.awaitReady(c, pid);
    return pid !== undefined;
  }

  /** Launches every component first, then awaits each; adds what it started to `started` as it goes. */
  private async bringUpTogether(components: Component[], started: string[]): Promise<void> {
    const launched: Array<number | undefined> = [];
    for (const c of components) {
      const pid = await this.launch(c);
      if (pid !== undefined) started.push(c.name);
      launched.push(pid);
    }
    for (const [i, c] of components.entries()) await this.awaitReady(c, launched[i]);
  }

  private async launch(c: Component): Promise<number | undefined> {
    this.throwIfInterrupted();
    if (await c.ready()) return undefined;
    if (c.pid() !== undefined) return undefined;
    const line = new StatusLine(c.name).begin('preparing');
    try {
      await c.prepare();
      line.update('starting');
      const pid = await c.start();
      line.succeed(dim(`started (pid ${pid})`));
      return pid;
    } catch (err) {
      line.fail(red(errorMessage(err)));
      throw new ComponentFailed(c.name, errorMessage(err), c.logFile);
    }
  }

  private async awaitReady(c: Component, startedPid: number | undefined): Promise<void> {
    const line = new StatusLine(c.name);
    try {
      if (startedPid !== undefined || !(await c.ready())) line.begin('waiting until ready');
      const pid = startedPid ?? c.pid();
      await waitUntil(
        c.name,
        async () => {
          this.throwIfInterrupted();
          return c.ready();
        },
        {
          deadlineMs: c.deadlineMs,
          stillRunning: pid === undefined ? undefined : () => isAlive(pid),
        },
      );
      if (c.afterReady) {
        line.update('configuring');
        await c.afterReady();
      }
      const how =
        startedPid !== undefined ? 'ready' : c.pid() !== undefined ? 'already running' : 'already running (not started by the stack)';
      line.succeed(`${green(how)} ${dim(c.url)}`);
    } catch (err) {
      if (err instanceof Interrupted) {
        line.fail(yellow('interrupted'));
        throw err;
      }
      const why = err instanceof DeadlineError && c.notReadyBecause ? `; its last answer: ${await c.notReadyBecause()}` : '';
      line.fail(red(errorMessage(err) + why));
      throw new ComponentFailed(c.name, errorMessage(err) + why, c.logFile);
    }
  }

  /** `npm run db:seed` against the stack's database: migrations and the demo catalogue, idempotent. */
  async seed(): Promise<void> {
    const logFile = path.join(paths(this.settings).logs, 'seed.log');
    const line = new StatusLine('db:seed').begin('migrating and loading the demo catalogue');
    const code = await runLogged(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'db', 'cli.ts'), 'seed'],
      { ...process.env, DATABASE_URL: this.settings.databaseUrl },
      logFile,
    );
    if (code !== 0) {
      line.fail(red(`exit ${code}`));
      throw new ComponentFailed('db:seed', `exit ${code}`, logFile);
    }
    line.succeed(green('done'));
  }

  /** The Shopify stand-in forgets its levels when it stops: a started one gets the database's figures. */
  async seedShopifyLevels(): Promise<void> {
    const line = new StatusLine('shopify levels').begin('giving the Shopify stand-in the items it does not hold');
    try {
      const added = await seedShopifyLevels(this.settings.databaseUrl, urls(this.settings).wiremock);
      line.succeed(green(`${added} added`));
    } catch (err) {
      line.fail(red(errorMessage(err)));
      throw new ComponentFailed('shopify levels', errorMessage(err), path.join(paths(this.settings).logs, 'wiremock.log'));
    }
  }

  async startOne(name: string): Promise<void> {
    await this.bringUp(this.component(name));
    if (name === 'wiremock') await this.seedShopifyLevels();
  }

  /** Stops one component if this stack started it; says so, and touches nothing, otherwise. */
  async stopOne(name: string): Promise<'stopped' | 'not-running' | 'not-managed'> {
    const c = this.component(name);
    if (c.pid() === undefined) {
      return (await c.ready()) ? 'not-managed' : 'not-running';
    }
    const line = new StatusLine(name).begin('stopping');
    await c.stop();
    removeFile(path.join(paths(this.settings).pids, `${name}.pid`));
    line.succeed('stopped');
    return 'stopped';
  }

  /** Services first, then what they depend on; only processes this stack started. */
  async stopAll(names: readonly string[] = [...this.components.keys()]): Promise<number> {
    let stopped = 0;
    for (const name of [...this.components.keys()].reverse()) {
      if (!names.includes(name)) continue;
      if ((await this.stopOne(name)) === 'stopped') stopped++;
    }
    return stopped;
  }

  async down(): Promise<number> {
    const stopped = await this.stopAll();
    rmSync(paths(this.settings).env, { force: true });
    rmSync(paths(this.settings).replicas, { force: true });
    return stopped;
  }

  async anyServiceAnswers(): Promise<boolean> {
    const answers = await Promise.all(SERVICES.flatMap((service) => this.replicasOf(service)).map((c) => c.ready()));
    return answers.some(Boolean);
  }

  async statusRows(): Promise<string[][]> {
    return Promise.all(
      [...this.components.values()].map(async (c) => {
        const [ready, pid] = [await c.ready(), c.pid()];
        const state =
          ready && pid !== undefined
            ? green('running')
            : ready
              ? green('running (external)')
              : pid !== undefined
                ? yellow('not ready')
                : red('stopped');
        return [c.name, state, c.url, pid === undefined ? '-' : String(pid)];
      }),
    );
  }

  async statusTable(): Promise<string> {
    return table(['component', 'state', 'url', 'pid'], await this.statusRows());
  }

  failureReport(err: ComponentFailed): string {
    return [`${red('✖')} ${err.component} failed: ${err.reason}`, `--- last lines of ${err.logFile}:`, tail(err.logFile, 30), '---'].join(
      '\n',
    );
  }
}

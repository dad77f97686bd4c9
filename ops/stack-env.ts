import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const REPO_ROOT = path.resolve(import.meta.dirname, '..');

/** The local stack's defaults (docs/spec.md section 8), for a tool run where no stack wrote its env file. */
const DEFAULTS: Record<string, string> = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  SHOPIFY_ADMIN_BASE_URL: 'http://127.0.0.1:8089',
  SHOPIFY_API_VERSION: '2026-10',
  DATA_API_URL: 'http://127.0.0.1:8081',
  INVENTORY_TOPIC: 'inventory-updates',
  DLQ_TOPIC: 'inventory-updates.dlq',
};

/**
 * Where an operations tool finds the system: a variable in the environment wins (production), then
 * the running local stack's env file (STACK_ENV_FILE, else `$STACK_DIR/env`, else `.stack/env`),
 * then the local defaults.
 */
export function toolEnv(env: NodeJS.ProcessEnv = process.env): (name: string) => string | undefined {
  const file = env.STACK_ENV_FILE ?? path.join(path.resolve(REPO_ROOT, env.STACK_DIR || '.stack'), 'env');
  const fromFile: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
      if (match) fromFile[match[1]!] = match[2]!;
    }
  }
  return (name) => env[name] || fromFile[name] || DEFAULTS[name];
}

/** A setting the tool cannot run without, named when missing. */
export function required(get: (name: string) => string | undefined, name: string): string {
  const value = get(name);
  if (!value) throw new UsageError(`${name} is not set (export it, or start the local stack so .stack/env holds it)`);
  return value;
}

/** A mistake of the caller's (bad flag, missing setting): printed without a stack trace, exit code 64. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--name value` / `--name=value` flags and bare switches; anything else is refused. */
export function parseFlags(
  args: string[],
  known: { values: string[]; switches: string[] },
): { values: Map<string, string[]>; switches: Set<string> } {
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const name = flag.replace(/^--/, '');
    if (!flag.startsWith('--')) throw new UsageError(`unexpected argument "${args[i]}"`);
    if (known.switches.includes(name) && inline === undefined) {
      switches.add(name);
    } else if (known.values.includes(name)) {
      const value = inline ?? args[++i];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      values.set(name, [...(values.get(name) ?? []), value]);
    } else {
      throw new UsageError(`unknown option ${flag}`);
    }
  }
  return { values, switches };
}

/** A quiet logger for the tools: they print their own lines, and only errors of the shared code show. */
export const TOOL_LOG_LEVEL = 'error';

/**
 * A tool's entry point: runs the named subcommand with the rest of the arguments and sets the exit
 * code (64 for a caller's mistake, with the usage; 1 for any other failure, with `describe`'s text).
 */
export function runCommands(
  tool: string,
  usage: string,
  commands: Record<string, (args: string[]) => Promise<number>>,
  describe: (err: unknown) => string = (err) => (err instanceof Error ? err.message : String(err)),
): void {
  const [command, ...rest] = process.argv.slice(2);
  const run = async (): Promise<number> => {
    if (command === undefined || command === 'help' || command === '--help') {
      console.log(usage);
      return command === undefined ? 64 : 0;
    }
    const handler = Object.hasOwn(commands, command) ? commands[command] : undefined;
    if (!handler) throw new UsageError(`unknown command "${command}"`);
    return handler(rest);
  };
  run().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`${tool} failed: ${describe(err)}`);
      if (err instanceof UsageError) console.error(usage);
      process.exitCode = err instanceof UsageError ? 64 : 1;
    },
  );
}

/**
 * `npm run test:mutation:changed`: StrykerJS over the mutated files (stryker.config.json's `mutate`) that
 * this change touched, against origin/main when HEAD is not on it, else against the previous commit
 * (MUTATION_BASE overrides). A whole run of every mutated file takes hours on 2 cores (many are
 * covered by integration tests only), so CI measures what changed. The committed incremental file
 * (`stryker-incremental.json`) is copied to reports/ first: mutants of an unchanged line under
 * unchanged tests keep their recorded result, and the committed file is never rewritten by CI.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './settings.js';

const COMMITTED_INCREMENTAL = 'stryker-incremental.json';
const RUN_INCREMENTAL = 'reports/mutation/stryker-incremental.json';
const BUDGET_MINUTES = Number(process.env.MUTATION_BUDGET_MINUTES ?? 10);

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

function succeeds(...args: string[]): boolean {
  return spawnSync('git', args, { cwd: REPO_ROOT, stdio: 'ignore' }).status === 0;
}

/** origin/main's merge base when HEAD is not on origin/main, else the previous commit; undefined with neither. */
function baseCommit(): string | undefined {
  if (process.env.MUTATION_BASE) return process.env.MUTATION_BASE;
  if (succeeds('rev-parse', '--verify', '--quiet', 'origin/main')) {
    const base = git('merge-base', 'HEAD', 'origin/main');
    if (base !== git('rev-parse', 'HEAD')) return base;
  }
  return succeeds('rev-parse', '--verify', '--quiet', 'HEAD~1') ? 'HEAD~1' : undefined;
}

function main(): number {
  const config = JSON.parse(readFileSync(path.join(REPO_ROOT, 'stryker.config.json'), 'utf8')) as { mutate: string[] };
  const base = baseCommit();
  if (!base) {
    console.log('mutation testing: no commit to compare with; not run');
    return 0;
  }
  // Committed changes since the base, and the work tree's own.
  const changed = new Set([...git('diff', '--name-only', base, 'HEAD').split('\n'), ...git('diff', '--name-only', 'HEAD').split('\n')]);
  const files = [...changed]
    .filter((f) => existsSync(path.join(REPO_ROOT, f)) && config.mutate.some((pattern) => path.matchesGlob(f, pattern)))
    .sort();
  if (files.length === 0) {
    console.log(`mutation testing: no mutated file changed since ${base}; not run`);
    return 0;
  }
  console.log(`mutation testing of the ${files.length} mutated file(s) changed since ${base}: ${files.join(', ')}`);
  const args = ['run', '--mutate', files.join(',')];
  if (existsSync(path.join(REPO_ROOT, COMMITTED_INCREMENTAL))) {
    mkdirSync(path.join(REPO_ROOT, path.dirname(RUN_INCREMENTAL)), { recursive: true });
    copyFileSync(path.join(REPO_ROOT, COMMITTED_INCREMENTAL), path.join(REPO_ROOT, RUN_INCREMENTAL));
    args.push('--incremental', '--incrementalFile', RUN_INCREMENTAL);
  }
  const run = spawnSync(path.join(REPO_ROOT, 'node_modules/.bin/stryker'), args, {
    cwd: REPO_ROOT,
    stdio: 'inherit',
    timeout: BUDGET_MINUTES * 60_000,
    killSignal: 'SIGKILL',
    // The sandbox has no .stack/: the integration tests find the running stack through its env file.
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: 'tsconfig.stryker.json',
      STACK_ENV_FILE: process.env.STACK_ENV_FILE ?? path.join(REPO_ROOT, '.stack', 'env'),
    },
  });
  if (run.error && (run.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    // A change to a file only integration tests cover can take longer than CI can wait: say so loudly,
    // and leave the measure to `npm run test:mutation -- --mutate <files>` on the developer's machine.
    console.log(`mutation testing: NOT FINISHED within MUTATION_BUDGET_MINUTES (${BUDGET_MINUTES}); no score for ${files.join(', ')}`);
    return 0;
  }
  return run.status ?? 1;
}

process.exitCode = main();

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { paths, REPO_ROOT } from './settings.js';
import type { Stack } from './stack.js';
import { bold, red, green } from './ui.js';

export interface StepResult {
  name: string;
  exitCode: number;
  passed: number;
  failed: number;
  counted: boolean;
}

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/**
 * Reads the closing counts a runner prints: node's test runner (`ℹ pass N` with the spec reporter,
 * `# pass N` with TAP) and Playwright (`N passed`, `N failed`, `N flaky` — a flaky test passed on retry).
 */
export function parseCounts(output: string): { passed: number; failed: number; counted: boolean } {
  const text = output.replace(ANSI, '');
  const last = (re: RegExp): number | undefined => {
    const all = [...text.matchAll(re)];
    const m = all[all.length - 1];
    return m ? Number(m[1]) : undefined;
  };
  const nodePass = last(/^[ℹ#]\s*pass (\d+)\s*$/gmu);
  const nodeFail = last(/^[ℹ#]\s*fail (\d+)\s*$/gmu);
  if (nodePass !== undefined || nodeFail !== undefined) {
    return { passed: nodePass ?? 0, failed: nodeFail ?? 0, counted: true };
  }
  const pwPass = last(/^\s*(\d+) passed\b/gm);
  const pwFail = last(/^\s*(\d+) failed\b/gm);
  const pwFlaky = last(/^\s*(\d+) flaky\b/gm);
  if (pwPass !== undefined || pwFail !== undefined || pwFlaky !== undefined) {
    return { passed: (pwPass ?? 0) + (pwFlaky ?? 0), failed: pwFail ?? 0, counted: true };
  }
  return { passed: 0, failed: 0, counted: false };
}

/** Runs one step with its output shown as it comes and kept for the counts. */
function runStep(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<StepResult> {
  console.log(bold(`\n▶ ${name}: ${command} ${args.join(' ')}`));
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const forward = (target: NodeJS.WriteStream) => (chunk: Buffer) => {
      output += chunk.toString('utf8');
      target.write(chunk);
    };
    child.stdout.on('data', forward(process.stdout));
    child.stderr.on('data', forward(process.stderr));
    child.once('error', (err) => {
      console.error(red(`${name}: ${err.message}`));
      resolve({ name, exitCode: 1, passed: 0, failed: 0, counted: false });
    });
    child.once('close', (code) => {
      resolve({ name, exitCode: code ?? 1, ...parseCounts(output) });
    });
  });
}

/**
 * Further suites, each run when package.json defines it. The ones that stop components or load the
 * stack come last, so they never run beside tests that need every component up.
 */
const OPTIONAL_STEPS: Array<[script: string, name: string]> = [
  ['pact:verify', 'contracts (Pact)'],
  // CI only (CI=true, as .ci/run sets): StrykerJS over the mutated files this change touched.
  ['test:mutation:changed', 'mutation testing of the changed files'],
  ['test:e2e', 'end-to-end tests'],
  ['test:reliability', 'reliability tests'],
  ['test:faults', 'fault tests'],
  // Starts a second stack of its own with replicas on other ports, beside (never on) this one.
  ['test:replicas', 'replica tests'],
];

function scripts(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  return pkg.scripts ?? {};
}

/**
 * `npm test`: runs the unit suite (no component needed), brings the stack up if needed, runs every
 * other suite in turn (the fault, end-to-end and reliability tests, which stop and start components,
 * last and alone), stops what it started, and sums up honestly. Each suite's files have their own
 * suffix (`*.unit.ts`, `*.test.ts`, `*.pact.ts`, `*.spec.ts`, …), so no test runs twice.
 */
export async function runTests(stack: Stack): Promise<number> {
  let started: string[] = [];
  let exitCode = 0;
  const results: StepResult[] = [];
  const available = scripts();
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  // The unit suite needs no component: it runs first, before the stack, and a broken rule shows in seconds.
  results.push(await runStep('unit tests', npm, ['run', '--silent', 'test:unit'], process.env));
  try {
    console.log(bold('\n▶ stack: making sure every component runs'));
    started = await stack.up();
    const env = { ...process.env, STACK_ENV_FILE: paths(stack.settings).env };
    results.push(await runStep('integration tests', npm, ['run', '--silent', 'test:integration'], env));
    if (existsSync(path.join(REPO_ROOT, 'playwright.config.ts'))) {
      results.push(await runStep('scenarios (Playwright)', 'npx', ['playwright', 'test'], env));
    } else {
      console.log('no playwright.config.ts yet: scenario step not run');
    }
    for (const [script, name] of OPTIONAL_STEPS) {
      if (script === 'test:mutation:changed' && !process.env.CI) continue;
      if (available[script]) results.push(await runStep(name, npm, ['run', '--silent', script], env));
    }
  } finally {
    if (started.length) {
      console.log(bold(`\n▶ stack: stopping what this run started (${started.join(', ')})`));
      await stack.stopAll(started);
      if (!(await stack.anyServiceAnswers())) rmSync(paths(stack.settings).env, { force: true });
    }
  }
  let passed = 0;
  let failed = 0;
  console.log('');
  for (const r of results) {
    // A step that failed without a count of failures (it crashed, or found no tests) still counts once.
    const stepFailed = r.exitCode !== 0 ? Math.max(r.failed, 1) : r.failed;
    passed += r.passed;
    failed += stepFailed;
    if (r.exitCode !== 0) exitCode = 1;
    const counts = r.counted ? `${r.passed} passed, ${r.failed} failed` : 'no counts printed';
    console.log(`${r.exitCode === 0 ? green('✔') : red('✖')} ${r.name}: ${counts} (exit ${r.exitCode})`);
  }
  console.log(`test: ${passed} passed, ${failed} failed`);
  return exitCode;
}

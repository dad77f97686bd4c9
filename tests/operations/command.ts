import { execFile } from 'node:child_process';
import { REPO_ROOT, stackEnvFile } from '../support/stack-env.js';
import type { ToolRun } from './run-tool.js';

/**
 * `npm run <script> -- <args>` as a merchant's engineer types it, against the test's stack (its
 * `.stack/env`), with `env` added to the environment (a variable there wins over the env file).
 */
export function runCommand(
  script: 'order' | 'shopify',
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 90_000,
): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', script, '--', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, STACK_ENV_FILE: stackEnvFile(), ...env }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

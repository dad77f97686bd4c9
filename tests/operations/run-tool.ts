import { execFile } from 'node:child_process';
import { REPO_ROOT, stackEnvFile } from '../support/stack-env.js';

export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs an operations command as a merchant's engineer would (`npm run <script> -- …`) against the test's stack. */
export function runTool(script: 'dlq' | 'reconcile', args: string[], timeoutMs = 90_000): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', script, '--', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, STACK_ENV_FILE: stackEnvFile() }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

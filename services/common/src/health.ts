import express, { type Router } from 'express';

export type HealthCheck = () => Promise<unknown>;

const CHECK_TIMEOUT_MS = 1500;

async function runCheck(check: HealthCheck): Promise<{ status: 'up' | 'down'; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'up' };
  } catch (err) {
    return { status: 'down', error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/health/live` says the process runs; `/health/ready` is 200 only when every dependency in
 * `checks` answers. `degradable` dependencies are reported but do not gate readiness: the service
 * keeps working without them (a fail-open cache, say), so taking it out of rotation would hurt.
 */
export function healthRouter(
  checks: Record<string, HealthCheck>,
  isShuttingDown: () => boolean = () => false,
  degradable: Record<string, HealthCheck> = {},
): Router {
  const router = express.Router();
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'up' });
  });
  router.get('/health/ready', async (_req, res) => {
    const all = { ...checks, ...degradable };
    const names = Object.keys(all);
    const results = await Promise.all(names.map((name) => runCheck(all[name]!)));
    const dependencies = Object.fromEntries(
      names.map((name, i) => [name, name in degradable ? { ...results[i], critical: false } : results[i]]),
    );
    const ready = !isShuttingDown() && names.every((name, i) => name in degradable || results[i]!.status === 'up');
    res.status(ready ? 200 : 503).json({ status: ready ? 'up' : 'down', shuttingDown: isShuttingDown(), dependencies });
  });
  return router;
}

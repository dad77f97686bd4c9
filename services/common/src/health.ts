import express, { type Router } from 'express';
import type { Logger } from './logger.js';

export type HealthCheck = () => Promise<unknown>;

const CHECK_TIMEOUT_MS = 1500;

/**
 * What `/health/ready` says of a dependency: a fixed vocabulary, never the error's own text (which
 * can name hosts, users or internal addresses to anyone who can reach the probe). The detail goes
 * to the log, once per change.
 */
export type DependencyStatus = { status: 'up' } | { status: 'down'; reason: 'timeout' | 'error' };

class CheckTimeout extends Error {}

async function runCheck(check: HealthCheck): Promise<{ result: DependencyStatus; detail?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new CheckTimeout(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { result: { status: 'up' } };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { result: { status: 'down', reason: err instanceof CheckTimeout ? 'timeout' : 'error' }, detail };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `/health/live` says the process runs; `/health/ready` is 200 only when every dependency in
 * `checks` answers. `degradable` dependencies are reported but do not gate readiness: the service
 * keeps working without them (a fail-open cache, say), so taking it out of rotation would hurt.
 * A dependency's failure is logged (with its error) when it starts or its error changes, and its
 * recovery once; the answer carries only `up`, or `down` with a reason of `timeout` or `error`.
 */
export function healthRouter(
  checks: Record<string, HealthCheck>,
  isShuttingDown: () => boolean = () => false,
  degradable: Record<string, HealthCheck> = {},
  logger?: Logger,
): Router {
  const router = express.Router();
  /** The last detail logged per dependency (undefined while up), so a probe every few seconds logs only changes. */
  const lastDetail = new Map<string, string | undefined>();
  const remember = (name: string, detail: string | undefined) => {
    if (lastDetail.get(name) === detail) return;
    const wasDown = lastDetail.get(name) !== undefined;
    lastDetail.set(name, detail);
    if (detail !== undefined) logger?.warn(`readiness: ${name} is down: ${detail}`, { event: 'health.dependency.down', dependency: name });
    else if (wasDown) logger?.info(`readiness: ${name} is up again`, { event: 'health.dependency.up', dependency: name });
  };
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'up' });
  });
  router.get('/health/ready', async (_req, res) => {
    const all = { ...checks, ...degradable };
    const names = Object.keys(all);
    const outcomes = await Promise.all(names.map((name) => runCheck(all[name]!)));
    names.forEach((name, i) => remember(name, outcomes[i]!.detail));
    const dependencies = Object.fromEntries(
      names.map((name, i) => [name, name in degradable ? { ...outcomes[i]!.result, critical: false } : outcomes[i]!.result]),
    );
    const ready = !isShuttingDown() && names.every((name, i) => name in degradable || outcomes[i]!.result.status === 'up');
    res.status(ready ? 200 : 503).json({ status: ready ? 'up' : 'down', shuttingDown: isShuttingDown(), dependencies });
  });
  return router;
}

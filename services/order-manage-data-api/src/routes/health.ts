import express, { type Router } from 'express';
import type { HealthCheck } from '@oms/common';

const CHECK_TIMEOUT_MS = 1_500;

async function probe(check: HealthCheck): Promise<{ status: 'up' | 'down'; error?: string }> {
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
 * Like @oms/common's health router, with one difference: Kafka is reported but does not gate
 * readiness. The outbox exists so that orders are accepted while Kafka is down (SPEC.md section
 * 1, step 4); failing readiness then would make the api answer DATA_API_UNAVAILABLE and refuse
 * the very orders the outbox is there to keep. PostgreSQL gates readiness: without it nothing works.
 * The body says `degraded` while a non-gating dependency is down.
 */
export function dataApiHealthRouter(
  gating: Record<string, HealthCheck>,
  informational: Record<string, HealthCheck>,
  isShuttingDown: () => boolean,
): Router {
  const router = express.Router();
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'up' });
  });
  router.get('/health/ready', async (_req, res) => {
    const entries = [
      ...Object.entries(gating).map(([name, check]) => ({ name, check, gates: true })),
      ...Object.entries(informational).map(([name, check]) => ({ name, check, gates: false })),
    ];
    const results = await Promise.all(entries.map((e) => probe(e.check)));
    const dependencies = Object.fromEntries(entries.map((e, i) => [e.name, { ...results[i], gatesReadiness: e.gates }]));
    const ready = !isShuttingDown() && entries.every((e, i) => !e.gates || results[i]!.status === 'up');
    const degraded = results.some((r) => r.status === 'down');
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? (degraded ? 'degraded' : 'up') : 'down', shuttingDown: isShuttingDown(), dependencies });
  });
  return router;
}

import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** What `url` answers, status and the start of the body, or why it did not: for a failed wait's message. */
export async function describeAnswer(url: string, timeoutMs = 2000): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return `HTTP ${res.status} ${(await res.text()).slice(0, 600)}`;
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `no answer: ${err instanceof Error ? err.message : String(err)}${cause}`;
  }
}

/** Redis answers PING with +PONG: enough to know a server (not just any listener) is there. */
export function redisPing(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG') || answer.startsWith('-NOAUTH'));
    });
    socket.once('error', () => done(false));
  });
}

export class DeadlineError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} was not ready within ${Math.round(ms / 1000)} s`);
    this.name = 'DeadlineError';
  }
}

/**
 * Polls `check` until it is true. `stillRunning` lets a wait end at once when the process it waits
 * for has already died, instead of sitting out the whole deadline.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  options: { deadlineMs: number; intervalMs?: number; stillRunning?: () => boolean },
): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await check()) return;
    if (options.stillRunning && !options.stillRunning()) throw new Error(`${what}: the process exited while starting`);
    if (Date.now() - start > options.deadlineMs) throw new DeadlineError(what, options.deadlineMs);
    await sleep(options.intervalMs ?? 500);
  }
}

/** Every outbound call has a deadline: a hung peer must never hang us. */
export async function fetchWithTimeout(url: string, init: RequestInit & { timeoutMs: number }): Promise<Response> {
  const { timeoutMs, ...rest } = init;
  return fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs) });
}

export function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

/** A point in time that every step of one request shares, so their timeouts add up to one budget. */
export interface Deadline {
  remainingMs(): number;
}

export function deadlineIn(ms: number, now: () => number = performance.now.bind(performance)): Deadline {
  const end = now() + ms;
  return { remainingMs: () => Math.max(0, Math.floor(end - now())) };
}

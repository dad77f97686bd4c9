/**
 * The one polling helper of the test suites: wait for a state by asking again, never by sleeping a
 * guessed time. (A sleep stays only where a test paces load, or proves that nothing more happens.)
 */

/** Calls `check` until it returns without throwing and returns its value; after `timeoutMs` rethrows its last error. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** Polls until `check` returns something other than undefined or false and returns it; fails naming `what`. */
export function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  return eventually(
    async () => {
      const value = await check();
      if (value === undefined || value === false) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      return value;
    },
    timeoutMs,
    intervalMs,
  );
}

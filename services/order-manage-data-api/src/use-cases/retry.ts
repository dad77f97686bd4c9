import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryableTransactionError } from '../db/pool.js';

/**
 * Before another attempt of a transaction PostgreSQL aborted (a serialization failure or a deadlock:
 * neither should happen given the lock order), a short, jittered wait; any other error, or the last
 * attempt's, is rethrown.
 */
export async function backOffOrRethrow(err: unknown, attempt: number, maxAttempts: number): Promise<void> {
  if (!isRetryableTransactionError(err) || attempt >= maxAttempts) throw err;
  await sleep(10 * 2 ** attempt + Math.random() * 20);
}

import pg from 'pg';
import type { Logger } from '@oms/common';

export interface PoolOptions {
  databaseUrl: string;
  max?: number;
  statementTimeoutMs?: number;
  /** Names our sessions in pg_stat_activity. */
  applicationName?: string;
  logger: Logger;
}

/**
 * A PostgreSQL restart breaks every open connection. pg reports that as an 'error' event on the
 * pool (idle clients) or on a checked-out client; unhandled, either would crash the process. Both
 * are logged instead, the pool replaces broken clients, and readiness reports the outage.
 */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.databaseUrl,
    max: options.max ?? 10,
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 3_000,
    application_name: options.applicationName ?? 'order-manage-data-api',
    // A client sends each query without waiting for the answer to the one before, so a
    // transaction's BEGIN goes out with its first statement and COMMIT with its last.
    pipeline: true,
  });
  const onError = (err: Error) => options.logger.warn(`PostgreSQL connection error: ${err.message}`, { event: 'db.connection.error' });
  pool.on('error', onError);
  pool.on('connect', (client) => client.on('error', onError));
  return pool;
}

/** The SQLSTATE of a PostgreSQL error, or undefined for a connection-level failure. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function constraintOf(err: unknown): string | undefined {
  const constraint = (err as { constraint?: unknown } | null)?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

/** Serialization failures and deadlocks are resolved by running the transaction again. */
export function isRetryableTransactionError(err: unknown): boolean {
  const state = sqlState(err);
  return state === '40001' || state === '40P01';
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
const CONNECTION_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|connection error|Connection refused/i;

/**
 * The database cannot serve us right now: no connection, connection lost, server shutting down,
 * statement or lock timeout. Callers answer 503 so the caller retries later.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== undefined) return state.startsWith('08') || state.startsWith('57') || state === '55P03' || state === '53300';
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_ERRORS.has(code)) return true;
  return err instanceof Error && CONNECTION_MESSAGES.test(err.message);
}

export interface Transaction {
  /**
   * Runs the transaction's last statement and COMMIT in one round trip. If the statement fails,
   * PostgreSQL turns that COMMIT into a ROLLBACK, and the statement's error is thrown.
   */
  commitWith<R extends pg.QueryResultRow>(query: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/**
 * Runs `fn` in a transaction on its own client: COMMIT when it returns, ROLLBACK when it throws.
 * BEGIN is sent with the first statement `fn` issues, and `commitWith` sends the last with COMMIT.
 * A client whose connection failed (BEGIN, COMMIT or ROLLBACK could not run) is destroyed rather
 * than returned to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient, tx: Transaction) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  let ended = false;
  const control = async (sql: string) => {
    try {
      await client.query(sql);
    } catch (err) {
      if (sqlState(err) === undefined) broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  };
  const tx: Transaction = {
    async commitWith<R extends pg.QueryResultRow>(query: pg.QueryConfig) {
      ended = true;
      const [written, committed] = await Promise.allSettled([client.query<R>(query), control('COMMIT')]);
      if (written.status === 'rejected') throw written.reason;
      if (committed.status === 'rejected') throw committed.reason;
      return written.value;
    },
  };
  try {
    const [begun, ran] = await Promise.allSettled([control('BEGIN'), fn(client, tx)]);
    if (begun.status === 'rejected') throw begun.reason;
    if (ran.status === 'rejected') {
      if (!ended) await control('ROLLBACK').catch(() => undefined);
      throw ran.reason;
    }
    if (!ended) await control('COMMIT');
    return ran.value;
  } finally {
    client.release(broken ?? false);
  }
}

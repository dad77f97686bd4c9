import { Writable } from 'node:stream';
import { configure } from 'safe-stable-stringify';
import winston from 'winston';
import { currentContext } from './correlation.js';

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  level?: string;
  /** Values that must never be written (tokens, secrets); every occurrence is masked. */
  secrets?: Array<string | undefined>;
}

const REDACTED = '[REDACTED]';

function redactor(secrets: string[]) {
  const mask = (value: unknown): unknown => {
    if (typeof value === 'string') {
      // Almost no string holds a secret: looking first spares a split and a join per field and secret.
      return secrets.reduce((text, secret) => (text.includes(secret) ? text.split(secret).join(REDACTED) : text), value);
    }
    return value;
  };
  return winston.format((info) => {
    for (const key of Object.keys(info)) {
      (info as Record<string, unknown>)[key] = mask((info as Record<string, unknown>)[key]);
    }
    return info;
  })();
}

/** Where winston's transports read the finished line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');

const safeStringify = configure({ deterministic: false });
const bigintAsString = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);

/**
 * winston's json format, minus its cost per line: it configures safe-stable-stringify anew for every
 * line and always takes its replacer path. A line JSON.stringify can write (every line the services
 * log) is written by it, with the same output; one it refuses (a bigint, a cycle) falls back to
 * safe-stable-stringify exactly as winston's json format calls it.
 */
const jsonLine = winston.format((info) => {
  let line: string;
  try {
    line = JSON.stringify(info);
  } catch {
    line = safeStringify(info, bigintAsString) ?? '{}';
  }
  (info as unknown as Record<symbol, string>)[MESSAGE] = line;
  return info;
});

let pendingLines: string[] = [];
let flushScheduled = false;

function flushLines(): void {
  flushScheduled = false;
  if (pendingLines.length === 0) return;
  const text = pendingLines.join('');
  pendingLines = [];
  process.stdout.write(text);
}

// process.exit() and a crash still write what the last turn logged: 'exit' handlers run synchronously.
process.once('exit', flushLines);

/**
 * The lines one event-loop turn logs go to stdout in one write: each write is a system call, and
 * under load the services log several lines per order.
 */
const turnBatchedStdout = new Writable({
  decodeStrings: false,
  write(line: string, _encoding, done) {
    pendingLines.push(line);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushLines);
    }
    done();
  },
});

/**
 * JSON lines in the order docs/spec.md section 7 names: time, level, service, event, orderId,
 * correlationId, msg. The correlation id and order id come from the request's async context.
 */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = (options.secrets ?? []).filter((s): s is string => typeof s === 'string' && s.length >= 4);
  const shape = winston.format((info) => {
    const ctx = currentContext();
    const { level, message, event, orderId, correlationId, ...rest } = info as Record<string, unknown>;
    const ordered: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      service: options.service,
      event: event ?? 'log',
      orderId: orderId ?? ctx?.orderId,
      correlationId: correlationId ?? ctx?.correlationId,
      msg: message,
    };
    for (const [key, value] of Object.entries(rest)) {
      if (key !== 'service') ordered[key] = value;
    }
    return Object.assign(ordered, { [Symbol.for('level')]: level }) as typeof info;
  });
  return winston.createLogger({
    level: options.level ?? 'info',
    format: winston.format.combine(shape(), redactor(secrets), jsonLine()),
    transports: [new winston.transports.Stream({ stream: turnBatchedStdout })],
  });
}

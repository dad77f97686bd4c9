import { Writable } from 'node:stream';
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
 * The lines one event-loop turn logs go to stdout in one write. Each write is a system call, which
 * the profiles showed as the services' largest cost, and under load they log several lines per order.
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
 * JSON lines in the order SPEC.md section 7 names: time, level, service, event, orderId,
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
    format: winston.format.combine(shape(), redactor(secrets), winston.format.json({ deterministic: false })),
    transports: [new winston.transports.Stream({ stream: turnBatchedStdout })],
  });
}

import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import { z } from 'zod';
import type { Logger } from './logger.js';

/**
 * Bounds of every HTTP server (docs/spec.md section 11). Node's own defaults (a request may take 300 s,
 * its headers 60 s, connections are unlimited) let a few hundred slow senders of a 1 MiB body hold a
 * pod's memory; a Shopify delivery is abandoned after 5 s anyway, and internal calls take 4 s at most.
 */
export const HTTP_SERVER_BOUNDS = {
  /** The whole request, body included, must have arrived within this. */
  maxRequestTimeoutMs: 10_000,
  /** The request line and headers must have arrived within this. */
  maxHeadersTimeoutMs: 5_000,
  /** Open connections per process, idle keep-alive ones included: 256 bodies of 1 MiB fit a 512 Mi pod. */
  defaultMaxConnections: 256,
} as const;

/**
 * The variables every service reads for its server, within HTTP_SERVER_BOUNDS: spread them into a
 * config schema and pass the parsed config to `serve` as `http`. The request timeout is never below
 * the headers timeout's ceiling, which Node requires (headers within the request's time).
 */
export const httpServerSettings = {
  HTTP_REQUEST_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(HTTP_SERVER_BOUNDS.maxHeadersTimeoutMs)
    .max(HTTP_SERVER_BOUNDS.maxRequestTimeoutMs)
    .default(HTTP_SERVER_BOUNDS.maxRequestTimeoutMs),
  HTTP_HEADERS_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(500)
    .max(HTTP_SERVER_BOUNDS.maxHeadersTimeoutMs)
    .default(HTTP_SERVER_BOUNDS.maxHeadersTimeoutMs),
  HTTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(65_535).default(HTTP_SERVER_BOUNDS.defaultMaxConnections),
};

export type HttpServerSettings = {
  [K in keyof typeof httpServerSettings]?: number;
};

export interface ServeOptions {
  app: Express;
  port: number;
  host?: string;
  logger: Logger;
  /** Closed in order after the HTTP server has drained: consumers first, pools last. */
  closers?: Array<{ name: string; close: () => Promise<unknown> }>;
  shutdownTimeoutMs?: number;
  state: { shuttingDown: boolean };
  /** The server's bounds (a service passes its parsed config); each defaults to HTTP_SERVER_BOUNDS. */
  http?: HttpServerSettings;
}

/** A bound outside HTTP_SERVER_BOUNDS is a programming error: the config schema refuses it first. */
function bounded(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new RangeError(`${name} must be an integer from 1 to ${max}, got ${value}`);
  return value;
}

/** The HTTP server `serve` listens with: bounded request and headers times, and a connection cap. */
export function createBoundedServer(app: Express, settings: HttpServerSettings = {}, logger?: Logger): Server {
  const requestTimeout = bounded(
    'HTTP_REQUEST_TIMEOUT_MS',
    settings.HTTP_REQUEST_TIMEOUT_MS ?? HTTP_SERVER_BOUNDS.maxRequestTimeoutMs,
    HTTP_SERVER_BOUNDS.maxRequestTimeoutMs,
  );
  const headersTimeout = bounded(
    'HTTP_HEADERS_TIMEOUT_MS',
    settings.HTTP_HEADERS_TIMEOUT_MS ?? HTTP_SERVER_BOUNDS.maxHeadersTimeoutMs,
    Math.min(HTTP_SERVER_BOUNDS.maxHeadersTimeoutMs, requestTimeout),
  );
  const server = createServer(
    {
      requestTimeout,
      headersTimeout,
      // Node checks both timeouts on this period (30 s by default, which would stretch a 5 s bound to 35 s).
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
      keepAliveTimeout: 5_000,
    },
    app,
  );
  server.maxConnections = bounded(
    'HTTP_MAX_CONNECTIONS',
    settings.HTTP_MAX_CONNECTIONS ?? HTTP_SERVER_BOUNDS.defaultMaxConnections,
    65_535,
  );
  // Node closes a connection beyond the cap at once. The first refusal is logged when it happens,
  // later ones as one count a minute: a flood must not turn into a flood of log lines.
  let window: NodeJS.Timeout | undefined;
  let dropped = 0;
  const report = () => {
    if (dropped > 0) {
      logger?.warn(`refused ${dropped} more connection(s) beyond HTTP_MAX_CONNECTIONS=${server.maxConnections} in the last minute`, {
        event: 'http.connections.refused',
        dropped,
      });
    }
    dropped = 0;
    window = undefined;
  };
  server.on('drop', () => {
    if (window) {
      dropped += 1;
      return;
    }
    logger?.warn(`refused a connection beyond HTTP_MAX_CONNECTIONS=${server.maxConnections}`, {
      event: 'http.connections.refused',
      dropped: 1,
    });
    window = setTimeout(report, 60_000).unref();
  });
  return server;
}

/**
 * Listens, and on SIGTERM or SIGINT stops taking connections, lets in-flight requests finish,
 * closes the service's clients and exits. A second signal or the timeout forces the exit.
 */
export function serve(options: ServeOptions): Promise<Server> {
  const { app, port, host = '0.0.0.0', logger, closers = [], shutdownTimeoutMs = 10_000, state } = options;
  return new Promise((resolve, reject) => {
    const server = createBoundedServer(app, options.http, logger);
    server.on('error', reject);
    server.listen(port, host, () => {
      logger.info(`listening on ${host}:${port}`, { event: 'service.started', port });
      resolve(server);
    });

    const shutdown = async (signal: string) => {
      if (state.shuttingDown) {
        logger.warn(`second ${signal}: exiting now`, { event: 'service.stopped' });
        process.exit(1);
      }
      state.shuttingDown = true;
      logger.info(`${signal} received: draining`, { event: 'service.stopping' });
      const force = setTimeout(() => {
        logger.error('shutdown timed out: exiting', { event: 'service.stopped' });
        process.exit(1);
      }, shutdownTimeoutMs);
      force.unref();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeIdleConnections();
      });
      for (const closer of closers) {
        try {
          await closer.close();
        } catch (err) {
          logger.warn(`closing ${closer.name} failed: ${err instanceof Error ? err.message : String(err)}`, {
            event: 'service.stopping',
          });
        }
      }
      logger.info('stopped cleanly', { event: 'service.stopped' });
      process.exit(0);
    };
    // One listener per signal: a single SIGTERM must drain; only a repeated signal forces the exit.
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    process.on('SIGINT', () => void shutdown('SIGINT'));
  });
}

/** For mains: a configuration error is printed plainly and stops the process with status 78 (EX_CONFIG). */
export function exitOnStartupError(service: string, err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${service} failed to start: ${message}\n`);
  process.exit(err instanceof Error && err.name === 'ConfigError' ? 78 : 1);
}

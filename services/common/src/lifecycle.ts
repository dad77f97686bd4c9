import type { Server } from 'node:http';
import type { Express } from 'express';
import type { Logger } from './logger.js';

export interface ServeOptions {
  app: Express;
  port: number;
  host?: string;
  logger: Logger;
  /** Closed in order after the HTTP server has drained: consumers first, pools last. */
  closers?: Array<{ name: string; close: () => Promise<unknown> }>;
  shutdownTimeoutMs?: number;
  state: { shuttingDown: boolean };
}

/**
 * Listens, and on SIGTERM or SIGINT stops taking connections, lets in-flight requests finish,
 * closes the service's clients and exits. A second signal or the timeout forces the exit.
 */
export function serve(options: ServeOptions): Promise<Server> {
  const { app, port, host = '0.0.0.0', logger, closers = [], shutdownTimeoutMs = 10_000, state } = options;
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, () => {
      logger.info(`listening on ${host}:${port}`, { event: 'service.started', port });
      resolve(server);
    });
    server.on('error', reject);
    server.keepAliveTimeout = 5_000;

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

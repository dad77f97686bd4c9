import pg from 'pg';
import type { Logger } from '@oms/common';

export const OUTBOX_CHANNEL = 'outbox_event';

export interface OutboxListenerOptions {
  databaseUrl: string;
  logger: Logger;
  onNotify: () => void;
  maxReconnectDelayMs?: number;
  applicationName?: string;
}

/**
 * LISTEN needs a session of its own (a pooled client would lose it when released). When the
 * connection drops it reconnects with backoff; the relay's safety poll covers the gap, and every
 * (re)connect triggers one catch-up pass.
 */
export class OutboxListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(private readonly options: OutboxListenerOptions) {}

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      connectionTimeoutMillis: 3_000,
      keepAlive: true,
      application_name: this.options.applicationName ?? 'order-manage-data-api-outbox-listener',
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.failures += 1;
      if (this.failures === 1) {
        this.options.logger.warn(`outbox LISTEN connection lost${err ? `: ${err.message}` : ''}; reconnecting`, {
          event: 'outbox.listener.disconnected',
        });
      }
      const delay = Math.min(this.options.maxReconnectDelayMs ?? 10_000, 250 * 2 ** Math.min(this.failures, 6));
      this.retryTimer = setTimeout(() => void this.connect(), delay);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', () => this.options.onNotify());
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    } catch (err) {
      onLost(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.failures > 0) {
      this.options.logger.info('outbox LISTEN connection restored', { event: 'outbox.listener.connected' });
    }
    this.failures = 0;
    this.options.onNotify();
  }
}

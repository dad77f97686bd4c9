import { existsSync } from 'node:fs';
import path from 'node:path';
import { runningPid, startDetached, stopPid } from '../proc.js';
import { paths, REPO_ROOT, urls, type Settings } from '../settings.js';
import { httpOk } from '../wait.js';
import type { Component, ServiceName } from './types.js';

export function serviceMain(service: ServiceName): string {
  return path.join(REPO_ROOT, 'services', service, 'src', 'main.ts');
}

export function servicePort(settings: Settings, service: ServiceName): number {
  switch (service) {
    case 'order-manage-api':
      return settings.orderApiPort;
    case 'order-manage-data-api':
      return settings.dataApiPort;
    case 'order-stream-process':
      return settings.streamProcessPort;
  }
}

/** Each service's variables, named as in docs/design.md; the rest keep the services' defaults. */
export function serviceEnv(settings: Settings, service: ServiceName): Record<string, string> {
  const u = urls(settings);
  const common = { PORT: String(servicePort(settings, service)), LOG_LEVEL: settings.logLevel };
  switch (service) {
    case 'order-manage-api':
      return {
        ...common,
        DATA_API_URL: u.dataApi,
        INTERNAL_API_TOKEN: settings.internalApiToken,
        REDIS_URL: settings.redisUrl,
        WMS_BASE_URL: u.wiremock,
        WMS_API_KEY: settings.wmsApiKey,
        SHOPIFY_WEBHOOK_SECRET: settings.shopifyWebhookSecret,
      };
    case 'order-manage-data-api':
      return {
        ...common,
        DATABASE_URL: settings.databaseUrl,
        KAFKA_BROKERS: u.kafkaBrokers,
        INTERNAL_API_TOKEN: settings.internalApiToken,
        INVENTORY_TOPIC: settings.inventoryTopic,
      };
    case 'order-stream-process':
      return {
        ...common,
        KAFKA_BROKERS: u.kafkaBrokers,
        SHOPIFY_ADMIN_BASE_URL: u.wiremock,
        SHOPIFY_API_VERSION: settings.shopifyApiVersion,
        SHOPIFY_ACCESS_TOKEN: settings.shopifyAccessToken,
        INVENTORY_TOPIC: settings.inventoryTopic,
        DLQ_TOPIC: settings.dlqTopic,
        CONSUMER_GROUP: 'order-stream-process',
      };
  }
}

/**
 * Node with tsx as a loader, in one process: the pid in the pid file is the service itself, so a
 * SIGTERM reaches its graceful shutdown directly (tsx's CLI would put a relaying parent in between).
 */
export function serviceComponent(settings: Settings, service: ServiceName): Component {
  const main = serviceMain(service);
  const pidFile = path.join(paths(settings).pids, `${service}.pid`);
  const logFile = path.join(paths(settings).logs, `${service}.log`);
  const baseUrl = `http://${settings.host}:${servicePort(settings, service)}`;

  return {
    name: service,
    url: baseUrl,
    logFile,
    deadlineMs: 90_000,
    ready: () => httpOk(`${baseUrl}/health/ready`),
    pid: () => runningPid(pidFile, main),
    async prepare() {
      if (!existsSync(main)) throw new Error(`${path.relative(REPO_ROOT, main)} does not exist`);
    },
    async start() {
      return startDetached({
        name: service,
        command: process.execPath,
        // kafkajs 2.2.4 sets a negative timer while it polls, which Node 24 warns about on every poll.
        args: ['--disable-warning=TimeoutNegativeWarning', '--import', 'tsx', main],
        cwd: REPO_ROOT,
        env: { ...process.env, ...serviceEnv(settings, service) },
        logFile,
        pidFile,
      });
    },
    async stop() {
      const pid = runningPid(pidFile, main);
      // Longer than the services' own 10 s drain, so a clean shutdown is never cut short.
      if (pid) await stopPid(pid, 15_000);
    },
  };
}

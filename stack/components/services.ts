import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildOnce, serviceBundle, serviceSource } from '../build.js';
import { runningPid, startDetached, stopPid } from '../proc.js';
import { paths, REPO_ROOT, urls, type Settings } from '../settings.js';
import { describeAnswer, httpOk } from '../wait.js';
import { instanceName, type Component, type ServiceName } from './types.js';

/** What the stack runs: the service's bundle (`npm run build`, stack/build.ts). */
export function serviceMain(service: ServiceName): string {
  return serviceBundle(service);
}

function basePort(settings: Settings, service: ServiceName): number {
  switch (service) {
    case 'order-manage-api':
      return settings.orderApiPort;
    case 'order-manage-data-api':
      return settings.dataApiPort;
    case 'order-stream-process':
      return settings.streamProcessPort;
  }
}

/** Replica `index` (from 1) listens on the service's port + REPLICA_PORT_STEP × (index − 1). */
export function servicePort(settings: Settings, service: ServiceName, index = 1): number {
  return basePort(settings, service) + settings.replicaPortStep * (index - 1);
}

export function serviceUrl(settings: Settings, service: ServiceName, index = 1): string {
  return `http://${settings.host}:${servicePort(settings, service, index)}`;
}

/** Every replica's URL, replica 1 first. */
export function serviceUrls(settings: Settings, service: ServiceName): string[] {
  return Array.from({ length: settings.replicas[service] }, (_, i) => serviceUrl(settings, service, i + 1));
}

/** The variables among `names` that the environment sets (to something not empty). */
function fromEnvironment(names: string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
}

/**
 * Each service's variables, named as in docs/design.md; the rest keep the services' defaults.
 * Api replica n talks to data-api replica n (wrapping round when there are fewer data-apis), so
 * with two of each both data-apis, and both their outbox relays, take orders.
 */
export function serviceEnv(settings: Settings, service: ServiceName, index = 1): Record<string, string> {
  const u = urls(settings);
  const common = { PORT: String(servicePort(settings, service, index)), LOG_LEVEL: settings.logLevel };
  switch (service) {
    case 'order-manage-api':
      return {
        ...common,
        DATA_API_URL: serviceUrl(settings, 'order-manage-data-api', ((index - 1) % settings.replicas['order-manage-data-api']) + 1),
        INTERNAL_API_TOKEN: settings.internalApiToken,
        REDIS_URL: settings.redisUrl,
        WMS_BASE_URL: u.wiremock,
        WMS_API_KEY: settings.wmsApiKey,
        SHOPIFY_WEBHOOK_SECRET: settings.shopifyWebhookSecret,
        SHOPIFY_LOCATION_ID: settings.shopifyLocationId,
        // Only when set: unset, the api takes any shop's deliveries and answers refusals 4xx (the scenarios').
        ...fromEnvironment(['SHOPIFY_SHOP_DOMAIN', 'WEBHOOK_REFUSAL_STATUS']),
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
        // The confirm step reads the database's figures there; stream replica n asks data-api replica n.
        DATA_API_URL: serviceUrl(settings, 'order-manage-data-api', ((index - 1) % settings.replicas['order-manage-data-api']) + 1),
        INTERNAL_API_TOKEN: settings.internalApiToken,
      };
  }
}

/**
 * How every service's Node runs, here and in the Dockerfile (which repeats them).
 * --max-semi-space-size=8: a smaller young generation keeps each service's RSS within its target,
 * at no measurable CPU cost.
 * --heap-growing-percent=25: the old generation is collected once it is a quarter over what the last
 * collection kept, instead of V8's up-to-fourfold growth, whose freed pages stay mapped.
 * --enable-source-maps: stack traces name the TypeScript files and lines (dist/<service>/main.js.map).
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=25', '--enable-source-maps'] as const;

function nodeArgsFromEnv(): string[] {
  return (process.env.STACK_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

/**
 * Node running the service's bundle, built from the current sources before the first service starts
 * (stack/build.ts, well under a second): no tsx loader thread, no transpiling at start. The pid in
 * the pid file is the service itself, so a SIGTERM reaches its graceful shutdown directly.
 */
export function serviceComponent(settings: Settings, service: ServiceName, index = 1): Component {
  const main = serviceMain(service);
  const source = serviceSource(service);
  const name = instanceName(service, index);
  const pidFile = path.join(paths(settings).pids, `${name}.pid`);
  const logFile = path.join(paths(settings).logs, `${name}.log`);
  const baseUrl = serviceUrl(settings, service, index);

  return {
    name,
    url: baseUrl,
    logFile,
    deadlineMs: 90_000,
    ready: () => httpOk(`${baseUrl}/health/ready`),
    notReadyBecause: () => describeAnswer(`${baseUrl}/health/ready`),
    // A service started before the stack ran bundles (node --import tsx …/src/main.ts) is still ours.
    pid: () => runningPid(pidFile, main) ?? runningPid(pidFile, source),
    async prepare() {
      if (!existsSync(source)) throw new Error(`${path.relative(REPO_ROOT, source)} does not exist`);
      await buildOnce();
    },
    async start() {
      return startDetached({
        name,
        command: process.execPath,
        // STACK_NODE_ARGS passes flags Node refuses in NODE_OPTIONS, such as --cpu-prof for profiling.
        // It comes after the services' own flags, so that it can override one (Node takes the last).
        args: [...SERVICE_NODE_FLAGS, ...nodeArgsFromEnv(), main],
        cwd: REPO_ROOT,
        env: { ...process.env, ...serviceEnv(settings, service, index) },
        logFile,
        pidFile,
      });
    },
    async stop() {
      const pid = runningPid(pidFile, main) ?? runningPid(pidFile, source);
      // Longer than the services' own 10 s drain, so a clean shutdown is never cut short.
      if (pid) await stopPid(pid, 15_000);
    },
  };
}

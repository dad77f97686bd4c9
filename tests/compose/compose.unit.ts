/**
 * No Docker engine runs where these tests run, so docker-compose.yml is checked as data: every
 * service gets a configuration its own configSchema accepts, and every URL points at a service
 * and port that exist.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '@oms/common';
import { parse } from 'yaml';
import { DEMO_LOCATION_ID } from '../../db/catalogue.js';
import { DB_CLI_BUNDLE } from '../../stack/build.js';
import { SERVICE_NODE_FLAGS } from '../../stack/components/services.js';
import { configSchema as apiSchema } from '../../services/order-manage-api/src/config.js';
import { configSchema as dataApiSchema } from '../../services/order-manage-data-api/src/config.js';
import { configSchema as streamSchema } from '../../services/order-stream-process/src/config.js';
import { REPO_ROOT } from '../support/stack-env.js';

interface ComposeService {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  command?: string[] | string;
  environment?: Record<string, string | number>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  restart?: string;
}

const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;

const SCHEMAS = {
  'order-manage-api': apiSchema,
  'order-manage-data-api': dataApiSchema,
  'order-stream-process': streamSchema,
} as const;
type AppService = keyof typeof SCHEMAS;
const APP_SERVICES = Object.keys(SCHEMAS) as AppService[];

/** What `docker compose` hands the container: `${VAR:-default}` resolved with `shell` (an empty environment by default). */
function resolvedEnv(name: string, shell: Record<string, string> = {}): Record<string, string> {
  const env = services[name]?.environment ?? {};
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [
      k,
      String(v).replace(/\$\{([A-Z0-9_]+):-([^}]*)\}/g, (_m, variable: string, fallback: string) => shell[variable] || fallback),
    ]),
  );
}

/** A published port as `[host address, host port]`: "127.0.0.1:5432:5432" → ['127.0.0.1', '5432'], "8080:8080" → ['0.0.0.0', '8080']. */
function published(mapping: string): [string, string] {
  const parts = mapping.split(':');
  return parts.length === 3 ? [parts[0]!, parts[1]!] : ['0.0.0.0', parts[0]!];
}

/** The container port a service publishes first ("host:container"). */
function containerPort(name: string): number {
  const mapping = services[name]?.ports?.[0];
  assert.ok(mapping, `${name} publishes a port`);
  return Number(mapping.split(':').pop());
}

function hostAndPort(url: string): [string, number] {
  const u = new URL(url);
  return [u.hostname, Number(u.port)];
}

describe('docker-compose.yml', () => {
  for (const name of APP_SERVICES) {
    it(`${name} gets an environment its configSchema accepts, and runs its own main`, () => {
      const env = resolvedEnv(name);
      const config = parseConfig(name, SCHEMAS[name], env) as { PORT: number };
      assert.equal(config.PORT, containerPort(name), 'it listens on the port it publishes');
      assert.equal(services[name]?.build?.args?.SERVICE, name, 'the image is built for this service');
    });
  }

  it('publishes the ports docs/spec.md names, every one but the api on 127.0.0.1 only', () => {
    const ports = Object.fromEntries(Object.entries(services).flatMap(([n, s]) => (s.ports ?? []).map((p) => [n, published(p).join(' ')])));
    assert.deepEqual(ports, {
      postgres: '127.0.0.1 5432',
      redis: '127.0.0.1 6379',
      kafka: '127.0.0.1 9092',
      wiremock: '127.0.0.1 8089',
      'order-manage-data-api': '127.0.0.1 8081',
      'order-manage-api': '0.0.0.0 8080',
      'order-stream-process': '127.0.0.1 8082',
    });
  });

  it('runs the services with NODE_ENV=development by default, and with NODE_ENV=production they refuse its demo secrets, naming each', () => {
    const expected: Record<AppService, string[]> = {
      'order-manage-api': ['INTERNAL_API_TOKEN', 'WMS_API_KEY', 'SHOPIFY_WEBHOOK_SECRET'],
      'order-manage-data-api': ['DATABASE_URL', 'INTERNAL_API_TOKEN'],
      'order-stream-process': ['SHOPIFY_ACCESS_TOKEN', 'INTERNAL_API_TOKEN'],
    };
    for (const name of APP_SERVICES) {
      assert.equal(resolvedEnv(name).NODE_ENV, 'development', name);
      assert.throws(
        () => parseConfig(name, SCHEMAS[name], resolvedEnv(name, { NODE_ENV: 'production' })),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.problems
            .map((p) => p.split(':')[0])
            .sort()
            .join() === expected[name].sort().join(),
        name,
      );
    }
  });

  for (const client of ['order-manage-api', 'order-stream-process']) {
    it(`points ${client} at the data-api, with the same internal token on both sides, and starts it once the data-api is healthy`, () => {
      const caller = resolvedEnv(client);
      const dataApi = resolvedEnv('order-manage-data-api');
      assert.deepEqual(hostAndPort(caller.DATA_API_URL!), ['order-manage-data-api', Number(dataApi.PORT)]);
      assert.equal(caller.INTERNAL_API_TOKEN, dataApi.INTERNAL_API_TOKEN);
      assert.equal(services[client]?.depends_on?.['order-manage-data-api']?.condition, 'service_healthy');
    });
  }

  it("gives the api the warehouse's Shopify location, the demo catalogue's unless overridden", () => {
    assert.equal(resolvedEnv('order-manage-api').SHOPIFY_LOCATION_ID, String(DEMO_LOCATION_ID));
  });

  it('points both outside systems at WireMock, which serves the committed mappings', () => {
    const wiremockPort = containerPort('wiremock');
    assert.deepEqual(hostAndPort(resolvedEnv('order-manage-api').WMS_BASE_URL!), ['wiremock', wiremockPort]);
    assert.deepEqual(hostAndPort(resolvedEnv('order-stream-process').SHOPIFY_ADMIN_BASE_URL!), ['wiremock', wiremockPort]);
    assert.ok(services.wiremock?.volumes?.some((v) => v.startsWith('./wiremock/mappings:/home/wiremock/mappings')));
  });

  it('gives both Kafka clients a listener the broker advertises to containers', () => {
    const advertised = String(services.kafka?.environment?.KAFKA_ADVERTISED_LISTENERS)
      .split(',')
      .map((l) => l.split('://')[1]);
    for (const name of ['order-manage-data-api', 'order-stream-process']) {
      assert.ok(advertised.includes(resolvedEnv(name).KAFKA_BROKERS), `${name} uses an advertised listener`);
    }
    assert.equal(resolvedEnv('order-manage-data-api').INVENTORY_TOPIC, resolvedEnv('order-stream-process').INVENTORY_TOPIC);
  });

  it('creates both topics with 3 partitions before a Kafka client starts', () => {
    const script = ([] as string[]).concat(services['kafka-init']?.command ?? []).join('\n');
    assert.match(script, /for topic in inventory-updates inventory-updates\.dlq;/);
    assert.match(script, /--partitions 3/);
    assert.match(script, /--bootstrap-server kafka:29092/);
  });

  it('seeds the database the data-api uses, as the superuser, while the data-api connects as orders_app; the api reaches the same Redis', () => {
    const db = new URL(resolvedEnv('order-manage-data-api').DATABASE_URL!);
    const seed = new URL(resolvedEnv('seed').DATABASE_URL!);
    assert.deepEqual([seed.host, seed.pathname], [db.host, db.pathname]);
    assert.equal(seed.username, services.postgres?.environment?.POSTGRES_USER);
    assert.equal(db.username, 'orders_app');
    assert.equal(db.password, resolvedEnv('postgres').ORDERS_APP_PASSWORD);
    assert.equal(db.hostname, 'postgres');
    assert.equal(db.pathname, `/${services.postgres?.environment?.POSTGRES_DB}`);
    assert.equal(new URL(resolvedEnv('order-manage-api').REDIS_URL!).hostname, 'redis');
  });

  it('starts each service only after what it depends on is healthy or done', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
        const target = services[dep];
        assert.ok(target, `${name} depends on ${dep}, which exists`);
        if (condition === 'service_healthy') assert.ok(target.healthcheck, `${dep} has a healthcheck (${name} waits for it)`);
        else assert.equal(condition, 'service_completed_successfully', `${name} → ${dep}`);
        if (condition === 'service_completed_successfully') assert.equal(target.restart, 'no', `${dep} is a one-shot job`);
      }
    }
    assert.deepEqual(Object.keys(services['order-manage-data-api']?.depends_on ?? {}).sort(), ['kafka', 'kafka-init', 'postgres', 'seed']);
    assert.ok(services['order-manage-api']?.depends_on?.['order-manage-data-api']);
    for (const name of APP_SERVICES) assert.ok(services[name]?.healthcheck?.test.join(' ').includes('/health/ready'));
  });

  it("builds from a Dockerfile that runs the chosen service's bundle on Node 24, production dependencies only (patched as npm ci patches them), as a non-root user", () => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^FROM node:24-slim AS manifests$/m);
    assert.match(dockerfile, /^FROM manifests AS deps$/m);
    assert.match(dockerfile, /^RUN npm ci\b/m);
    const manifests = dockerfile.slice(0, dockerfile.search(/^FROM manifests AS deps$/m));
    assert.match(manifests, /^COPY patches \.\/patches$/m, "every install's postinstall (patch-package) finds patches/");
    assert.match(dockerfile, /^RUN npm run build$/m, 'a stage builds the bundles');
    const runtime = dockerfile.slice(dockerfile.search(/^FROM node:24-slim AS runtime$/m));
    assert.ok(runtime.startsWith('FROM'), 'a runtime stage on node:24-slim');
    const copiedFrom = [...runtime.matchAll(/^COPY --from=(\S+)/gm)].map((m) => m[1]);
    assert.deepEqual(copiedFrom, ['prod-deps', 'build'], 'the runtime copies the production install and the build output, nothing else');
    assert.match(runtime, /^COPY --from=build .*\/app\/dist \.\/dist$/m);
    assert.match(
      dockerfile,
      /^FROM manifests AS prod-deps$(?:\n(?!FROM).*)*\nRUN npm ci --omit=dev\b/m,
      'the production install omits dev dependencies',
    );
    assert.match(runtime, /^USER node$/m);
    assert.ok(
      runtime.includes(`exec node ${SERVICE_NODE_FLAGS.join(' ')} dist/\${SERVICE}/main.js"]`),
      'the image runs each service with the Node flags the local stack uses',
    );
  });

  it("seeds with the image's bundle of the database CLI", () => {
    const command = ([] as string[]).concat(services.seed?.command ?? []);
    assert.deepEqual(command, ['node', '--enable-source-maps', path.relative(REPO_ROOT, DB_CLI_BUNDLE), 'seed']);
  });
});

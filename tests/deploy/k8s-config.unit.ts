/**
 * deploy/k8s's environment kept in line with each service's zod config schema, as
 * tests/compose/compose.unit.ts does for docker-compose.yml: what the kubelet would hand each
 * container is parsed by the service's own parseConfig, and settings and secrets stay apart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '@oms/common';
import {
  APP_SERVICES,
  configMapData,
  containerPort,
  find,
  IMAGE_NODE_ENV,
  mainContainer,
  ofKind,
  OPERATOR_SECRET,
  OVERLAYS,
  plainEnv,
  rendered,
  resolvedEnv,
  SCHEMAS,
  SECRET_SETTINGS,
  secretData,
  secretsEnvExample,
  type Workload,
} from './manifests.js';

for (const overlay of OVERLAYS) {
  describe(`deploy/k8s ${overlay} overlay: configuration`, () => {
    const objects = rendered(overlay);
    const env = (service: (typeof APP_SERVICES)[number]) => resolvedEnv(objects, mainContainer(objects, service));

    for (const service of APP_SERVICES) {
      it(`${service}'s Deployment, with the operator's Secret and the image's NODE_ENV=production, gives it an environment its config schema accepts, and runs its own main`, () => {
        const resolved = env(service);
        assert.equal(resolved.NODE_ENV, undefined, "the manifests leave the image's NODE_ENV alone");
        const config = parseConfig(service, SCHEMAS[service], { ...plainEnv(resolved), NODE_ENV: IMAGE_NODE_ENV }) as { PORT: number };
        const container = mainContainer(objects, service);
        assert.equal(containerPort(container, 'http'), config.PORT, 'the container port is the one the service listens on');
        assert.equal(resolved.SERVICE?.value, service, 'the shared image starts this service');
      });

      it(`${service} is given only settings its schema reads (a misspelt key would be silently ignored)`, () => {
        const known = new Set([...Object.keys(SCHEMAS[service].shape), 'SERVICE']);
        const unknown = Object.keys(env(service)).filter((k) => !known.has(k));
        assert.deepEqual(unknown, []);
      });
    }

    it('every credential reaches a service from the Secret, never from a ConfigMap or a literal', () => {
      for (const service of APP_SERVICES) {
        for (const [name, v] of Object.entries(env(service))) {
          if (SECRET_SETTINGS.includes(name)) assert.equal(v.source, 'secret', `${service} ${name}`);
        }
      }
      for (const job of ofKind<Workload>(objects, 'Job')) {
        for (const container of job.spec.template.spec.containers) {
          for (const [name, v] of Object.entries(resolvedEnv(objects, container))) {
            if (SECRET_SETTINGS.includes(name)) assert.equal(v.source, 'secret', `Job ${job.metadata.name} ${name}`);
          }
        }
      }
    });

    it("no key or value of the operator's Secret appears in a ConfigMap, and no ConfigMap URL carries a password", () => {
      const secrets = Object.entries(secretData(objects, OPERATOR_SECRET));
      for (const cm of ofKind(objects, 'ConfigMap')) {
        for (const [key, value] of Object.entries(configMapData(objects, cm.metadata.name))) {
          assert.ok(!SECRET_SETTINGS.includes(key), `ConfigMap ${cm.metadata.name} holds ${key}`);
          for (const [secretKey, secretValue] of secrets) {
            assert.ok(!value.includes(secretValue), `ConfigMap ${cm.metadata.name} ${key} contains Secret ${secretKey}'s value`);
          }
          if (/^[a-z][a-z0-9+.-]*:\/\//.test(value)) assert.equal(new URL(value).password, '', `${cm.metadata.name} ${key}`);
        }
      }
    });

    it('every Secret key is used by some workload, and each workload gets only the secrets it needs', () => {
      const used = new Set<string>();
      for (const w of ofKind<Workload>(objects, 'Deployment').concat(ofKind<Workload>(objects, 'Job'))) {
        for (const container of w.spec.template.spec.containers) {
          assert.ok(!container.envFrom?.some((f) => f.secretRef), `${w.metadata.name} picks secrets one by one, not the whole Secret`);
          for (const e of container.env ?? []) if (e.valueFrom?.secretKeyRef) used.add(e.valueFrom.secretKeyRef.key);
        }
      }
      for (const key of [...Object.keys(secretData(objects, OPERATOR_SECRET)), ...secretsEnvExample().optional]) {
        assert.ok(used.has(key), `Secret key ${key} is used`);
      }
      // The stream processor, with secrets.env.example's choice: the client-credentials pair, and the internal token it reads the database's stock with.
      assert.deepEqual(
        Object.keys(env('order-stream-process'))
          .filter((k) => SECRET_SETTINGS.includes(k))
          .sort(),
        ['INTERNAL_API_TOKEN', 'SHOPIFY_CLIENT_ID', 'SHOPIFY_CLIENT_SECRET'],
      );
    });

    for (const client of ['order-manage-api', 'order-stream-process'] as const) {
      it(`points ${client} at the data-api Service and port, with the same internal token on both sides`, () => {
        const caller = plainEnv(env(client));
        const dataApi = plainEnv(env('order-manage-data-api'));
        const url = new URL(caller.DATA_API_URL!);
        const service = find(objects, 'Service', url.hostname) as unknown as { spec: { ports: Array<{ port: number }> } };
        assert.equal(url.hostname, 'order-manage-data-api');
        assert.equal(service.spec.ports[0]!.port, Number(url.port));
        assert.equal(Number(url.port), Number(dataApi.PORT));
        assert.equal(caller.INTERNAL_API_TOKEN, dataApi.INTERNAL_API_TOKEN);
      });
    }

    it('both Kafka clients and the topic Job use the same brokers and topics', () => {
      const dataApi = plainEnv(env('order-manage-data-api'));
      const stream = plainEnv(env('order-stream-process'));
      const topics = plainEnv(resolvedEnv(objects, find<Workload>(objects, 'Job', 'kafka-topics').spec.template.spec.containers[0]!));
      assert.equal(dataApi.KAFKA_BROKERS, stream.KAFKA_BROKERS);
      assert.equal(topics.KAFKA_BROKERS, stream.KAFKA_BROKERS);
      assert.equal(dataApi.INVENTORY_TOPIC, stream.INVENTORY_TOPIC);
      assert.equal(topics.INVENTORY_TOPIC, stream.INVENTORY_TOPIC);
      assert.equal(topics.DLQ_TOPIC, stream.DLQ_TOPIC);
    });

    it('a Kafka outage cannot take the data-api out of its Service (the outbox holds the events)', () => {
      const config = parseConfig('order-manage-data-api', SCHEMAS['order-manage-data-api'], plainEnv(env('order-manage-data-api')));
      assert.equal(config.READINESS_REQUIRES_KAFKA, false);
    });

    it('the migration Job uses the database the data-api uses', () => {
      const job = find<Workload>(objects, 'Job', 'db-migrate').spec.template.spec.containers[0]!;
      const jobDb = job.env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef;
      const apiDb = mainContainer(objects, 'order-manage-data-api').env?.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef;
      assert.ok(jobDb);
      assert.deepEqual(jobDb, apiDb);
    });
  });
}

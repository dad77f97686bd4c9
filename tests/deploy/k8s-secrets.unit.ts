/**
 * deploy/k8s applies no placeholder Secret (docs/spec.md section 11): every workload reads the operator's
 * own Secret `order-intake`, created from a copy of secrets.env.example that git ignores, and a
 * placeholder left in it stops every service with NODE_ENV=production. Kafka's TLS and SASL settings
 * reach every Kafka client from the ConfigMaps, the password from that Secret.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, isDemoSecret, kafkaSecurity, parseConfig } from '@oms/common';
import { shopifyCredentials, type ShopifyCredentials } from '../../services/order-stream-process/src/clients/shopify-token.js';
import { REPO_ROOT } from '../support/stack-env.js';
import {
  APP_SERVICES,
  containersOf,
  find,
  IMAGE_NODE_ENV,
  type K8sObject,
  mainContainer,
  ofKind,
  OPERATOR_SECRET,
  operatorSecret,
  OVERLAYS,
  type Overlay,
  plainEnv,
  rendered,
  resolvedEnv,
  SCHEMAS,
  SECRET_SETTINGS,
  secretData,
  secretsEnvExample,
  SECRETS_ENV_EXAMPLE,
  withOperatorSecret,
  workloads,
  type Workload,
} from './manifests.js';

/** Every value of every Secret an overlay renders. */
function renderedSecretValues(objects: K8sObject[]): Array<[string, string]> {
  return ofKind(objects, 'Secret').flatMap((s) =>
    Object.entries(secretData(objects, s.metadata.name)).map(([k, v]) => [`${s.metadata.name}/${k}`, v] as [string, string]),
  );
}

/** The overlay with one ConfigMap's data changed, as an operator's edit of config.yaml would. */
function withConfigMap(objects: K8sObject[], name: string, data: Record<string, string>): K8sObject[] {
  return objects.map((o) =>
    o.kind === 'ConfigMap' && o.metadata.name === name ? { ...o, data: { ...(o as { data?: Record<string, string> }).data, ...data } } : o,
  );
}

const KAFKA_SASL = { KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'order-intake' };

describe('deploy/k8s: the Secret is the operator’s', () => {
  it('the image runs every pod with NODE_ENV=production, so the services refuse demo secrets there', () => {
    assert.equal(IMAGE_NODE_ENV, 'production');
  });

  for (const overlay of OVERLAYS) {
    it(`the ${overlay} overlay renders no Secret order-intake and no Secret with a placeholder or demo value`, () => {
      const objects = rendered(overlay);
      assert.ok(
        !objects.some((o) => o.kind === 'Secret' && o.metadata.name === OPERATOR_SECRET),
        'an apply would overwrite the real Secret',
      );
      for (const [key, value] of renderedSecretValues(objects))
        assert.ok(!isDemoSecret(value) && !value.includes('replace-me'), `${key} holds a placeholder`);
    });
  }

  it('a rendered Secret holding a placeholder is caught (the check above is not vacuous)', () => {
    const placeholder: K8sObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: OPERATOR_SECRET },
      stringData: { INTERNAL_API_TOKEN: 'replace-me-internal-token' },
    };
    const values = renderedSecretValues([...rendered('production'), placeholder]);
    assert.deepEqual(values, [['order-intake/INTERNAL_API_TOKEN', 'replace-me-internal-token']]);
    assert.ok(isDemoSecret(values[0]![1]));
  });

  it('secrets.env.example lists each key the workloads read from the Secret once, commenting out only keys read through an optional reference', () => {
    const { values, optional } = secretsEnvExample();
    for (const overlay of OVERLAYS) {
      const required = new Set<string>();
      const optionalRefs = new Set<string>();
      for (const w of workloads(rendered(overlay))) {
        for (const c of containersOf(w)) {
          for (const e of c.env ?? []) {
            const ref = e.valueFrom?.secretKeyRef;
            if (!ref) continue;
            assert.equal(ref.name, OPERATOR_SECRET, `${w.metadata.name} ${e.name}`);
            (ref.optional ? optionalRefs : required).add(ref.key);
          }
        }
      }
      for (const key of required) assert.ok(key in values, `${overlay}: ${key} is read without optional, so the example fills it in`);
      for (const key of optional)
        assert.ok(optionalRefs.has(key), `${overlay}: ${key} is commented out, so only an optional reference may read it`);
      assert.deepEqual([...Object.keys(values), ...optional].sort(), [...new Set([...required, ...optionalRefs])].sort(), overlay);
    }
    // Shopify's access: the example fills in the client-credentials pair, the static token is the commented-out alternative.
    assert.deepEqual([...optional].sort(), ['KAFKA_SASL_PASSWORD', 'SHOPIFY_ACCESS_TOKEN']);
    assert.deepEqual([...Object.keys(values), ...optional].sort(), [...SECRET_SETTINGS].sort());
  });

  it('git ignores the filled-in copy, secrets.env, and tracks the example', () => {
    const dir = path.dirname(SECRETS_ENV_EXAMPLE);
    const ignored = (file: string) => {
      try {
        execFileSync('git', ['check-ignore', '-q', path.join(dir, file)], { cwd: REPO_ROOT });
        return true;
      } catch {
        return false;
      }
    };
    assert.equal(ignored('secrets.env'), true);
    assert.equal(ignored('secrets.env.example'), false);
    assert.equal(ignored(path.join('..', 'staging', 'secrets.env')), true);
  });

  for (const service of APP_SERVICES) {
    it(`${service} refuses to start on secrets.env.example left as it is, naming each key and printing no URL`, () => {
      const objects = withOperatorSecret(rendered('production'), secretsEnvExample().values);
      const env = { ...plainEnv(resolvedEnv(objects, mainContainer(objects, service))), NODE_ENV: IMAGE_NODE_ENV };
      const secretVars = Object.keys(env).filter((k) => SECRET_SETTINGS.includes(k));
      assert.throws(
        () => parseConfig(service, SCHEMAS[service], env),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.deepEqual(err.problems.map((p) => p.split(':')[0]).sort(), secretVars.sort());
          assert.doesNotMatch(err.message, /orders-db-rw|orders-redis/);
          return true;
        },
      );
    });
  }
});

const SHOPIFY_KEYS = ['SHOPIFY_ACCESS_TOKEN', 'SHOPIFY_CLIENT_ID', 'SHOPIFY_CLIENT_SECRET'];

/** The operator's Secret, filled in, holding these of Shopify's credentials and no other. */
function secretWithShopify(shopify: Record<string, string>): Record<string, string> {
  return { ...Object.fromEntries(Object.entries(operatorSecret()).filter(([k]) => !SHOPIFY_KEYS.includes(k))), ...shopify };
}

/** What the stream processor's schema makes of its environment in the overlay with this Secret. */
function streamConfig(overlay: Overlay, secret: Record<string, string>): Record<string, unknown> {
  const objects = withOperatorSecret(rendered(overlay), secret);
  const env = plainEnv(resolvedEnv(objects, mainContainer(objects, 'order-stream-process')));
  return parseConfig('order-stream-process', SCHEMAS['order-stream-process'], { ...env, NODE_ENV: IMAGE_NODE_ENV });
}

describe('deploy/k8s: Shopify’s access, the client-credentials grant or a static token (docs/connect-a-store.md)', () => {
  const ways: Array<{ way: string; secret: Record<string, string>; credentials: ShopifyCredentials }> = [
    {
      way: 'the client ID and client secret',
      secret: { SHOPIFY_CLIENT_ID: '3f9c1a7e5b2d4c8e9a0b1c2d3e4f5a6b', SHOPIFY_CLIENT_SECRET: 'shpss_5e8d2c7a9b1f4e6d' },
      credentials: { clientId: '3f9c1a7e5b2d4c8e9a0b1c2d3e4f5a6b', clientSecret: 'shpss_5e8d2c7a9b1f4e6d' },
    },
    {
      way: 'a static token',
      secret: { SHOPIFY_ACCESS_TOKEN: 'shpat_7c2e9f4a1b8d3e6c' },
      credentials: { accessToken: 'shpat_7c2e9f4a1b8d3e6c' },
    },
  ];

  for (const overlay of OVERLAYS) {
    for (const { way, secret, credentials } of ways) {
      it(`${overlay}: with ${way} in the Secret, the stream processor gets them from it and uses them`, () => {
        const objects = withOperatorSecret(rendered(overlay), secretWithShopify(secret));
        const env = resolvedEnv(objects, mainContainer(objects, 'order-stream-process'));
        const shopify = Object.fromEntries(Object.entries(env).filter(([k]) => SHOPIFY_KEYS.includes(k)));
        assert.deepEqual(shopify, Object.fromEntries(Object.entries(secret).map(([k, value]) => [k, { value, source: 'secret' }])));
        const config = streamConfig(overlay, secretWithShopify(secret));
        assert.deepEqual(
          shopifyCredentials((name) => config[name] as string | undefined),
          credentials,
        );
      });
    }
  }

  it('with neither, with both, or with half the pair in the Secret, the stream processor refuses to start, naming the variable', () => {
    const refused = (shopify: Record<string, string>, variable: string) =>
      assert.throws(
        () => streamConfig('production', secretWithShopify(shopify)),
        (err: unknown) => err instanceof ConfigError && err.problems.map((p) => p.split(':')[0]).join() === variable,
        variable,
      );
    refused({}, 'SHOPIFY_ACCESS_TOKEN');
    refused({ ...ways[0]!.secret, ...ways[1]!.secret }, 'SHOPIFY_CLIENT_ID');
    refused({ SHOPIFY_CLIENT_ID: '3f9c1a7e5b2d4c8e9a0b1c2d3e4f5a6b' }, 'SHOPIFY_CLIENT_SECRET');
    refused({ SHOPIFY_CLIENT_SECRET: 'shpss_5e8d2c7a9b1f4e6d' }, 'SHOPIFY_CLIENT_ID');
  });
});

describe('deploy/k8s: Kafka over TLS and SASL', () => {
  for (const overlay of OVERLAYS) {
    it(`${overlay}: both Kafka clients read the flags from their ConfigMap and the password from the Secret, and start plaintext by default`, () => {
      const objects = rendered(overlay);
      for (const service of ['order-manage-data-api', 'order-stream-process'] as const) {
        const env = resolvedEnv(objects, mainContainer(objects, service));
        for (const flag of ['KAFKA_SSL', 'KAFKA_SSL_CA_FILE', 'KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME'])
          assert.equal(env[flag]?.source, 'configmap', `${service} ${flag}`);
        const ref = mainContainer(objects, service).env?.find((e) => e.name === 'KAFKA_SASL_PASSWORD')?.valueFrom?.secretKeyRef;
        assert.deepEqual(ref, { name: OPERATOR_SECRET, key: 'KAFKA_SASL_PASSWORD', optional: true });
        const config = parseConfig(service, SCHEMAS[service], { ...plainEnv(env), NODE_ENV: IMAGE_NODE_ENV });
        assert.deepEqual(kafkaSecurity(service, config), {});
      }
    });
  }

  it('turned on in the ConfigMaps, with the password in the Secret, both clients speak SCRAM over TLS', () => {
    let objects = rendered('production');
    for (const name of ['order-manage-data-api', 'order-stream-process']) objects = withConfigMap(objects, name, KAFKA_SASL);
    objects = withOperatorSecret(objects, { ...secretsEnvExample().values, KAFKA_SASL_PASSWORD: 'Zq8v3mT1xk0pW7' });
    for (const service of ['order-manage-data-api', 'order-stream-process'] as const) {
      const env = { ...plainEnv(resolvedEnv(objects, mainContainer(objects, service))), NODE_ENV: 'development' };
      assert.deepEqual(kafkaSecurity(service, parseConfig(service, SCHEMAS[service], env)), {
        ssl: true,
        sasl: { mechanism: 'scram-sha-512', username: 'order-intake', password: 'Zq8v3mT1xk0pW7' },
      });
    }
  });

  it('the topic Job turns the same settings into a Kafka client configuration for every kafka-topics.sh call', () => {
    let objects = withConfigMap(rendered('production'), 'order-stream-process', {
      ...KAFKA_SASL,
      KAFKA_SSL_CA_FILE: '/etc/kafka-ca/ca.crt',
    });
    objects = withOperatorSecret(objects, { ...secretsEnvExample().values, KAFKA_SASL_PASSWORD: 'Zq8v3mT1xk0pW7' });
    const container = find<Workload>(objects, 'Job', 'kafka-topics').spec.template.spec.containers[0]!;
    const env = plainEnv(resolvedEnv(objects, container));

    // A stand-in kafka-topics.sh that records its arguments and the client configuration it was given.
    const home = mkdtempSync(path.join(tmpdir(), 'kafka-home-'));
    mkdirSync(path.join(home, 'bin'));
    const script = path.join(home, 'bin', 'kafka-topics.sh');
    writeFileSync(
      script,
      `#!/bin/bash\necho "$*" >> "${home}/calls"\nwhile [ $# -gt 0 ]; do [ "$1" = --command-config ] && cp "$2" "${home}/client.properties"; shift; done\necho "Topic: x PartitionCount: 3"\n`,
    );
    chmodSync(script, 0o755);
    execFileSync(container.command![0]!, [...container.command!.slice(1), ...container.args!], {
      env: { PATH: process.env.PATH ?? '', ...env, KAFKA_HOME: home },
    });

    assert.equal(
      readFileSync(path.join(home, 'client.properties'), 'utf8'),
      [
        'sasl.mechanism=SCRAM-SHA-512',
        'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="order-intake" password="Zq8v3mT1xk0pW7";',
        'security.protocol=SASL_SSL',
        'ssl.truststore.type=PEM',
        'ssl.truststore.location=/etc/kafka-ca/ca.crt',
        '',
      ].join('\n'),
    );
    const calls = readFileSync(path.join(home, 'calls'), 'utf8').trim().split('\n');
    assert.equal(calls.length, 4, 'create and describe, for each of the two topics');
    for (const call of calls)
      assert.match(call, /^--bootstrap-server orders-kafka-kafka-bootstrap\.kafka\.svc:9092 --command-config \/tmp\/client\.properties /);
  });

  it('the topic Job stays plaintext when nothing is turned on', () => {
    const objects = rendered('production');
    const container = find<Workload>(objects, 'Job', 'kafka-topics').spec.template.spec.containers[0]!;
    const home = mkdtempSync(path.join(tmpdir(), 'kafka-home-'));
    mkdirSync(path.join(home, 'bin'));
    const script = path.join(home, 'bin', 'kafka-topics.sh');
    writeFileSync(
      script,
      `#!/bin/bash\nwhile [ $# -gt 0 ]; do [ "$1" = --command-config ] && cp "$2" "${home}/client.properties"; shift; done\necho "PartitionCount: 3"\n`,
    );
    chmodSync(script, 0o755);
    execFileSync(container.command![0]!, [...container.command!.slice(1), ...container.args!], {
      env: { PATH: process.env.PATH ?? '', ...plainEnv(resolvedEnv(objects, container)), KAFKA_HOME: home },
    });
    assert.equal(readFileSync(path.join(home, 'client.properties'), 'utf8'), 'security.protocol=PLAINTEXT\n');
  });
});

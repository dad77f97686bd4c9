/**
 * Kafka over TLS and SASL (docs/spec.md section 11): the settings every Kafka client reads, checked
 * together, and what they become in KafkaJS's options.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigError, kafkaSecurity, kafkaSecurityRule, kafkaSecuritySettings, parseConfig } from '@oms/common';
import { configSchema as dataApiSchema } from '../../services/order-manage-data-api/src/config.js';
import { configSchema as streamSchema } from '../../services/order-stream-process/src/config.js';

const schema = z.object(kafkaSecuritySettings).superRefine(kafkaSecurityRule);
const parse = (env: NodeJS.ProcessEnv) => parseConfig('svc', schema, env);
const options = (env: NodeJS.ProcessEnv) => kafkaSecurity('svc', parse(env));

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    parse(env);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
}

const SASL = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'order-intake', KAFKA_SASL_PASSWORD: 'Zq8v3mT1xk0pW7' };

describe('Kafka TLS and SASL settings → KafkaJS options', () => {
  it('sets neither TLS nor SASL when nothing is configured (a plaintext in-cluster listener)', () => {
    assert.deepEqual(options({}), {});
    assert.deepEqual(options({ KAFKA_SSL: 'false' }), {});
  });

  it('turns TLS on with the system CAs for KAFKA_SSL=true', () => {
    assert.deepEqual(options({ KAFKA_SSL: 'true' }), { ssl: true });
  });

  it("verifies the brokers against KAFKA_SSL_CA_FILE's certificates when it is set", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kafka-ca-'));
    const file = path.join(dir, 'ca.crt');
    writeFileSync(file, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    assert.deepEqual(options({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: file }), {
      ssl: { ca: ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'] },
    });
  });

  it('refuses to start on a CA file it cannot read, naming KAFKA_SSL_CA_FILE', () => {
    assert.throws(
      () => options({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/nonexistent/ca.crt' }),
      (err: unknown) => err instanceof ConfigError && /^KAFKA_SSL_CA_FILE: cannot be read/.test(err.problems[0]!),
    );
  });

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`passes SASL ${mechanism} with its username and password, over TLS`, () => {
      assert.deepEqual(options({ KAFKA_SSL: 'true', ...SASL, KAFKA_SASL_MECHANISM: mechanism }), {
        ssl: true,
        sasl: { mechanism, username: 'order-intake', password: 'Zq8v3mT1xk0pW7' },
      });
    });
  }

  it('treats an empty value as unset, so a ConfigMap can list every key', () => {
    assert.deepEqual(
      options({ KAFKA_SSL: 'false', KAFKA_SSL_CA_FILE: '', KAFKA_SASL_MECHANISM: '', KAFKA_SASL_USERNAME: '', KAFKA_SASL_PASSWORD: '' }),
      {},
    );
  });
});

describe('Kafka TLS and SASL settings are checked together', () => {
  it('refuses a username without a password, and a password without a username', () => {
    assert.deepEqual(problems({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' }), [
      'KAFKA_SASL_PASSWORD: must be set when KAFKA_SASL_MECHANISM and KAFKA_SASL_USERNAME are (username and password both or neither)',
    ]);
    assert.deepEqual(problems({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_PASSWORD: 'p' }), [
      'KAFKA_SASL_USERNAME: must be set when KAFKA_SASL_MECHANISM and KAFKA_SASL_PASSWORD are (username and password both or neither)',
    ]);
  });

  it('refuses credentials without a mechanism, and a mechanism without credentials', () => {
    assert.deepEqual(problems({ KAFKA_SSL: 'true', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }), [
      'KAFKA_SASL_MECHANISM: must be set (plain, scram-sha-256, scram-sha-512) when KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are',
    ]);
    assert.deepEqual(
      problems({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'plain' }).map((p) => p.split(':')[0]),
      ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'],
    );
  });

  it('refuses an unknown mechanism and a KAFKA_SSL other than true or false', () => {
    assert.deepEqual(problems({ KAFKA_SSL: 'yes', ...SASL, KAFKA_SASL_MECHANISM: 'gssapi' }), [
      'KAFKA_SSL: must be true or false',
      'KAFKA_SASL_MECHANISM: must be one of plain, scram-sha-256, scram-sha-512',
    ]);
  });

  it('refuses a CA file without TLS', () => {
    assert.deepEqual(problems({ KAFKA_SSL_CA_FILE: '/etc/kafka/ca.crt' }), ['KAFKA_SSL_CA_FILE: is set but KAFKA_SSL is not true']);
  });

  it('refuses SASL without TLS with NODE_ENV=production, and allows it otherwise (a local broker)', () => {
    assert.deepEqual(problems({ NODE_ENV: 'production', ...SASL }), [
      'KAFKA_SSL: must be true when SASL is on with NODE_ENV=production (SASL without TLS is refused)',
    ]);
    assert.deepEqual(options({ ...SASL }), { sasl: { mechanism: 'scram-sha-512', username: 'order-intake', password: 'Zq8v3mT1xk0pW7' } });
  });

  it('refuses a demo SASL password with NODE_ENV=production, without printing it', () => {
    const found = problems({ NODE_ENV: 'production', KAFKA_SSL: 'true', ...SASL, KAFKA_SASL_PASSWORD: 'replace-me-kafka-password' });
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^KAFKA_SASL_PASSWORD: is a demo value/);
    assert.doesNotMatch(found[0]!, /replace-me-kafka-password/);
  });

  for (const [service, serviceSchema, env] of [
    [
      'order-manage-data-api',
      dataApiSchema,
      { DATABASE_URL: 'postgres://db/orders', KAFKA_BROKERS: 'kafka:9093', INTERNAL_API_TOKEN: 'c9f1d2e8a7b64b0e' },
    ],
    [
      'order-stream-process',
      streamSchema,
      {
        KAFKA_BROKERS: 'kafka:9093',
        SHOPIFY_ADMIN_BASE_URL: 'https://shop.myshopify.com',
        DATA_API_URL: 'http://order-manage-data-api:8081',
        SHOPIFY_ACCESS_TOKEN: 'shpat_c9f1d2e8a7b64b0e',
        INTERNAL_API_TOKEN: 'c9f1d2e8a7b64b0e',
      },
    ],
  ] as const) {
    it(`${service} reads the Kafka settings and checks them together`, () => {
      const config = parseConfig(service, serviceSchema, { ...env, NODE_ENV: 'production', KAFKA_SSL: 'true', ...SASL });
      assert.deepEqual(kafkaSecurity(service, config), {
        ssl: true,
        sasl: { mechanism: 'scram-sha-512', username: 'order-intake', password: 'Zq8v3mT1xk0pW7' },
      });
      assert.throws(
        () => parseConfig(service, serviceSchema, { ...env, NODE_ENV: 'production', ...SASL }),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.problems.join() === 'KAFKA_SSL: must be true when SASL is on with NODE_ENV=production (SASL without TLS is refused)',
      );
    });
  }
});

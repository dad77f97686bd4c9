import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigError, parseConfig, port, secret, url, withoutDemoPassword } from '@oms/common';
import { configSchema as apiSchema } from '../../services/order-manage-api/src/config.js';
import { configSchema as dataApiSchema } from '../../services/order-manage-data-api/src/config.js';
import { configSchema as streamSchema } from '../../services/order-stream-process/src/config.js';

const schema = z.object({ PORT: port(8080), DATA_API_URL: url(), WMS_TIMEOUT_MS: z.coerce.number().int().positive() });

describe('service configuration', () => {
  it('applies defaults and coerces numbers', () => {
    const config = parseConfig('svc', schema, { DATA_API_URL: 'http://localhost:8081', WMS_TIMEOUT_MS: '2000' });
    assert.deepEqual(config, { PORT: 8080, DATA_API_URL: 'http://localhost:8081', WMS_TIMEOUT_MS: 2000 });
  });

  it('names every missing or malformed variable in one error', () => {
    assert.throws(
      () => parseConfig('svc', schema, { PORT: 'eighty', WMS_TIMEOUT_MS: '2000' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /PORT/);
        assert.match(err.message, /DATA_API_URL is required but not set/);
        assert.doesNotMatch(err.message, /WMS_TIMEOUT_MS/);
        return true;
      },
    );
  });
});

/** A service's secrets as the local stack sets them (stack/settings.ts), and real-looking ones. */
const DEMO = {
  INTERNAL_API_TOKEN: 'local-internal-token',
  SHOPIFY_WEBHOOK_SECRET: 'local-webhook-secret',
  WMS_API_KEY: 'local-wms-key',
  SHOPIFY_ACCESS_TOKEN: 'shpat_local_access_token',
};
const REAL = 'c9f1d2e8a7b64b0e9a53f0d1c2b3a4e5';

const secrets = z.object({ INTERNAL_API_TOKEN: secret(), SHOPIFY_WEBHOOK_SECRET: secret(), DATABASE_URL: withoutDemoPassword(z.string()) });
const realEnv = { INTERNAL_API_TOKEN: REAL, SHOPIFY_WEBHOOK_SECRET: REAL, DATABASE_URL: `postgres://orders_app:${REAL}@db:5432/orders` };

/** The ConfigError's problems, or [] when the environment parses. */
function problems(schema: z.ZodTypeAny, env: NodeJS.ProcessEnv): string[] {
  try {
    parseConfig('svc', schema, env);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
}

describe('demo secrets with NODE_ENV=production', () => {
  it('refuses a local-… value, naming the variable and never printing the value', () => {
    const found = problems(secrets, { ...realEnv, NODE_ENV: 'production', INTERNAL_API_TOKEN: 'local-internal-token' });
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^INTERNAL_API_TOKEN: is a demo value/);
    assert.doesNotMatch(found[0]!, /local-internal-token/);
  });

  it("refuses Shopify's demo token shpat_local_…", () => {
    const schema = z.object({ SHOPIFY_ACCESS_TOKEN: secret() });
    assert.deepEqual(
      problems(schema, { NODE_ENV: 'production', SHOPIFY_ACCESS_TOKEN: 'shpat_local_access_token' }).map((p) => p.split(':')[0]),
      ['SHOPIFY_ACCESS_TOKEN'],
    );
  });

  it('refuses any value containing replace-me, in any case and anywhere in it', () => {
    for (const value of ['replace-me-webhook-secret', 'my-REPLACE-ME-token', 'abcdefgh-replace-me']) {
      assert.deepEqual(
        problems(secrets, { ...realEnv, NODE_ENV: 'production', SHOPIFY_WEBHOOK_SECRET: value }).map((p) => p.split(':')[0]),
        ['SHOPIFY_WEBHOOK_SECRET'],
        value,
      );
    }
  });

  it('refuses a list of secrets (a rotation) when any of them is a demo value', () => {
    const found = problems(secrets, { ...realEnv, NODE_ENV: 'production', SHOPIFY_WEBHOOK_SECRET: `${REAL},local-webhook-secret` });
    assert.deepEqual(
      found.map((p) => p.split(':')[0]),
      ['SHOPIFY_WEBHOOK_SECRET'],
    );
    assert.doesNotMatch(found[0]!, new RegExp(REAL));
  });

  it('refuses a URL whose password is a demo value, without printing the URL', () => {
    const found = problems(secrets, {
      ...realEnv,
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://orders:replace-me@orders-db-rw:5432/orders',
    });
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^DATABASE_URL: carries a demo password/);
    assert.doesNotMatch(found[0]!, /orders-db-rw|replace-me@/);
  });

  it('names every demo variable at once', () => {
    const found = problems(secrets, {
      NODE_ENV: 'production',
      INTERNAL_API_TOKEN: DEMO.INTERNAL_API_TOKEN,
      SHOPIFY_WEBHOOK_SECRET: DEMO.SHOPIFY_WEBHOOK_SECRET,
      DATABASE_URL: 'postgres://postgres:local-orders-app-password@postgres:5432/orders',
    });
    assert.deepEqual(
      found.map((p) => p.split(':')[0]),
      ['INTERNAL_API_TOKEN', 'SHOPIFY_WEBHOOK_SECRET', 'DATABASE_URL'],
    );
  });

  it('accepts real secrets, and a URL without a password, with NODE_ENV=production', () => {
    assert.deepEqual(problems(secrets, { ...realEnv, NODE_ENV: 'production' }), []);
    assert.deepEqual(problems(secrets, { ...realEnv, NODE_ENV: 'production', DATABASE_URL: 'postgres://db:5432/orders' }), []);
  });

  it('accepts the demo values when NODE_ENV is anything else, or unset (the local stack, docker compose)', () => {
    for (const NODE_ENV of [undefined, 'development', 'test', 'staging']) {
      const env = {
        INTERNAL_API_TOKEN: DEMO.INTERNAL_API_TOKEN,
        SHOPIFY_WEBHOOK_SECRET: DEMO.SHOPIFY_WEBHOOK_SECRET,
        DATABASE_URL: 'postgres://a:replace-me@db/orders',
      };
      assert.deepEqual(problems(secrets, NODE_ENV === undefined ? env : { ...env, NODE_ENV }), [], String(NODE_ENV));
    }
  });

  it("reads NODE_ENV from the environment being parsed, not the test process's", () => {
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      assert.deepEqual(problems(secrets, { ...realEnv, INTERNAL_API_TOKEN: DEMO.INTERNAL_API_TOKEN }), []);
    } finally {
      if (before === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = before;
    }
    assert.equal(problems(secrets, { ...realEnv, NODE_ENV: 'production', INTERNAL_API_TOKEN: DEMO.INTERNAL_API_TOKEN }).length, 1);
  });

  const STACK_ENV = {
    'order-manage-api': {
      schema: apiSchema,
      env: {
        DATA_API_URL: 'http://127.0.0.1:8081',
        REDIS_URL: 'redis://127.0.0.1:6379',
        WMS_BASE_URL: 'http://127.0.0.1:8089',
        SHOPIFY_LOCATION_ID: '65432109876',
        INTERNAL_API_TOKEN: DEMO.INTERNAL_API_TOKEN,
        WMS_API_KEY: DEMO.WMS_API_KEY,
        SHOPIFY_WEBHOOK_SECRET: DEMO.SHOPIFY_WEBHOOK_SECRET,
      },
      demo: ['INTERNAL_API_TOKEN', 'WMS_API_KEY', 'SHOPIFY_WEBHOOK_SECRET'],
    },
    'order-manage-data-api': {
      schema: dataApiSchema,
      env: {
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/orders',
        KAFKA_BROKERS: '127.0.0.1:9092',
        INTERNAL_API_TOKEN: DEMO.INTERNAL_API_TOKEN,
      },
      demo: ['INTERNAL_API_TOKEN'],
    },
    'order-stream-process': {
      schema: streamSchema,
      env: {
        KAFKA_BROKERS: '127.0.0.1:9092',
        SHOPIFY_ADMIN_BASE_URL: 'http://127.0.0.1:8089',
        DATA_API_URL: 'http://127.0.0.1:8081',
        SHOPIFY_ACCESS_TOKEN: DEMO.SHOPIFY_ACCESS_TOKEN,
        INTERNAL_API_TOKEN: DEMO.INTERNAL_API_TOKEN,
      },
      demo: ['SHOPIFY_ACCESS_TOKEN', 'INTERNAL_API_TOKEN'],
    },
  } as const;

  for (const [service, { schema, env, demo }] of Object.entries(STACK_ENV)) {
    it(`${service}'s own schema refuses each of the local stack's secrets it reads`, () => {
      assert.deepEqual(problems(schema, env), [], 'the local stack starts as it is');
      const found = problems(schema, { ...env, NODE_ENV: 'production' });
      assert.deepEqual(found.map((p) => p.split(':')[0]).sort(), [...demo].sort());
      for (const value of Object.values(DEMO)) assert.ok(!found.join('\n').includes(value), 'no value is printed');
    });
  }
});

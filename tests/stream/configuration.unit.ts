import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '@oms/common';
import { configSchema } from '../../services/order-stream-process/src/config.js';

const required = {
  KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9094',
  SHOPIFY_ADMIN_BASE_URL: 'http://127.0.0.1:8089',
  SHOPIFY_ACCESS_TOKEN: 'shpat_local_access_token',
  DATA_API_URL: 'http://127.0.0.1:8081',
  INTERNAL_API_TOKEN: 'local-internal-token',
};

describe('order-stream-process configuration', () => {
  it('applies the design defaults', () => {
    const config = parseConfig('order-stream-process', configSchema, required);
    assert.deepEqual(config, {
      PORT: 8082,
      HTTP_REQUEST_TIMEOUT_MS: 10_000,
      HTTP_HEADERS_TIMEOUT_MS: 5_000,
      HTTP_MAX_CONNECTIONS: 256,
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: ['127.0.0.1:9092', '127.0.0.1:9094'],
      KAFKA_SSL: false,
      SHOPIFY_ADMIN_BASE_URL: 'http://127.0.0.1:8089',
      SHOPIFY_API_VERSION: '2026-10',
      SHOPIFY_ACCESS_TOKEN: 'shpat_local_access_token',
      SHOPIFY_TIMEOUT_MS: 5000,
      SHOPIFY_MAX_ATTEMPTS: 5,
      SHOPIFY_RETRY_BASE_DELAY_MS: 500,
      SHOPIFY_BATCH_LINGER_MS: 300,
      INVENTORY_TOPIC: 'inventory-updates',
      DLQ_TOPIC: 'inventory-updates.dlq',
      CONSUMER_GROUP: 'order-stream-process',
      RECONCILE_INTERVAL_MS: 0,
      DATA_API_URL: 'http://127.0.0.1:8081',
      INTERNAL_API_TOKEN: 'local-internal-token',
      DATA_API_TIMEOUT_MS: 5000,
    });
  });

  it("always needs where to read the database's stock: the confirm step reads it for every batch", () => {
    const { DATA_API_URL: _url, INTERNAL_API_TOKEN: _token, ...withoutDataApi } = required;
    assert.throws(
      () => parseConfig('order-stream-process', configSchema, withoutDataApi),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems, ['DATA_API_URL is required but not set', 'INTERNAL_API_TOKEN is required but not set']);
        return true;
      },
    );
  });

  it('runs reconciliation on an interval never more often than once a minute', () => {
    assert.throws(
      () => parseConfig('order-stream-process', configSchema, { ...required, RECONCILE_INTERVAL_MS: '1000' }),
      /RECONCILE_INTERVAL_MS: must be 0 \(off\) or at least 60000/,
    );
    assert.equal(
      parseConfig('order-stream-process', configSchema, { ...required, RECONCILE_INTERVAL_MS: '300000' }).RECONCILE_INTERVAL_MS,
      300_000,
    );
  });

  it('names every bad variable without echoing the access token', () => {
    assert.throws(
      () =>
        parseConfig('order-stream-process', configSchema, {
          KAFKA_BROKERS: 'kafka',
          SHOPIFY_API_VERSION: 'latest',
          SHOPIFY_ACCESS_TOKEN: 'short',
          SHOPIFY_TIMEOUT_MS: '0',
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        for (const name of [
          'KAFKA_BROKERS',
          'SHOPIFY_ADMIN_BASE_URL is required',
          'SHOPIFY_API_VERSION',
          'SHOPIFY_ACCESS_TOKEN',
          'SHOPIFY_TIMEOUT_MS',
        ]) {
          assert.match(err.message, new RegExp(name));
        }
        assert.doesNotMatch(err.message, /short/);
        return true;
      },
    );
  });
});

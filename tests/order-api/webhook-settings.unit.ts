import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { ConfigError, parseConfig } from '@oms/common';
import { configSchema } from '../../services/order-manage-api/src/config.js';
import { refusesAnOrder } from '../../services/order-manage-api/src/domain/outcome.js';
import { verifySignature } from '../../services/order-manage-api/src/domain/signature.js';

/**
 * order-manage-api's webhook settings (docs/spec.md sections 2.1 and 12): SHOPIFY_WEBHOOK_SECRET with
 * one or two secrets, SHOPIFY_SHOP_DOMAIN, WEBHOOK_REFUSAL_STATUS; and the rules they drive.
 */

const REQUIRED = {
  DATA_API_URL: 'http://127.0.0.1:8081',
  REDIS_URL: 'redis://127.0.0.1:6379',
  WMS_BASE_URL: 'http://127.0.0.1:8089',
  SHOPIFY_LOCATION_ID: '65432109876',
  INTERNAL_API_TOKEN: 'a-real-internal-token',
  WMS_API_KEY: 'a-real-wms-key',
  SHOPIFY_WEBHOOK_SECRET: 'a-real-webhook-secret',
};

const parse = (env: Record<string, string>) => parseConfig('order-manage-api', configSchema, { ...REQUIRED, ...env });

/** The configuration's problems, one line each, or [] when it parses. */
function problems(env: Record<string, string>): string[] {
  try {
    parse(env);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
}

describe('SHOPIFY_WEBHOOK_SECRET', () => {
  it('reads one secret as a list of one', () => {
    assert.deepEqual(parse({}).SHOPIFY_WEBHOOK_SECRET, ['a-real-webhook-secret']);
  });

  it('reads two secrets separated by a comma, spaces around them dropped', () => {
    assert.deepEqual(parse({ SHOPIFY_WEBHOOK_SECRET: 'the-new-secret , the-old-secret' }).SHOPIFY_WEBHOOK_SECRET, [
      'the-new-secret',
      'the-old-secret',
    ]);
  });

  it('refuses three secrets, an empty one and a short one, quoting none of them', () => {
    assert.deepEqual(problems({ SHOPIFY_WEBHOOK_SECRET: 'first-secret,second-secret,third-secret' }), [
      'SHOPIFY_WEBHOOK_SECRET: holds 3 secrets: at most 2, separated by a comma, while one is being rotated',
    ]);
    assert.deepEqual(problems({ SHOPIFY_WEBHOOK_SECRET: 'first-secret,' }), ['SHOPIFY_WEBHOOK_SECRET: secret 2 of 2 is empty']);
    assert.deepEqual(problems({ SHOPIFY_WEBHOOK_SECRET: ',first-secret' }), ['SHOPIFY_WEBHOOK_SECRET: secret 1 of 2 is empty']);
    assert.deepEqual(problems({ SHOPIFY_WEBHOOK_SECRET: 'shorty,first-secret' }), [
      'SHOPIFY_WEBHOOK_SECRET: secret 1 of 2 must be at least 8 characters',
    ]);
    assert.deepEqual(problems({ SHOPIFY_WEBHOOK_SECRET: '' }), ['SHOPIFY_WEBHOOK_SECRET: must be at least 8 characters']);
  });

  it('refuses a demo secret among two with NODE_ENV=production, once, without quoting it', () => {
    const found = problems({ NODE_ENV: 'production', SHOPIFY_WEBHOOK_SECRET: 'a-real-webhook-secret,local-webhook-secret' });
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^SHOPIFY_WEBHOOK_SECRET: is a demo value/);
    assert.ok(!found[0]!.includes('a-real-webhook-secret'));
  });
});

describe('SHOPIFY_SHOP_DOMAIN', () => {
  it('is unset by default, and when empty', () => {
    assert.equal(parse({}).SHOPIFY_SHOP_DOMAIN, undefined);
    assert.equal(parse({ SHOPIFY_SHOP_DOMAIN: '' }).SHOPIFY_SHOP_DOMAIN, undefined);
  });

  it('reads <shop>.myshopify.com in lower case', () => {
    assert.equal(parse({ SHOPIFY_SHOP_DOMAIN: 'Demo-Merchant.myshopify.com' }).SHOPIFY_SHOP_DOMAIN, 'demo-merchant.myshopify.com');
  });

  it('refuses anything but a shop’s myshopify.com domain', () => {
    for (const value of [
      'https://demo-merchant.myshopify.com',
      'shop.example.com',
      'demo-merchant.myshopify.com/admin',
      '.myshopify.com',
    ]) {
      assert.deepEqual(
        problems({ SHOPIFY_SHOP_DOMAIN: value }),
        ["SHOPIFY_SHOP_DOMAIN: must be the shop's <shop>.myshopify.com domain"],
        value,
      );
    }
  });
});

describe('WEBHOOK_REFUSAL_STATUS', () => {
  it('is 4xx by default and when empty, and reads 200', () => {
    assert.equal(parse({}).WEBHOOK_REFUSAL_STATUS, '4xx');
    assert.equal(parse({ WEBHOOK_REFUSAL_STATUS: '' }).WEBHOOK_REFUSAL_STATUS, '4xx');
    assert.equal(parse({ WEBHOOK_REFUSAL_STATUS: '200' }).WEBHOOK_REFUSAL_STATUS, '200');
  });

  it('refuses any other value', () => {
    for (const value of ['422', '2xx', '4XX', 'ok']) {
      assert.deepEqual(problems({ WEBHOOK_REFUSAL_STATUS: value }), ['WEBHOOK_REFUSAL_STATUS: must be 4xx or 200'], value);
    }
  });
});

describe('the rules these settings drive', () => {
  const body = Buffer.from('{"id":820982911946154508}');
  const sign = (secret: string) => createHmac('sha256', secret).update(body).digest('base64');

  it('a signature made with either of two secrets verifies, one made with neither does not', () => {
    const secrets = ['the-new-secret', 'the-old-secret'];
    assert.equal(verifySignature(body, sign('the-new-secret'), secrets), true);
    assert.equal(verifySignature(body, sign('the-old-secret'), secrets), true);
    assert.equal(verifySignature(body, sign('another-secret'), secrets), false);
    assert.equal(verifySignature(body, sign('the-new-secret,the-old-secret'), secrets), false);
    assert.equal(verifySignature(body, sign('the-old-secret'), ['the-new-secret']), false);
  });

  it('a refusal of an identifiable order is a 400, 409 or 422 with an order id; 401, 413, 5xx and a 400 without one are not', () => {
    const problem = (status: number, orderId?: string) => ({ status, code: 'X', detail: 'x', ...(orderId ? { orderId } : {}) });
    for (const status of [400, 409, 422]) assert.equal(refusesAnOrder(problem(status, '820982911946154508')), true, String(status));
    for (const status of [401, 404, 413, 500, 503])
      assert.equal(refusesAnOrder(problem(status, '820982911946154508')), false, String(status));
    assert.equal(refusesAnOrder(problem(400)), false);
  });
});

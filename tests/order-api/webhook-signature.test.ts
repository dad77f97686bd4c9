import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { closeDb, createTestProduct, readInventory, readOrder } from '../support/db.js';
import { buildShopifyOrder, randomOrderId } from '../support/orders.js';
import { shopifyHeaders, signBody } from '../support/sign.js';
import { stubWmsInventory } from '../support/wiremock.js';
import { type DataApiHandle, type IntakeHandle, startDataApi, startIntake, WEBHOOK_SECRET } from './intake-harness.js';

let dataApi: DataApiHandle;
let intake: IntakeHandle;

before(async () => {
  dataApi = await startDataApi();
  intake = await startIntake({ dataApiUrl: dataApi.url });
});

after(async () => {
  await intake.stop();
  await dataApi.stop();
  await closeDb();
});

async function postRaw(raw: string | Buffer, headers: Record<string, string>) {
  const response = await fetch(`${intake.url}/api/shopify/webhooks/orders`, {
    method: 'POST',
    headers,
    body: raw,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type'), json: JSON.parse(text) as Record<string, unknown> };
}

const orderBody = (orderId = randomOrderId()) =>
  JSON.stringify(buildShopifyOrder({ orderId, lines: [{ productId: 8_000_000_000_001, quantity: 1 }] }));

describe('webhook signature (X-Shopify-Hmac-Sha256)', () => {
  const cases: Array<[string, (raw: string) => string | undefined]> = [
    ['missing', () => undefined],
    ['empty', () => ''],
    ['not base64', () => '!!!not*base64!!!-------------------------------='],
    ['base64 of the wrong length', (raw) => signBody(raw, WEBHOOK_SECRET).slice(0, 22) + '=='],
    ['made with another secret', (raw) => signBody(raw, 'some-other-secret')],
    ['hex instead of base64', () => randomBytes(32).toString('hex')],
  ];
  for (const [name, signature] of cases) {
    it(`refuses a delivery whose signature is ${name} with 401 INVALID_SIGNATURE and writes nothing`, async () => {
      const orderId = randomOrderId();
      const raw = orderBody(orderId);
      const headers = shopifyHeaders(raw, WEBHOOK_SECRET);
      const value = signature(raw);
      if (value === undefined) delete headers['x-shopify-hmac-sha256'];
      else headers['x-shopify-hmac-sha256'] = value;
      const res = await postRaw(raw, headers);
      assert.equal(res.status, 401);
      assert.equal(res.contentType, 'application/problem+json; charset=utf-8');
      assert.equal(res.json.code, 'INVALID_SIGNATURE');
      assert.equal(await readOrder(orderId), null);
    });
  }

  it('refuses a body with one byte changed after signing', async () => {
    const product = await createTestProduct({ availableQuantity: 10 });
    const removeStub = await stubWmsInventory(product.sku, { availableQuantity: 10 });
    try {
      const orderId = randomOrderId();
      const signed = JSON.stringify(
        buildShopifyOrder({ orderId, lines: [{ productId: product.productId, variantId: product.variantId, quantity: 1 }] }),
      );
      const headers = shopifyHeaders(signed, WEBHOOK_SECRET);
      const tampered = signed.replace('"quantity":1', '"quantity":9');
      assert.equal(tampered.length, signed.length);
      const res = await postRaw(tampered, headers);
      assert.equal(res.status, 401);
      assert.equal(res.json.code, 'INVALID_SIGNATURE');
      assert.equal(await readOrder(orderId), null);
      assert.equal((await readInventory(product.variantId))!.availableQuantity, 10);
    } finally {
      await removeStub();
    }
  });
});

describe('webhook body', () => {
  it('reads a signed body sent without Content-Type: the signature covers bytes, not headers', async () => {
    const raw = '["not an order"]';
    const { 'content-type': _omitted, ...headers } = shopifyHeaders(raw, WEBHOOK_SECRET);
    const res = await postRaw(Buffer.from(raw), headers);
    assert.equal(res.status, 400);
    assert.equal(res.json.code, 'INVALID_PAYLOAD');
  });

  it('refuses a signed body that is not JSON with 400 INVALID_PAYLOAD', async () => {
    const raw = '{"id": 1, "line_items": [';
    const res = await postRaw(raw, shopifyHeaders(raw, WEBHOOK_SECRET));
    assert.equal(res.status, 400);
    assert.equal(res.json.code, 'INVALID_PAYLOAD');
    assert.match(String(res.json.detail), /not valid JSON/);
    assert.deepEqual(res.json.errors, []);
  });

  it('refuses a signed body over 1 MiB with 413 PAYLOAD_TOO_LARGE', async () => {
    const raw = JSON.stringify({
      ...buildShopifyOrder({ lines: [{ productId: 8_000_000_000_001, quantity: 1 }] }),
      note: 'x'.repeat(2 * 1024 * 1024),
    });
    const res = await postRaw(raw, shopifyHeaders(raw, WEBHOOK_SECRET));
    assert.equal(res.status, 413);
    assert.equal(res.json.code, 'PAYLOAD_TOO_LARGE');
  });

  it('refuses an unsigned 2 MiB body with 401 before reading it: the signature check comes first', async () => {
    const raw = 'x'.repeat(2 * 1024 * 1024);
    const { 'x-shopify-hmac-sha256': _omitted, ...headers } = shopifyHeaders(raw, WEBHOOK_SECRET);
    const res = await postRaw(raw, headers);
    assert.equal(res.status, 401);
    assert.equal(res.json.code, 'INVALID_SIGNATURE');
  });

  it('accepts a body of exactly 1 MiB past the size check', async () => {
    const base = JSON.stringify({ id: 'not-a-number', note: '' });
    const raw = base.replace('"note":""', `"note":"${'x'.repeat(1024 * 1024 - base.length)}"`);
    assert.equal(Buffer.byteLength(raw), 1024 * 1024);
    const res = await postRaw(raw, shopifyHeaders(raw, WEBHOOK_SECRET));
    assert.equal(res.status, 400, 'gets to validation, not 413');
    assert.equal(res.json.code, 'INVALID_PAYLOAD');
  });
});

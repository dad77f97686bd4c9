/**
 * Issue 7, hostile input: property tests over thousands of signed deliveries, valid and invalid,
 * against order-manage-api built in-process (its createApp with real clients) on the real
 * PostgreSQL, Redis and WireMock; hostile strings; signature edge cases the signature suite
 * (tests/order-api/webhook-signature.test.ts) does not already cover; and the running stack's
 * data-api refusing every internal call without its bearer token.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Report } from '../e2e/support.js';
import { type DataApiHandle, type IntakeHandle, startDataApi, startIntake, WEBHOOK_SECRET } from '../order-api/intake-harness.js';
import {
  closeDb,
  createTestProduct,
  dbPool,
  readInventory,
  readMovements,
  readOrder,
  readOrderDetails,
  type TestProduct,
} from '../support/db.js';
import { buildShopifyOrder, lineOf, randomOrderId } from '../support/orders.js';
import { shopifyHeaders, signBody } from '../support/sign.js';
import { stackEnv } from '../support/stack-env.js';
import { stubWmsInventory } from '../support/wiremock.js';
import { ledgerMismatches } from './support.js';

const report = new Report('reliability: hostile input');
const START = 1_000_000;
let dataApi: DataApiHandle;
let intake: IntakeHandle;
let products: TestProduct[];
const removers: Array<() => Promise<void>> = [];

before(async () => {
  dataApi = await startDataApi();
  intake = await startIntake({ dataApiUrl: dataApi.url });
  products = await Promise.all([0, 1, 2].map(() => createTestProduct({ availableQuantity: START })));
  for (const p of products) removers.push(await stubWmsInventory(p.sku, { availableQuantity: START }));
});

after(async () => {
  report.print();
  for (const remove of removers) await remove();
  await intake.stop();
  await dataApi.stop();
  await closeDb();
});

interface Answer {
  status: number;
  json: Record<string, unknown>;
  contentType: string;
}

async function deliver(raw: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${intake.url}/api/shopify/webhooks/orders`, {
    method: 'POST',
    headers,
    body: raw,
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { unparsable: text.slice(0, 200) };
  }
  return { status: res.status, json, contentType: res.headers.get('content-type') ?? '' };
}

const signed = (raw: string | Buffer) =>
  deliver(raw, shopifyHeaders(raw.toString(), WEBHOOK_SECRET, { 'x-shopify-hmac-sha256': signBody(raw, WEBHOOK_SECRET) }));

/**
 * Strings a storefront or an attacker may put in a title: any Unicode, SQL, control characters,
 * markup. NUL, which PostgreSQL text cannot hold, has its own test below (refused with 400).
 */
const hostileText = fc
  .oneof(
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom(
      "'; DROP TABLE inventory; --",
      "Robert'); DELETE FROM orders WHERE ('1'='1",
      "' OR '1'='1",
      '$1::text); SELECT pg_sleep(10); --',
      '\u202Eevil\u202C',
      '<script>alert(1)</script>',
      '{"$ne":null}',
      '%s%s%s%n',
      '\r\nX-Injected: yes',
    ),
  )
  .filter((text) => !text.includes('\u0000'));

const lineArb = fc.record({
  variant: fc.integer({ min: 0, max: 2 }),
  quantity: fc.integer({ min: 1, max: 3 }),
  title: hostileText,
  bySku: fc.boolean(),
});

/**
 * A valid order of 1-4 lines over the three variants (the same one may come twice), titles hostile,
 * a line sometimes naming its variant by SKU alone (`variant_id` null), customer sometimes null.
 */
const validOrderArb = fc.record({ lines: fc.array(lineArb, { minLength: 1, maxLength: 4 }), guest: fc.boolean() }).map(({ lines, guest }) =>
  buildShopifyOrder({
    orderId: randomOrderId(),
    customer: guest ? null : undefined,
    lines: lines.map((l) => lineOf(products[l.variant]!, l.quantity, { title: l.title, ...(l.bySku ? { variantId: null } : {}) })),
  }),
);

type Mutation = [string, (order: Record<string, unknown>) => unknown];
const line0 = (o: Record<string, unknown>) => (o.line_items as Array<Record<string, unknown>>)[0]!;
const badValues = fc.constantFrom<unknown>(null, -1, 0, 1.5, '12', 'abc', true, [], {}, 2 ** 60, Number.MAX_SAFE_INTEGER + 2);
// An integer above 2^53 is a valid id (read exactly from the text); 2^64 is beyond what PostgreSQL's bigint holds.
const badIds = fc.constantFrom<unknown>(null, -1, 0, 1.5, '12', 'abc', true, [], {}, 2 ** 64);
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  badIds.map((v): Mutation => [`id=${JSON.stringify(v)}`, (o) => ({ ...o, id: v })]),
  fc.constant<Mutation>(['id missing', ({ id: _id, ...o }) => o]),
  fc
    .constantFrom<unknown>([], null, 'x', {}, 3)
    .map((v): Mutation => [`line_items=${JSON.stringify(v)}`, (o) => ({ ...o, line_items: v })]),
  badValues.map((v): Mutation => [`quantity=${JSON.stringify(v)}`, (o) => ({ ...o, line_items: [{ ...line0(o), quantity: v }] })]),
  // product_id null is valid: a line that holds no stock (a tip, a custom item).
  fc
    .constantFrom<unknown>(undefined, 'abc', -5, 0, 1.5, 2 ** 64)
    .map((v): Mutation => [`product_id=${JSON.stringify(v)}`, (o) => ({ ...o, line_items: [{ ...line0(o), product_id: v }] })]),
  // variant_id null is valid: the line's SKU then finds its variant among its product's.
  fc
    .constantFrom<unknown>('abc', -5, 0, 1.5, 2 ** 64, true)
    .map((v): Mutation => [`variant_id=${JSON.stringify(v)}`, (o) => ({ ...o, line_items: [{ ...line0(o), variant_id: v }] })]),
  fc
    .constantFrom<unknown>('yes', 1, 'false')
    .map((v): Mutation => [
      `requires_shipping=${JSON.stringify(v)}`,
      (o) => ({ ...o, line_items: [{ ...line0(o), requires_shipping: v }] }),
    ]),
  fc
    .constantFrom<unknown>('shop', -1, 0, 2 ** 64)
    .map((v): Mutation => [`location_id=${JSON.stringify(v)}`, (o) => ({ ...o, location_id: v })]),
  fc
    .constantFrom<unknown>(12.5, '1.234', 'abc', null, '-1.00')
    .map((v): Mutation => [`price=${JSON.stringify(v)}`, (o) => ({ ...o, line_items: [{ ...line0(o), price: v }] })]),
  fc
    .constantFrom<unknown>('usd', 'DOLLARS', null, 1)
    .map((v): Mutation => [`currency=${JSON.stringify(v)}`, (o) => ({ ...o, currency: v })]),
  fc
    .constantFrom<unknown>('yesterday', 12, null)
    .map((v): Mutation => [`created_at=${JSON.stringify(v)}`, (o) => ({ ...o, created_at: v })]),
  fc.constantFrom<unknown>('', null, 5).map((v): Mutation => [`name=${JSON.stringify(v)}`, (o) => ({ ...o, name: v })]),
  fc
    .constantFrom<unknown>(12.5, 'free', null)
    .map((v): Mutation => [`total_price=${JSON.stringify(v)}`, (o) => ({ ...o, total_price: v })]),
  fc.constantFrom<unknown>([], 42, 'order', null).map((v): Mutation => [`body=${JSON.stringify(v)}`, () => v]),
);

describe('property: signed deliveries, valid and invalid', () => {
  it('a valid order is always accepted and stored intact, whatever its titles hold', async () => {
    let accepted = 0;
    const ordered = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(validOrderArb, async (order) => {
        const res = await signed(JSON.stringify(order));
        assert.ok(res.status < 500, `never a 5xx: ${res.status} ${JSON.stringify(res.json)}`);
        const lines = order.line_items as Array<{ id: number; sku: string; quantity: number; title: string }>;
        assert.equal(res.status, 201, JSON.stringify(res.json));
        accepted++;
        const details = await readOrderDetails(order.id);
        assert.equal(details.length, lines.length, 'one stored line per line item');
        for (const l of lines) {
          const variant = products.find((p) => p.sku === l.sku)!;
          ordered.set(variant.variantId, (ordered.get(variant.variantId) ?? 0) + l.quantity);
          const d = details.find((x) => x.lineItemId === String(l.id));
          assert.ok(d, `line item ${l.id} is stored`);
          assert.equal(d.title, l.title, 'the title is stored exactly as sent');
          assert.equal(d.variantId, variant.variantId, 'the line reserved from its variant, named by id or by SKU');
          assert.equal(d.reserved, l.quantity);
        }
      }),
      { numRuns: 300 },
    );
    for (const p of products) assert.equal((await readInventory(p.variantId))!.availableQuantity, START - (ordered.get(p.variantId) ?? 0));
    assert.deepEqual(await ledgerMismatches(products.map((p) => p.variantId)), [], 'stock = the sum of the movements');
    report.add({
      scenario: 'property: valid orders, hostile titles',
      requests: accepted,
      faults: 'fast-check',
      accepted,
      refused: 0,
      lost: 0,
      oversold: 0,
    });
  });

  it('an invalid order is always a 4xx problem with a stable code, and writes nothing', async () => {
    let refused = 0;
    const before = await Promise.all(products.map((p) => readInventory(p.variantId)));
    await fc.assert(
      fc.asyncProperty(validOrderArb, mutationArb, async (order, [, mutate]) => {
        const body = mutate(order as Record<string, unknown>);
        const res = await signed(JSON.stringify(body));
        assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 300)} -> ${res.status} ${JSON.stringify(res.json)}`);
        assert.equal(res.json.code, 'INVALID_PAYLOAD');
        assert.match(res.contentType, /^application\/problem\+json/);
        assert.ok(Array.isArray(res.json.errors));
        assert.equal(await readOrder(order.id), null);
        refused++;
      }),
      { numRuns: 700 },
    );
    const afterRun = await Promise.all(products.map((p) => readInventory(p.variantId)));
    assert.deepEqual(
      afterRun.map((r) => r!.availableQuantity),
      before.map((r) => r!.availableQuantity),
      'no stock moved',
    );
    report.add({
      scenario: 'property: invalid orders',
      requests: refused,
      faults: 'fast-check mutations',
      accepted: 0,
      refused,
      lost: 0,
      oversold: 0,
    });
  });

  it('bytes that are not a JSON order, signed, are a 400; any signature but the right one is a 401', async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), async (bytes, fakeMac) => {
        const raw = Buffer.from(bytes);
        const garbage = await signed(raw);
        assert.equal(garbage.status, 400, `signed garbage: ${garbage.status} ${JSON.stringify(garbage.json)}`);
        assert.equal(garbage.json.code, 'INVALID_PAYLOAD');
        const forged = await deliver(
          raw,
          shopifyHeaders('', WEBHOOK_SECRET, { 'x-shopify-hmac-sha256': Buffer.from(fakeMac).toString('base64') }),
        );
        assert.equal(forged.status, 401);
        assert.equal(forged.json.code, 'INVALID_SIGNATURE');
        refused += 2;
      }),
      { numRuns: 250 },
    );
    report.add({
      scenario: 'property: random bytes, forged HMACs',
      requests: refused,
      faults: 'fast-check bytes',
      accepted: 0,
      refused,
      lost: 0,
      oversold: 0,
    });
  });
});

describe('signature edge cases not covered by the signature suite', () => {
  const order = () => buildShopifyOrder({ orderId: randomOrderId(), lines: [lineOf(products[0]!, 1)] });
  const cases: Array<[string, (raw: string) => { body: string; signature: string }]> = [
    [
      'the same JSON re-serialised with other whitespace',
      (raw) => ({ body: JSON.stringify(JSON.parse(raw), null, 2), signature: signBody(raw, WEBHOOK_SECRET) }),
    ],
    ['signed with the secret plus a trailing newline', (raw) => ({ body: raw, signature: signBody(raw, `${WEBHOOK_SECRET}\n`) })],
    ['signed with an empty secret', (raw) => ({ body: raw, signature: signBody(raw, '') })],
    ['the signature of another order', (raw) => ({ body: raw, signature: signBody(JSON.stringify(order()), WEBHOOK_SECRET) })],
    [
      'HMAC-SHA1 instead of SHA-256',
      (raw) => ({ body: raw, signature: createHmac('sha1', WEBHOOK_SECRET).update(raw).digest('base64').padEnd(44, 'A') }),
    ],
    // A digest without '+' or '/' reads the same in both alphabets (a valid signature): trailing
    // whitespace, still valid JSON, is added until the two differ.
    [
      'base64url instead of base64',
      (raw) => {
        const urlDigest = (body: string) => createHmac('sha256', WEBHOOK_SECRET).update(body).digest('base64url');
        let body = raw;
        while (!/[-_]/.test(urlDigest(body))) body += ' ';
        return { body, signature: `${urlDigest(body)}=` };
      },
    ],
    [
      'the right digest with one character changed',
      (raw) => {
        const good = signBody(raw, WEBHOOK_SECRET);
        return { body: raw, signature: `${good[0] === 'A' ? 'B' : 'A'}${good.slice(1)}` };
      },
    ],
  ];
  for (const [name, make] of cases) {
    it(`refuses ${name} with 401 INVALID_SIGNATURE and writes nothing`, async () => {
      const o = order();
      const raw = JSON.stringify(o);
      const { body, signature } = make(raw);
      const res = await deliver(body, shopifyHeaders(body, WEBHOOK_SECRET, { 'x-shopify-hmac-sha256': signature }));
      assert.equal(res.status, 401, JSON.stringify(res.json));
      assert.equal(res.json.code, 'INVALID_SIGNATURE');
      assert.equal(await readOrder(o.id), null);
    });
  }

  it('refuses two signature headers joined into one, even when one of them is right', async () => {
    const o = order();
    const raw = JSON.stringify(o);
    const headers = new Headers(shopifyHeaders(raw, WEBHOOK_SECRET));
    headers.append('x-shopify-hmac-sha256', signBody(raw, 'other'));
    const res = await fetch(`${intake.url}/api/shopify/webhooks/orders`, {
      method: 'POST',
      headers,
      body: raw,
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { code: string }).code, 'INVALID_SIGNATURE');
    assert.equal(await readOrder(o.id), null);
  });

  it('answers an empty signed body with 400, not a crash', async () => {
    const res = await signed('');
    assert.equal(res.status, 400);
    assert.equal(res.json.code, 'INVALID_PAYLOAD');
  });
});

describe('hostile strings', () => {
  const fragments = [
    "'; DROP TABLE inventory; --",
    "x'); UPDATE inventory SET available_quantity = 0; --",
    '\u0001\u0007\u001b[31mred\u001b[0m\u007f',
    '\u202Egnp.exe\u200B\uFEFF',
    '𝕳𝖔𝖔𝖉𝖎𝖊 🧥 with emoji and combining e\u0301',
  ];
  for (const text of fragments) {
    it(`stores ${JSON.stringify(text).slice(0, 40)} in a title and a customer-facing name intact, executing nothing`, async () => {
      // The variant id finds the variant; the SKU is stored as Shopify sent it.
      const o = buildShopifyOrder({ orderId: randomOrderId(), lines: [lineOf(products[1]!, 1, { title: text, sku: text })] });
      o.name = text.slice(0, 255);
      const stock = (await readInventory(products[1]!.variantId))!.availableQuantity;
      const res = await signed(JSON.stringify(o));
      assert.equal(res.status, 201, JSON.stringify(res.json));
      const [detail] = await readOrderDetails(o.id);
      assert.equal(detail!.title, text);
      assert.equal(detail!.sku, text);
      assert.equal((await readOrder(o.id))!.name, text.slice(0, 255));
      assert.equal((await readInventory(products[1]!.variantId))!.availableQuantity, stock - 1, 'only this order moved stock');
      const { rows } = await dbPool().query<{ n: number }>(
        "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'inventory'",
      );
      assert.equal(rows[0]!.n, 1);
    });
  }

  it('a NUL character, which PostgreSQL text cannot hold, is refused with 400 and writes nothing', async () => {
    const o = buildShopifyOrder({ orderId: randomOrderId(), lines: [lineOf(products[1]!, 1, { title: 'nul\u0000byte' })] });
    const res = await signed(JSON.stringify(o));
    assert.equal(res.status, 400, JSON.stringify(res.json));
    assert.equal(res.json.code, 'INVALID_PAYLOAD');
    assert.equal(await readOrder(o.id), null);
  });

  it('a 100 KB title is refused with 400 INVALID_PAYLOAD naming the field, and writes nothing', async () => {
    const title = 'Ω'.repeat(50_000);
    const o = buildShopifyOrder({ orderId: randomOrderId(), lines: [lineOf(products[2]!, 1, { title })] });
    const res = await signed(JSON.stringify(o));
    assert.equal(res.status, 400, `${res.status} ${JSON.stringify(res.json)}`);
    assert.equal(res.json.code, 'INVALID_PAYLOAD');
    assert.deepEqual(
      (res.json.errors as Array<{ path: string }>).map((e) => e.path),
      ['line_items[0].title'],
    );
    assert.equal(await readOrder(o.id), null);
    report.add({ scenario: '100 KB title -> 400', requests: 1, faults: 'oversized field', accepted: 0, refused: 1, lost: 0, oversold: 0 });
  });
});

describe("the running stack's data-api and its bearer token", () => {
  const endpoints: Array<[string, string, unknown?]> = [
    ['GET', '/internal/orders/1001'],
    ['POST', '/internal/variants/resolve', { orderId: '1001', lines: [{ lineItemId: '1', productId: '1', variantId: '1', sku: 'X' }] }],
    ['GET', '/internal/inventory?variantIds=1'],
    ['POST', '/internal/orders', { order: {}, lines: [] }],
    ['GET', '/internal/no-such-endpoint'],
  ];
  for (const [method, path, body] of endpoints) {
    it(`refuses ${method} ${path} with 401 without a token, with a wrong one, and with a non-Bearer scheme`, async () => {
      for (const authorization of [
        undefined,
        'Bearer wrong-token',
        `Basic ${Buffer.from(`x:${stackEnv().INTERNAL_API_TOKEN}`).toString('base64')}`,
        'Bearer',
      ]) {
        const res = await fetch(`${stackEnv().DATA_API_URL}${path}`, {
          method,
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(5_000),
        });
        assert.equal(res.status, 401, `${authorization ?? 'no token'}`);
        assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHORIZED');
      }
    });
  }

  it('refuses, with its token, a commit whose title holds NUL with 400, not a failed INSERT', async () => {
    const product = products[0]!;
    const orderId = randomOrderId();
    const res = await fetch(`${stackEnv().DATA_API_URL}/internal/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stackEnv().INTERNAL_API_TOKEN}` },
      body: JSON.stringify({
        order: {
          orderId: String(orderId),
          orderNumber: 1,
          name: '#1',
          customerId: null,
          currency: 'USD',
          totalPrice: '10.00',
          financialStatus: 'paid',
          createdAt: '2026-11-24T08:00:00Z',
          webhookId: `nul-${orderId}`,
          eventId: null,
          locationId: null,
        },
        lines: [
          {
            lineItemId: String(orderId + 1),
            productId: String(product.productId),
            variantId: String(product.variantId),
            sku: product.sku,
            title: 'nul\u0000byte',
            quantity: 1,
            price: '10.00',
          },
        ],
      }),
      signal: AbortSignal.timeout(5_000),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { code: string }).code, 'INVALID_PAYLOAD');
    assert.equal(await readOrder(orderId), null);
    assert.deepEqual(
      (await readMovements(product.variantId)).filter((m) => m.reference === String(orderId)),
      [],
      'no movement',
    );
  });

  it('serves /health/live, /health/ready and /metrics without a token', async () => {
    for (const path of ['/health/live', '/health/ready', '/metrics']) {
      const res = await fetch(`${stackEnv().DATA_API_URL}${path}`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      assert.equal(res.status, 200, path);
    }
  });
});

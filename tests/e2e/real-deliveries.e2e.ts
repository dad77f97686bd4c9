/**
 * The nine orders/create bodies Shopify really sent (tests/fixtures/shopify/, copied byte for byte
 * with their sources from the project's shared folder), each signed and delivered unedited to the
 * running stack with its variants provisioned. What each must produce is written below as literals,
 * read off the bodies by hand (tests/fixtures/shopify/README.md), never by the parser under test: the
 * 201, the exact ids in PostgreSQL, one `order` movement and one Kafka event per variant, and
 * Shopify (the stand-in) lowered to the database's figure for each inventory item.
 */
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { closeDb, dbPool, readMovements } from '../support/db.js';
import { buildShopifyOrder, randomOrderId } from '../support/orders.js';
import { setShopifyLevels, shopifyAvailable, shopifyLevels, raisesBySystem } from '../support/shopify-stand-in.js';
import { REPO_ROOT, stackEnv } from '../support/stack-env.js';
import { stubWmsInventory, wmsRequestsFor } from '../support/wiremock.js';
import { ledgerOf, postOrder, publishedEventsOf, waitFor } from './support.js';

const FIXTURES = path.join(REPO_ROOT, 'tests', 'fixtures', 'shopify');
const STOCK = 1_000;
const LOCATION = stackEnv().SHOPIFY_LOCATION_ID;

/** One variant a body draws on: what the inventory holds for it, and the body's lines of it. */
interface ExpectedVariant {
  variantId: string;
  productId: string;
  /** The SKU the inventory (and the WMS) know it by; `REAL-<variant id>` where the line's SKU is empty. */
  sku: string;
  /** Its lines: line item id and quantity. */
  lines: Array<[lineItemId: string, quantity: number]>;
  /** Summed over its lines. */
  quantity: number;
}

interface Expected {
  file: string;
  orderId: string;
  customerId: string | null;
  variants: ExpectedVariant[];
  /** Lines that hold no stock (a tip, a bundle component): stored with the order, reserving nothing. */
  nonStockLineItemIds: string[];
  /** What the body is here to prove. */
  proves: string;
}

const v = (variantId: string, productId: string, sku: string, lines: Array<[string, number]>): ExpectedVariant => ({
  variantId,
  productId,
  sku,
  lines,
  quantity: lines.reduce((sum, [, quantity]) => sum + quantity, 0),
});

/**
 * Files 01-03 were stored after a JSON.parse round trip by their sources, so their 18-digit ids are
 * already rounded in the bytes (820982911946154500): those rounded values are what Shopify's text
 * says here, and they must come back exactly as written. File 09 has the exact wire ids.
 */
const EXPECTED: Expected[] = [
  {
    file: '01-shopify-docs-sample-2026-04.json',
    orderId: '820982911946154500',
    customerId: '115310627314723950',
    // variant_id is null on every line (Shopify's sample): each variant is found by its SKU among
    // product 788032119674292900's variants. These three variant ids are the inventory's own.
    variants: [
      v('9100000000001', '788032119674292900', 'SKU2006-001', [['487817672276298560', 1]]),
      v('9100000000020', '788032119674292900', 'SKU2006-020', [['976318377106520300', 1]]),
      v('9100000000035', '788032119674292900', 'SKU2006-035', [['315789986012684400', 1]]),
    ],
    nonStockLineItemIds: ['789012345678901200', '890123456789012400'],
    proves: 'three variants of one product found by SKU; two bundle components reserve nothing',
  },
  {
    file: '02-hookdeck-delivery-2023-01-CAD.json',
    orderId: '820982911946154500',
    customerId: '115310627314723950',
    variants: [
      v('41886814240980', '7339056169172', '1', [['866550311766439000', 1]]),
      v('43383372185812', '7788537905364', 'REAL-43383372185812', [['141249953214522980', 1]]),
    ],
    nonStockLineItemIds: [],
    proves: 'CAD, a non-ASCII title, a line with an empty SKU found by its variant id',
  },
  {
    file: '03-hookdeck-delivery-2024-10.json',
    orderId: '820982911946154500',
    customerId: '115310627314723950',
    variants: [
      v('808950810', '632910392', 'IPOD2008PINK', [
        ['866550311766439000', 1],
        ['141249953214522980', 1],
      ]),
    ],
    nonStockLineItemIds: [],
    proves: 'two lines of one variant are one demand of 2',
  },
  {
    file: '04-taxreceipts-order-with-tip-CAD.json',
    orderId: '4359400227009',
    customerId: '5927039631553',
    variants: [v('41383274741953', '7157413183681', 'REAL-41383274741953', [['10963008618689', 2]])],
    nonStockLineItemIds: ['10963008585921'],
    proves: 'a tip reserves nothing; a 2x line with an empty SKU',
  },
  {
    file: '05-taxreceipts-order-before-refund.json',
    orderId: '762815840312',
    customerId: '929937489976',
    variants: [v('8027085573', '2757640645', 'GD802-025', [['2435146022968', 2]])],
    nonStockLineItemIds: [],
    proves: 'an older payload shape',
  },
  {
    file: '06-taxreceipts-order-webhook-docs-450789469.json',
    orderId: '450789469',
    customerId: '207119551',
    variants: [
      v('39072856', '632910392', 'IPOD2008GREEN', [['466157049', 1]]),
      v('49148385', '632910392', 'IPOD2008RED', [['518995019', 1]]),
      v('457924702', '632910392', 'IPOD2008BLACK', [['703073504', 1]]),
    ],
    nonStockLineItemIds: [],
    proves: 'three variants of one product, each its own stock-keeping unit',
  },
  {
    file: '07-rubyway-staging-recharge-bundle.json',
    orderId: '5665811235126',
    customerId: '7542816964918',
    variants: [
      v('47254522069302', '8850826527030', '40-82-01-IW', [['14624555499830', 2]]),
      v('47254550348086', '8850976735542', '90-32-01-IW', [['14624555532598', 2]]),
      v('47254569058614', '8851021267254', '40-32-09-IW', [['14624555565366', 2]]),
      v('47254524854582', '8850827903286', '40-32-08-IW', [['14624555598134', 2]]),
      v('47254522036534', '8850826494262', '40-83-19-IW', [['14624555630902', 1]]),
      v('47254524363062', '8850827542838', '40-14-03-IW', [['14624555663670', 2]]),
    ],
    nonStockLineItemIds: [],
    proves: 'a name without #, six subscription-bundle lines',
  },
  {
    file: '08-sbr-devstore-INR-30-variants.json',
    orderId: '1944904171565',
    customerId: '2754666922029',
    variants: [
      v('31780654612525', '4472237490221', '003829926-IN-XS', [['4310120169517', 1]]),
      v('31780652580909', '4472237490221', '002163554-CI-L', [['4310120202285', 1]]),
      v('31780651335725', '4472237490221', '002163554-CI-M', [['4310120235053', 1]]),
      v('31780649762861', '4472237490221', '002163554-CI-S', [['4310120267821', 1]]),
      v('31780645273645', '4472237490221', '002163554-BL-S', [['4310120300589', 1]]),
      v('31780639703085', '4472237490221', '001422591-OL-L', [['4310120333357', 1]]),
      v('31780639178797', '4472237490221', '001422591-OL-M', [['4310120366125', 1]]),
      v('31780638818349', '4472237490221', '001422591-OL-S', [['4310120398893', 1]]),
      v('31780638195757', '4472237490221', '001201080-WH-L', [['4310120431661', 1]]),
      v('31780637442093', '4472237490221', '001201080-WH-M', [['4310120464429', 1]]),
      v('31780636786733', '4472237490221', '001201080-WH-S', [['4310120497197', 1]]),
      v('31780642816045', '4472237490221', '001991357-NA-ML', [['4310120529965', 1]]),
      v('31780641931309', '4472237490221', '001991357-NA-SM', [['4310120562733', 1]]),
      v('31780633509933', '4472237490221', '001190122-NA-10', [['4310120595501', 1]]),
      v('31780632068141', '4472237490221', '001190122-NA-9', [['4310120628269', 1]]),
      v('31780629905453', '4472237490221', '001190122-NA-8', [['4310120661037', 1]]),
      v('31780628267053', '4472237490221', '001190122-NA-7', [['4310120693805', 1]]),
      v('31780627513389', '4472237490221', '001190122-NA-6', [['4310120726573', 1]]),
      v('31780653989933', '4472237490221', '002788446-NA-L', [['4310120759341', 1]]),
      v('31780653432877', '4472237490221', '002788446-NA-M', [['4310120792109', 1]]),
      v('31780652941357', '4472237490221', '002788446-NA-S', [['4310120824877', 1]]),
      v('31780647075885', '4472237490221', '002163554-BL-M', [['4310120857645', 1]]),
      v('31780644323373', '4472237490221', '001991357-BL-ML', [['4310120890413', 1]]),
      v('31780643274797', '4472237490221', '001991357-BL-SM', [['4310120923181', 1]]),
      v('31780622893101', '4472237490221', '001010596-BL-L', [['4310120955949', 1]]),
      v('31780621942829', '4472237490221', '001010596-BL-M', [['4310120988717', 1]]),
      v('31780619386925', '4472237490221', '001010596-BL-S', [['4310121021485', 1]]),
      v('31780617289773', '4472237490221', '001010596-BL-XS', [['4310121054253', 1]]),
      v('31780649238573', '4472237490221', '002163554-BL-L', [['4310121087021', 1]]),
      v('31780563615789', '4472237490221', 'REAL-31780563615789', [['4310121119789', 1]]),
    ],
    nonStockLineItemIds: [],
    proves: '30 variants of product 4472237490221: 30 stock-keeping units, each down by 1, at Shopify too',
  },
  {
    file: '09-shopify-test-notification-wire-exact-ids.json',
    orderId: '820982911946154508',
    customerId: '115310627314723954',
    variants: [
      v('808950810', '632910392', 'IPOD2008PINK', [
        ['866550311766439020', 1],
        ['141249953214522974', 1],
      ]),
    ],
    nonStockLineItemIds: [],
    proves: 'the exact ids above 2^53 of the test notification',
  },
];

/** Inventory items above 2^53, so the event and Shopify's level prove they stay exact. */
const bigId = () => String(2n ** 60n + BigInt(randomInt(1, 2 ** 47)));

/** Every order and variant this file created, removed at the end (the ids are Shopify's real ones). */
const touched = { orderIds: new Set<string>(), variantIds: new Set<string>() };

/** Forgets orders of these ids or drawing on these variants, then the variants themselves. */
async function forget(orderIds: string[], variantIds: string[]): Promise<void> {
  const db = dbPool();
  const { rows } = await db.query<{ order_id: string }>(
    `SELECT order_id::text FROM orders WHERE order_id = ANY($1::bigint[])
     UNION SELECT order_id::text FROM order_detail WHERE variant_id = ANY($2::bigint[])`,
    [orderIds, variantIds],
  );
  const orders = rows.map((r) => r.order_id);
  await db.query('DELETE FROM outbox_event WHERE order_id = ANY($1::bigint[])', [orders]);
  await db.query('DELETE FROM orders WHERE order_id = ANY($1::bigint[])', [orders]);
  await db.query('DELETE FROM inventory WHERE variant_id = ANY($1::bigint[])', [variantIds]);
}

/**
 * Each variant in stock: its row at zero, then STOCK through an `import` movement (the ledger is the
 * only writer of stock), Shopify's level at the same figure (an in-sync store that did not take the
 * order: the test sends the webhook itself), and the WMS confirming it by its SKU. An earlier
 * delivery of the same order (files 01-03 share Shopify's sample order id) is forgotten first.
 */
async function provision(expected: Expected) {
  const variantIds = expected.variants.map((x) => x.variantId);
  await forget([expected.orderId], variantIds);
  touched.orderIds.add(expected.orderId);
  const items = new Map<string, string>();
  for (const variant of expected.variants) {
    touched.variantIds.add(variant.variantId);
    const inventoryItemId = bigId();
    items.set(variant.variantId, inventoryItemId);
    await dbPool().query(
      `INSERT INTO inventory (variant_id, product_id, sku, title, price, currency, shopify_inventory_item_id, shopify_location_id)
       VALUES ($1, $2, $3, $4, '10.00', 'USD', $5, $6)`,
      [variant.variantId, variant.productId, variant.sku, `Real delivery variant ${variant.variantId}`, inventoryItemId, LOCATION],
    );
    await dbPool().query(
      `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key) VALUES ($1, $2, 'import', 'real-deliveries', $3)`,
      [variant.variantId, STOCK, `test-import:${variant.variantId}:${randomUUID()}`],
    );
  }
  await setShopifyLevels(
    expected.variants.map((x) => ({ inventoryItemId: items.get(x.variantId)!, locationId: LOCATION, available: STOCK })),
  );
  const removers = await Promise.all(expected.variants.map((x) => stubWmsInventory(x.sku, { availableQuantity: STOCK })));
  return { items, cleanup: () => Promise.all(removers.map((remove) => remove())) };
}

after(async () => {
  await forget([...touched.orderIds], [...touched.variantIds]).catch(() => undefined);
  await closeDb();
});

describe("Shopify's real orders/create deliveries, one stock-keeping unit per variant", () => {
  it('finds the nine bodies and their README in tests/fixtures/shopify/', () => {
    const files = readdirSync(FIXTURES).sort();
    assert.deepEqual(files, [...EXPECTED.map((e) => e.file), 'README.md'].sort());
  });

  for (const expected of EXPECTED) {
    it(`accepts ${expected.file} (${expected.proves}): exact ids, one movement and one event per variant, Shopify lowered`, async () => {
      const raw = readFileSync(path.join(FIXTURES, expected.file), 'utf8');
      const { items, cleanup } = await provision(expected);
      const { orderId } = expected;
      try {
        const since = Date.now() - 1_000;
        const res = await postOrder(raw, { 'x-shopify-webhook-id': `real-${randomUUID()}` });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        assert.deepEqual(res.json, { status: 'success', message: 'Order received and processed', order_id: orderId });

        const { rows: orders } = await dbPool().query<{ order_id: string; customer_id: string | null; status: string }>(
          'SELECT order_id::text, customer_id::text, status FROM orders WHERE order_id = $1',
          [orderId],
        );
        assert.deepEqual(orders, [{ order_id: orderId, customer_id: expected.customerId, status: 'accepted' }]);

        // One row per line item as Shopify sent it, each with the variant it drew on and what it reserved.
        const { rows: details } = await dbPool().query<{ line_item_id: string; variant_id: string | null; reserved: number }>(
          'SELECT line_item_id::text, variant_id::text, reserved FROM order_detail WHERE order_id = $1 ORDER BY line_item_id',
          [orderId],
        );
        const expectedDetails = [
          ...expected.variants.flatMap((x) =>
            x.lines.map(([id, quantity]) => ({ line_item_id: id, variant_id: x.variantId, reserved: quantity })),
          ),
          ...expected.nonStockLineItemIds.map((id) => ({ line_item_id: id, variant_id: null, reserved: 0 })),
        ].sort((a, b) => (BigInt(a.line_item_id) < BigInt(b.line_item_id) ? -1 : 1));
        assert.deepEqual(details, expectedDetails);

        // Each variant down by its own quantity, through exactly one `order` movement.
        for (const x of expected.variants) {
          const orderMovements = (await readMovements(x.variantId)).filter((m) => m.reason === 'order');
          assert.deepEqual(
            orderMovements.map(({ delta, reference, idempotencyKey, availableAfter }) => ({
              delta,
              reference,
              idempotencyKey,
              availableAfter,
            })),
            [
              {
                delta: -x.quantity,
                reference: orderId,
                idempotencyKey: `order:${orderId}:${x.variantId}`,
                availableAfter: STOCK - x.quantity,
              },
            ],
            `variant ${x.variantId}`,
          );
        }
        const ledger = await ledgerOf(expected.variants.map((x) => Number(x.variantId)));
        assert.deepEqual(
          ledger.map((l) => [String(l.variantId), l.availableQuantity, l.movementSum, l.movementCount, l.version]).sort(),
          expected.variants.map((x) => [x.variantId, STOCK - x.quantity, STOCK - x.quantity, 2, 2]).sort(),
          'stock = the sum of the movements, version = their count',
        );

        // One event per variant, keyed by it, read to the end of the topic: a second copy would show.
        const events = await publishedEventsOf(orderId, {
          since,
          predicate: (e) => items.get(e.value.variantId) === e.value.inventoryItemId,
        });
        assert.deepEqual(events.map((e) => e.key).sort(), expected.variants.map((x) => x.variantId).sort(), 'one event per variant');
        for (const x of expected.variants) {
          const event = events.find((e) => e.key === x.variantId)!;
          const [movement] = (await readMovements(x.variantId)).filter((m) => m.reason === 'order');
          const { eventId, occurredAt, ...fields } = event.value;
          assert.match(eventId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
          assert.ok(!Number.isNaN(Date.parse(occurredAt)), `occurredAt ${occurredAt}`);
          assert.deepEqual(fields, {
            movementId: movement!.id,
            reason: 'order',
            reference: orderId,
            orderId,
            variantId: x.variantId,
            productId: x.productId,
            sku: x.sku,
            inventoryItemId: items.get(x.variantId),
            locationId: LOCATION,
            delta: -x.quantity,
            availableAfter: STOCK - x.quantity,
            inventoryVersion: 2,
            shopifyKnows: true,
          });
          assert.equal((await wmsRequestsFor(x.sku)).length > 0, true, `the WMS was asked about ${x.sku}`);
        }

        // Shopify did not take this order (the test sent it): the stream lowers each item to the database's figure.
        await waitFor(
          "Shopify to hold each variant's new quantity",
          async () => {
            const held = await Promise.all(expected.variants.map((x) => shopifyAvailable(items.get(x.variantId)!, LOCATION)));
            return held.every((h, i) => h === STOCK - expected.variants[i]!.quantity);
          },
          60_000,
        );
        for (const x of expected.variants) {
          const [level] = await shopifyLevels(items.get(x.variantId)!);
          assert.deepEqual(raisesBySystem(level!), [], `Shopify never raised for ${x.variantId}`);
        }
      } finally {
        await cleanup();
      }
    });
  }

  it('body 08 is 30 stock-keeping units of one product, with 30 inventory items', () => {
    const body08 = EXPECTED.find((e) => e.file.startsWith('08-'))!;
    assert.equal(body08.variants.length, 30);
    assert.equal(new Set(body08.variants.map((x) => x.variantId)).size, 30);
    assert.equal(new Set(body08.variants.map((x) => x.sku)).size, 30);
    assert.deepEqual([...new Set(body08.variants.map((x) => x.productId))], ['4472237490221']);
    // The 30 lines each name their variant in the body's bytes.
    const raw = readFileSync(path.join(FIXTURES, body08.file), 'utf8');
    for (const x of body08.variants) assert.match(raw, new RegExp(`"variant_id":\\s*${x.variantId}\\b`));
  });

  it('accepts an order of a tip alone with 201, and reserves and publishes nothing', async () => {
    const orderId = randomOrderId();
    const body = buildShopifyOrder({ orderId, lines: [{ productId: 8_000_000_000_001, quantity: 1, price: '4.50', title: 'Tip' }] });
    const [tip] = body.line_items as Array<Record<string, unknown>>;
    tip!.product_id = null;
    tip!.variant_id = null;
    tip!.sku = null;
    tip!.requires_shipping = false;
    const since = Date.now() - 1_000;
    const res = await postOrder(body);
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.order_id, String(orderId));
    const { rows } = await dbPool().query(
      'SELECT product_id, variant_id, line_item_id::text, title, price::text, reserved FROM order_detail WHERE order_id = $1',
      [String(orderId)],
    );
    assert.deepEqual(rows, [
      { product_id: null, variant_id: null, line_item_id: String(tip!.id), title: 'Tip', price: '4.50', reserved: 0 },
    ]);
    const outbox = await dbPool().query('SELECT 1 FROM outbox_event WHERE order_id = $1', [String(orderId)]);
    assert.equal(outbox.rowCount, 0, 'no inventory event');
    const published = await publishedEventsOf(orderId, { since });
    assert.equal(published.length, 0);
  });
});

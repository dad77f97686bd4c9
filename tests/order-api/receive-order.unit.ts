import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { validateOrder } from '../../services/order-manage-api/src/domain/order.js';
import { createVariantCache, type VariantCache } from '../../services/order-manage-api/src/domain/variant-cache.js';
import { createReceiveOrder } from '../../services/order-manage-api/src/use-cases/receive-order.js';
import { aDelivery, anOrder, IntakeWorld, lineItemId, lineOf, type Variant, WAREHOUSE_LOCATION } from '../support/in-memory-intake.js';
import { buildShopifyOrder } from '../support/orders.js';

const ORDER = '820982911946154508';
const TSHIRT = '7523456789001';
// The demo catalogue's T-shirt in three sizes, a mug and a watch (db/catalogue.ts).
const TSHIRT_S: Variant = { productId: TSHIRT, variantId: '45123456790001', sku: 'TSHIRT-BLK-S' };
const TSHIRT_M: Variant = { productId: TSHIRT, variantId: '45123456790002', sku: 'TSHIRT-BLK-M' };
const TSHIRT_L: Variant = { productId: TSHIRT, variantId: '45123456790003', sku: 'TSHIRT-BLK-L' };
const MUG: Variant = { productId: '7523456789006', variantId: '45123456790008', sku: 'MUG-CERAMIC-350' };
const WATCH: Variant = { productId: '7523456789012', variantId: '45123456790014', sku: 'WATCH-FIELD-38' };

const receive = (world: IntakeWorld) => createReceiveOrder(world.deps);

/** An order of two T-shirts (M) and one mug (and tips), which our stock and the WMS both cover unless a test says otherwise. */
const twoVariants = (spec: { nonStockLines?: number } = {}) =>
  anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 2), lineOf(MUG, 1)], ...spec });

const stockedWorld = () => new IntakeWorld().stock(TSHIRT_M, 120).stock(MUG, 1).wmsStock(TSHIRT_M.sku, 118).wmsStock(MUG.sku, 1);

/** The same world, which already accepted the order under webhook-1 for event-1. */
const knownOrderWorld = () => stockedWorld().knownOrder(ORDER, 'webhook-1', 'event-1');

/** What the resolve is asked for the two-variant order: its stock lines as Shopify sent them. */
const twoVariantsAsked = {
  orderId: ORDER,
  lines: [
    { lineItemId: lineItemId(0), productId: TSHIRT, variantId: TSHIRT_M.variantId, sku: TSHIRT_M.sku },
    { lineItemId: lineItemId(1), productId: MUG.productId, variantId: MUG.variantId, sku: MUG.sku },
  ],
};

const wmsFailure = (sku: string, cause = 'answered 503', attempts = 3) => `WMS check of SKU ${sku} failed ${attempts} attempts: ${cause}`;

describe('the intake use case: known orders', () => {
  const knownOrderCases = [
    [
      'a redelivery of the same webhook is replayed by the resolve, before the WMS or the commit',
      { webhookId: 'webhook-1', eventId: 'event-1' },
      'replayed',
    ],
    [
      'a redelivery with the same X-Shopify-Event-Id under another webhook id (a second subscription) is replayed',
      { webhookId: 'webhook-2', eventId: 'event-1' },
      'replayed',
    ],
    ['a redelivery of the same webhook without an event id is replayed', { webhookId: 'webhook-1', eventId: null }, 'replayed'],
    [
      'the same order from another webhook and another event is already_exists',
      { webhookId: 'webhook-2', eventId: 'event-2' },
      'already_exists',
    ],
    [
      'the same order from another webhook without an event id is already_exists',
      { webhookId: 'webhook-2', eventId: null },
      'already_exists',
    ],
  ] as const;
  for (const [behaviour, delivery, kind] of knownOrderCases) {
    it(behaviour, async () => {
      const world = knownOrderWorld();
      assert.deepEqual(await receive(world)(twoVariants(), aDelivery(delivery)), { orderId: ORDER, kind });
      assert.deepEqual(world.resolves, [twoVariantsAsked]);
      assert.deepEqual(world.wmsAsked, []);
      assert.deepEqual(world.commits, []);
      assert.equal(world.stockOf(TSHIRT_M), 120, 'nothing decremented');
    });
  }

  it('an order known without an event id is not matched by a delivery without one under another webhook id', async () => {
    const world = stockedWorld().knownOrder(ORDER, 'webhook-1', null);
    assert.deepEqual(await receive(world)(twoVariants(), aDelivery({ webhookId: 'webhook-2', eventId: null })), {
      orderId: ORDER,
      kind: 'already_exists',
    });
  });

  const knownOrderWhileHeldCases = [
    ['a redelivery is replayed even while the WMS hold runs', 'webhook-1', 'replayed'],
    ['another delivery of a known order is already_exists while the WMS hold runs, not a 503', 'webhook-2', 'already_exists'],
  ] as const;
  for (const [behaviour, webhookId, kind] of knownOrderWhileHeldCases) {
    it(behaviour, async () => {
      const world = knownOrderWorld().holdRunning(42);
      assert.deepEqual(await receive(world)(twoVariants(), aDelivery({ webhookId, eventId: 'event-9' })), { orderId: ORDER, kind });
      assert.deepEqual(world.wmsAsked, []);
      assert.deepEqual(world.commits, []);
    });
  }

  it('a redelivery our stock and the WMS would now refuse (our first delivery took the stock) is replayed, not refused', async () => {
    const world = knownOrderWorld().stock(MUG, 0).wmsStock(MUG.sku, 0);
    assert.deepEqual(await receive(world)(twoVariants(), aDelivery()), { orderId: ORDER, kind: 'replayed' });
    assert.deepEqual(world.commits, []);
  });

  it('after an accepted order, a redelivery of its webhook or its event is replayed and another delivery is already_exists', async () => {
    const world = stockedWorld();
    const receiveOrder = receive(world);
    assert.equal((await receiveOrder(twoVariants(), aDelivery({ webhookId: 'webhook-1', eventId: 'event-1' }))).kind, 'accepted');
    assert.deepEqual(await receiveOrder(twoVariants(), aDelivery({ webhookId: 'webhook-1', eventId: 'event-1' })), {
      orderId: ORDER,
      kind: 'replayed',
    });
    assert.deepEqual(await receiveOrder(twoVariants(), aDelivery({ webhookId: 'webhook-7', eventId: 'event-1' })), {
      orderId: ORDER,
      kind: 'replayed',
    });
    assert.deepEqual(await receiveOrder(twoVariants(), aDelivery({ webhookId: 'webhook-9', eventId: 'event-9' })), {
      orderId: ORDER,
      kind: 'already_exists',
    });
    assert.equal(world.stockOf(TSHIRT_M), 118, 'decremented once');
    assert.equal(world.stockOf(MUG), 0, 'decremented once');
    assert.equal(world.resolves.length, 1, 'the redeliveries name cached variants: the commit, which refuses a known order, answers them');
  });
});

describe('the intake use case: an order our stock and the WMS cover', () => {
  it('is accepted with its line and variant counts after one resolve, the WMS and the commit', async () => {
    const world = stockedWorld();
    const outcome = await receive(world)(twoVariants({ nonStockLines: 3 }), aDelivery());
    assert.deepEqual(outcome, { orderId: ORDER, kind: 'accepted', variants: 2, lines: 5 });
    assert.deepEqual(world.resolves, [twoVariantsAsked], 'only the stock lines are resolved');
    assert.deepEqual(world.wmsAsked, [TSHIRT_M.sku, MUG.sku]);
    assert.equal(world.commits.length, 1);
    assert.equal(world.stockOf(TSHIRT_M), 118);
    assert.equal(world.stockOf(MUG), 0);
    assert.equal(world.holdStarts, 0);
    assert.deepEqual(world.log, []);
  });

  it('the commit request carries the order, every line with the variant it resolved to (null for a tip), the webhook id and the event id', async () => {
    const world = stockedWorld();
    const order = twoVariants({ nonStockLines: 1 });
    await receive(world)(order, aDelivery({ webhookId: 'b54557e4-2f4a-4d3a-9c55-0c1b1f0e8201', eventId: 'f0b658c6-e33c-40d9' }));
    assert.deepEqual(world.commits, [
      {
        order: { ...order.order, webhookId: 'b54557e4-2f4a-4d3a-9c55-0c1b1f0e8201', eventId: 'f0b658c6-e33c-40d9' },
        lines: [
          {
            lineItemId: lineItemId(0),
            productId: TSHIRT,
            variantId: TSHIRT_M.variantId,
            sku: TSHIRT_M.sku,
            title: `Variant ${TSHIRT_M.variantId}`,
            quantity: 2,
            price: '10.00',
          },
          {
            lineItemId: lineItemId(1),
            productId: MUG.productId,
            variantId: MUG.variantId,
            sku: MUG.sku,
            title: `Variant ${MUG.variantId}`,
            quantity: 1,
            price: '10.00',
          },
          { lineItemId: lineItemId(2), productId: null, variantId: null, sku: '', title: 'Tip 1', quantity: 1, price: '2.00' },
        ],
      },
    ]);
  });

  it('a delivery without an event id commits with eventId null', async () => {
    const world = stockedWorld();
    await receive(world)(twoVariants(), aDelivery({ eventId: null }));
    assert.equal(world.commits[0]!.order.eventId, null);
    assert.equal(world.commits[0]!.order.webhookId, 'webhook-1');
  });

  it('every data-api call, the resolve and the commit, is bounded by the delivery deadline', async () => {
    const accepted = stockedWorld();
    const refused = stockedWorld().wmsStock(MUG.sku, 0);
    const delivery = aDelivery();
    await receive(accepted)(twoVariants(), delivery);
    await receive(refused)(twoVariants(), delivery);
    assert.equal(accepted.commits.length, 1);
    assert.deepEqual(refused.commits, []);
    assert.deepEqual(
      [...accepted.dataApiDeadlines, ...refused.dataApiDeadlines],
      [delivery.deadline, delivery.deadline, delivery.deadline],
    );
  });

  it('an order whose lines hold no stock skips the resolve, the WMS and its hold, and is committed', async () => {
    const world = new IntakeWorld().holdRunning(30);
    const order = anOrder({ orderId: ORDER, nonStockLines: 2 });
    const outcome = await receive(world)(order, aDelivery());
    assert.deepEqual(outcome, { orderId: ORDER, kind: 'accepted', variants: 0, lines: 2 });
    assert.deepEqual(world.resolves, []);
    assert.deepEqual(world.wmsAsked, []);
    assert.deepEqual(
      world.commits.map((c) => c.lines.map((l) => [l.title, l.variantId])),
      [
        [
          ['Tip 1', null],
          ['Tip 2', null],
        ],
      ],
    );
  });

  it('a line Shopify marks requires_shipping: false holds no stock: never resolved, asked or reserved, but committed with the order', async () => {
    const world = stockedWorld();
    const body = buildShopifyOrder({
      orderId: Number(ORDER.slice(0, 15)),
      lines: [
        { productId: Number(TSHIRT), variantId: Number(TSHIRT_M.variantId), sku: TSHIRT_M.sku, quantity: 1 },
        { productId: Number(MUG.productId), variantId: Number(MUG.variantId), sku: MUG.sku, quantity: 5 },
      ],
    });
    (body.line_items as Array<Record<string, unknown>>)[1]!.requires_shipping = false;
    const validated = validateOrder(body);
    assert.ok(validated.ok);
    const outcome = await receive(world)(validated.intake, aDelivery());
    assert.deepEqual(outcome, { orderId: String(body.id), kind: 'accepted', variants: 1, lines: 2 });
    assert.deepEqual(
      world.resolves.map((r) => r.lines.map((l) => l.sku)),
      [[TSHIRT_M.sku]],
    );
    assert.deepEqual(world.wmsAsked, [TSHIRT_M.sku]);
    assert.deepEqual(
      world.commits[0]!.lines.map((l) => [l.sku, l.quantity, l.variantId]),
      [
        [TSHIRT_M.sku, 1, TSHIRT_M.variantId],
        [MUG.sku, 5, null],
      ],
    );
    assert.equal(world.stockOf(MUG), 1, 'the mug that ships nothing (our stock is 1, the line asks 5) is not reserved');
    assert.equal(world.stockOf(TSHIRT_M), 119);
  });
});

describe('the intake use case: variants', () => {
  it('lines of the same variant are one demand for their summed quantity: one WMS check, one decrement', async () => {
    const world = new IntakeWorld().stock(TSHIRT_M, 10).wmsStock(TSHIRT_M.sku, 10);
    const order = anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 2), lineOf(TSHIRT_M, 3)] });
    assert.deepEqual(await receive(world)(order, aDelivery()), { orderId: ORDER, kind: 'accepted', variants: 1, lines: 2 });
    assert.deepEqual(world.wmsAsked, [TSHIRT_M.sku]);
    assert.deepEqual(
      world.commits[0]!.lines.map((l) => [l.lineItemId, l.variantId, l.quantity]),
      [
        [lineItemId(0), TSHIRT_M.variantId, 2],
        [lineItemId(1), TSHIRT_M.variantId, 3],
      ],
    );
    assert.equal(world.stockOf(TSHIRT_M), 5);
  });

  it('lines of one variant are refused on their sum when each alone would fit, by our stock and by the WMS', async () => {
    const order = anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 2), lineOf(MUG, 1), lineOf(TSHIRT_M, 3)] });
    const ours = new IntakeWorld().stock(TSHIRT_M, 4).stock(MUG, 5).wmsStock(TSHIRT_M.sku, 100).wmsStock(MUG.sku, 5);
    assert.deepEqual(await receive(ours)(order, aDelivery()), {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [{ variantId: TSHIRT_M.variantId, sku: TSHIRT_M.sku, requested: 5, available: 4 }],
      detail: 'There is less stock than ordered.',
    });
    const warehouse = new IntakeWorld().stock(TSHIRT_M, 100).stock(MUG, 5).wmsStock(TSHIRT_M.sku, 4).wmsStock(MUG.sku, 5);
    assert.deepEqual(await receive(warehouse)(order, aDelivery()), {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [{ variantId: TSHIRT_M.variantId, sku: TSHIRT_M.sku, requested: 5, available: 4 }],
      detail: 'The warehouse has less stock than ordered.',
    });
    assert.deepEqual(warehouse.wmsAsked, [TSHIRT_M.sku, MUG.sku]);
  });

  it('three sizes of one product are three demands, each checked and decremented by its own quantity', async () => {
    const world = new IntakeWorld()
      .stock(TSHIRT_S, 80)
      .stock(TSHIRT_M, 120)
      .stock(TSHIRT_L, 90)
      .wmsStock(TSHIRT_S.sku, 80)
      .wmsStock(TSHIRT_M.sku, 120)
      .wmsStock(TSHIRT_L.sku, 90);
    const order = anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_S, 1), lineOf(TSHIRT_M, 2), lineOf(TSHIRT_L, 3)] });
    assert.deepEqual(await receive(world)(order, aDelivery()), { orderId: ORDER, kind: 'accepted', variants: 3, lines: 3 });
    assert.deepEqual(world.wmsAsked, [TSHIRT_S.sku, TSHIRT_M.sku, TSHIRT_L.sku]);
    assert.deepEqual([world.stockOf(TSHIRT_S), world.stockOf(TSHIRT_M), world.stockOf(TSHIRT_L)], [79, 118, 87]);
  });

  it("a line with variant_id null (a deleted variant) is resolved by its SKU among its product's variants", async () => {
    const world = new IntakeWorld().stock(TSHIRT_S, 80).stock(TSHIRT_L, 90).wmsStock(TSHIRT_L.sku, 90);
    const order = anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_L, 2, { variantId: null })] });
    assert.deepEqual(await receive(world)(order, aDelivery()), { orderId: ORDER, kind: 'accepted', variants: 1, lines: 1 });
    assert.deepEqual(world.resolves[0]!.lines, [{ lineItemId: lineItemId(0), productId: TSHIRT, variantId: null, sku: TSHIRT_L.sku }]);
    assert.deepEqual(world.wmsAsked, [TSHIRT_L.sku]);
    assert.equal(world.commits[0]!.lines[0]!.variantId, TSHIRT_L.variantId, 'the commit reserves the variant the SKU found');
    assert.deepEqual([world.stockOf(TSHIRT_S), world.stockOf(TSHIRT_L)], [80, 88]);
  });

  it('a line by SKU and a line by variant id of the same variant are summed into one demand', async () => {
    const world = new IntakeWorld().stock(TSHIRT_L, 4).wmsStock(TSHIRT_L.sku, 100);
    const order = anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_L, 2), lineOf(TSHIRT_L, 3, { variantId: null })] });
    assert.deepEqual(await receive(world)(order, aDelivery()), {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [{ variantId: TSHIRT_L.variantId, sku: TSHIRT_L.sku, requested: 5, available: 4 }],
      detail: 'There is less stock than ordered.',
    });
  });

  it('a line with variant_id null whose SKU belongs to another product is not found: the SKU is looked up within its own product only', async () => {
    const world = new IntakeWorld().stock(MUG, 10).wmsStock(MUG.sku, 10);
    const order = anOrder({ orderId: ORDER, lines: [{ productId: TSHIRT, variantId: null, sku: MUG.sku, quantity: 1 }] });
    assert.deepEqual(await receive(world)(order, aDelivery()), {
      orderId: ORDER,
      kind: 'product_not_found',
      productIds: [TSHIRT],
      variants: [{ productId: TSHIRT, variantId: null, sku: MUG.sku }],
      detail: `Variant(s) no variant (${MUG.sku}) of product ${TSHIRT} are not in inventory.`,
    });
    assert.equal(world.stockOf(MUG), 10);
  });

  it('the WMS is asked by the SKU the inventory holds, not the SKU the line carries (empty, or renamed since)', async () => {
    const world = new IntakeWorld().stock(TSHIRT_S, 80).stock(MUG, 10).wmsStock(TSHIRT_S.sku, 80).wmsStock(MUG.sku, 10);
    const order = anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_S, 1, { sku: '' }), lineOf(MUG, 1, { sku: 'MUG-OLD-NAME' })] });
    assert.deepEqual(await receive(world)(order, aDelivery()), { orderId: ORDER, kind: 'accepted', variants: 2, lines: 2 });
    assert.deepEqual(world.wmsAsked, [TSHIRT_S.sku, MUG.sku]);
    assert.deepEqual(
      world.commits[0]!.lines.map((l) => [l.sku, l.variantId]),
      [
        ['', TSHIRT_S.variantId],
        ['MUG-OLD-NAME', MUG.variantId],
      ],
      'each line is stored as it came',
    );
  });

  it('whatever the lines, each variant is checked once and decremented by the sum of its lines', async () => {
    const catalogue = [TSHIRT_S, TSHIRT_M, TSHIRT_L];
    const lines = fc.array(
      fc.record({ variant: fc.constantFrom(...catalogue), quantity: fc.integer({ min: 1, max: 50 }), bySku: fc.boolean() }),
      { minLength: 1, maxLength: 12 },
    );
    await fc.assert(
      fc.asyncProperty(lines, async (items) => {
        const world = new IntakeWorld();
        for (const v of catalogue) world.stock(v, 1000).wmsStock(v.sku, 1000);
        const order = anOrder({
          orderId: ORDER,
          lines: items.map(({ variant, quantity, bySku }) => lineOf(variant, quantity, bySku ? { variantId: null } : {})),
        });
        const ordered = catalogue.filter((v) => items.some((i) => i.variant === v));
        assert.deepEqual(await receive(world)(order, aDelivery()), {
          orderId: ORDER,
          kind: 'accepted',
          variants: ordered.length,
          lines: items.length,
        });
        assert.deepEqual([...world.wmsAsked].sort(), ordered.map((v) => v.sku).sort());
        for (const v of catalogue) {
          const sum = items.filter((i) => i.variant === v).reduce((total, i) => total + i.quantity, 0);
          assert.equal(world.stockOf(v), 1000 - sum, v.sku);
        }
      }),
    );
  });
});

describe('the intake use case: where the order was sold', () => {
  it('a point-of-sale order at another location reserves nothing: no resolve, no WMS, committed with no variant', async () => {
    const world = stockedWorld().holdRunning(30);
    const order = anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 2), lineOf(MUG, 5)], locationId: '65432100001' });
    assert.deepEqual(await receive(world)(order, aDelivery()), { orderId: ORDER, kind: 'accepted', variants: 0, lines: 2 });
    assert.deepEqual(world.resolves, []);
    assert.deepEqual(world.wmsAsked, []);
    assert.deepEqual(
      world.commits[0]!.lines.map((l) => [l.sku, l.quantity, l.variantId]),
      [
        [TSHIRT_M.sku, 2, null],
        [MUG.sku, 5, null],
      ],
    );
    assert.equal(world.commits[0]!.order.locationId, '65432100001');
    assert.deepEqual([world.stockOf(TSHIRT_M), world.stockOf(MUG)], [120, 1]);
  });

  it("a point-of-sale order at the warehouse's own location reserves like an online order", async () => {
    const world = stockedWorld();
    const order = anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 2), lineOf(MUG, 1)], locationId: WAREHOUSE_LOCATION });
    assert.deepEqual(await receive(world)(order, aDelivery()), { orderId: ORDER, kind: 'accepted', variants: 2, lines: 2 });
    assert.deepEqual(world.wmsAsked, [TSHIRT_M.sku, MUG.sku]);
    assert.deepEqual([world.stockOf(TSHIRT_M), world.stockOf(MUG)], [118, 0]);
  });

  it('a redelivery of a point-of-sale order at another location is replayed by the commit', async () => {
    const world = stockedWorld().knownOrder(ORDER, 'webhook-1', 'event-1');
    const order = anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 2)], locationId: '65432100001' });
    assert.deepEqual(await receive(world)(order, aDelivery()), { orderId: ORDER, kind: 'replayed' });
    assert.deepEqual(await receive(world)(order, aDelivery({ webhookId: 'webhook-2', eventId: 'event-2' })), {
      orderId: ORDER,
      kind: 'already_exists',
    });
    assert.deepEqual(world.resolves, []);
  });
});

describe('the intake use case: our own stock', () => {
  it('variants missing from our inventory are refused before the WMS, naming each product once and each variant as sent', async () => {
    const world = new IntakeWorld().stock(TSHIRT_M, 120).wmsStock(TSHIRT_M.sku, 120).wmsStock(MUG.sku, 5).wmsStock(WATCH.sku, 5);
    const order = anOrder({
      orderId: ORDER,
      lines: [lineOf(MUG, 1), lineOf(TSHIRT_M, 1), lineOf(WATCH, 1), lineOf(TSHIRT_S, 1), lineOf(TSHIRT_L, 1, { variantId: null })],
    });
    const outcome = await receive(world)(order, aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'product_not_found',
      productIds: [MUG.productId, WATCH.productId, TSHIRT],
      variants: [
        { productId: MUG.productId, variantId: MUG.variantId, sku: MUG.sku },
        { productId: WATCH.productId, variantId: WATCH.variantId, sku: WATCH.sku },
        { productId: TSHIRT, variantId: TSHIRT_S.variantId, sku: TSHIRT_S.sku },
        { productId: TSHIRT, variantId: null, sku: TSHIRT_L.sku },
      ],
      detail:
        `Variant(s) ${MUG.variantId} (${MUG.sku}) of product ${MUG.productId}, ${WATCH.variantId} (${WATCH.sku}) of product ${WATCH.productId}, ` +
        `${TSHIRT_S.variantId} (${TSHIRT_S.sku}) of product ${TSHIRT}, no variant (${TSHIRT_L.sku}) of product ${TSHIRT} are not in inventory.`,
    });
    assert.deepEqual(world.wmsAsked, []);
    assert.deepEqual(world.commits, []);
    assert.equal(world.stockOf(TSHIRT_M), 120, 'nothing decremented');
  });

  it('an unknown variant ordered on two lines is named once; deleted variants are told apart by product and SKU', async () => {
    const world = new IntakeWorld();
    const order = anOrder({
      orderId: ORDER,
      lines: [
        lineOf(MUG, 1),
        lineOf(MUG, 2),
        lineOf(TSHIRT_S, 1, { variantId: null, sku: '' }),
        lineOf(TSHIRT_M, 1, { variantId: null }),
        lineOf(TSHIRT_M, 1, { variantId: null }),
        lineOf(MUG, 1, { variantId: null, sku: TSHIRT_M.sku }),
      ],
    });
    const outcome = await receive(world)(order, aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'product_not_found',
      productIds: [MUG.productId, TSHIRT],
      variants: [
        { productId: MUG.productId, variantId: MUG.variantId, sku: MUG.sku },
        { productId: TSHIRT, variantId: null, sku: '' },
        { productId: TSHIRT, variantId: null, sku: TSHIRT_M.sku },
        { productId: MUG.productId, variantId: null, sku: TSHIRT_M.sku },
      ],
      detail:
        `Variant(s) ${MUG.variantId} (${MUG.sku}) of product ${MUG.productId}, no variant (no SKU) of product ${TSHIRT}, ` +
        `no variant (${TSHIRT_M.sku}) of product ${TSHIRT}, no variant (${TSHIRT_M.sku}) of product ${MUG.productId} are not in inventory.`,
    });
  });

  it('a shortage in our stock is refused before the WMS with each short variant and the SKU the inventory holds', async () => {
    const world = new IntakeWorld()
      .stock(TSHIRT_M, 2)
      .stock(MUG, 0)
      .stock(WATCH, 1)
      .wmsStock(TSHIRT_M.sku, 100)
      .wmsStock(MUG.sku, 100)
      .wmsStock(WATCH.sku, 100);
    const order = anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 2), lineOf(MUG, 1, { sku: '' }), lineOf(WATCH, 3)] });
    const outcome = await receive(world)(order, aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [
        { variantId: MUG.variantId, sku: MUG.sku, requested: 1, available: 0 },
        { variantId: WATCH.variantId, sku: WATCH.sku, requested: 3, available: 1 },
      ],
      detail: 'There is less stock than ordered.',
    });
    assert.deepEqual(world.wmsAsked, []);
    assert.deepEqual(world.commits, []);
    assert.equal(world.stockOf(TSHIRT_M), 2, 'nothing decremented');
  });

  it('a refusal by our stock wins over a running WMS hold', async () => {
    const world = new IntakeWorld().stock(TSHIRT_M, 1).holdRunning(42);
    const outcome = await receive(world)(anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 2)] }), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [{ variantId: TSHIRT_M.variantId, sku: TSHIRT_M.sku, requested: 2, available: 1 }],
      detail: 'There is less stock than ordered.',
    });
  });

  it('a variant missing from our inventory wins over the WMS not knowing it either, and over a shortage of another variant', async () => {
    const world = new IntakeWorld().stock(TSHIRT_M, 0).wmsStock(TSHIRT_M.sku, 5);
    const order = anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 1), lineOf(MUG, 1)] });
    const outcome = await receive(world)(order, aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'product_not_found',
      productIds: [MUG.productId],
      variants: [{ productId: MUG.productId, variantId: MUG.variantId, sku: MUG.sku }],
      detail: `Variant(s) ${MUG.variantId} (${MUG.sku}) of product ${MUG.productId} are not in inventory.`,
    });
    assert.deepEqual(world.resolves.length, 1);
    assert.deepEqual(world.wmsAsked, []);
    assert.deepEqual(world.commits, []);
  });

  it('a shortage in our stock wins over a shortage at the WMS', async () => {
    const world = new IntakeWorld().stock(TSHIRT_M, 1).wmsStock(TSHIRT_M.sku, 0);
    const outcome = await receive(world)(anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 2)] }), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [{ variantId: TSHIRT_M.variantId, sku: TSHIRT_M.sku, requested: 2, available: 1 }],
      detail: 'There is less stock than ordered.',
    });
  });
});

describe('the intake use case: the WMS and its hold', () => {
  it('a running WMS hold refuses with its remaining seconds without calling the WMS', async () => {
    const world = stockedWorld().holdRunning(42);
    const outcome = await receive(world)(twoVariants(), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'wms_unavailable',
      retryAfterSeconds: 42,
      detail: 'WMS calls are on hold after repeated failures; retry in 42 s.',
    });
    assert.deepEqual(world.wmsAsked, []);
    assert.equal(world.holdStarts, 0);
    assert.deepEqual(world.commits, []);
  });

  it("a WMS failure (wmsFailed true) starts the hold, logs the failure and answers with the hold's Retry-After", async () => {
    const world = stockedWorld().wmsFails(MUG.sku, { wmsFailed: true }).holdStartsFor(37);
    const outcome = await receive(world)(twoVariants(), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'wms_unavailable',
      retryAfterSeconds: 37,
      detail: `The WMS could not confirm stock (${wmsFailure(MUG.sku)}); retry in 37 s.`,
    });
    assert.equal(world.holdStarts, 1);
    assert.deepEqual(world.warnings(), [
      { message: wmsFailure(MUG.sku), meta: { event: 'wms.check.failed', orderId: ORDER, sku: MUG.sku } },
    ]);
    assert.deepEqual(world.commits, []);
  });

  it('a check the answer deadline cut short (wmsFailed false) does not start the hold and answers Retry-After 5', async () => {
    const world = stockedWorld()
      .wmsFails(TSHIRT_M.sku, { wmsFailed: false, attempts: 1, cause: 'no answer within 120 ms' })
      .holdStartsFor(37);
    const outcome = await receive(world)(twoVariants(), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'wms_unavailable',
      retryAfterSeconds: 5,
      detail: `The WMS could not confirm stock (${wmsFailure(TSHIRT_M.sku, 'no answer within 120 ms', 1)}); retry in 5 s.`,
    });
    assert.equal(world.holdStarts, 0);
    assert.deepEqual(world.warnings(), [
      {
        message: wmsFailure(TSHIRT_M.sku, 'no answer within 120 ms', 1),
        meta: { event: 'wms.check.failed', orderId: ORDER, sku: TSHIRT_M.sku },
      },
    ]);
  });

  it('one WMS failure among checks the deadline cut short starts the hold; the detail names every failure', async () => {
    const world = stockedWorld()
      .wmsFails(TSHIRT_M.sku, { wmsFailed: false, attempts: 2, cause: 'no answer within 90 ms' })
      .wmsFails(MUG.sku, { wmsFailed: true, cause: 'answered 502' })
      .holdStartsFor(60);
    const outcome = await receive(world)(twoVariants(), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'wms_unavailable',
      retryAfterSeconds: 60,
      detail: `The WMS could not confirm stock (${wmsFailure(TSHIRT_M.sku, 'no answer within 90 ms', 2)}; ${wmsFailure(MUG.sku, 'answered 502')}); retry in 60 s.`,
    });
    assert.equal(world.holdStarts, 1);
    assert.deepEqual(
      world.warnings().map((w) => w.meta),
      [
        { event: 'wms.check.failed', orderId: ORDER, sku: TSHIRT_M.sku },
        { event: 'wms.check.failed', orderId: ORDER, sku: MUG.sku },
      ],
    );
  });

  it('a SKU the WMS does not know is refused, naming only the unknown variants, and nothing is committed', async () => {
    const world = new IntakeWorld().stock(TSHIRT_M, 120).stock(MUG, 10).stock(WATCH, 1).wmsStock(MUG.sku, 10);
    const order = anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 1), lineOf(MUG, 1), lineOf(WATCH, 1, { variantId: null })] });
    const outcome = await receive(world)(order, aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'product_not_found',
      productIds: [TSHIRT, WATCH.productId],
      variants: [
        { productId: TSHIRT, variantId: TSHIRT_M.variantId, sku: TSHIRT_M.sku },
        { productId: WATCH.productId, variantId: WATCH.variantId, sku: WATCH.sku },
      ],
      detail: `Variant(s) ${TSHIRT_M.variantId} (${TSHIRT_M.sku}) of product ${TSHIRT}, ${WATCH.variantId} (${WATCH.sku}) of product ${WATCH.productId} are not known to the WMS.`,
    });
    assert.deepEqual(world.commits, []);
    assert.equal(world.holdStarts, 0);
  });

  it('a shortage at the WMS is refused with the warehouse figures, and nothing is committed', async () => {
    const world = stockedWorld().wmsStock(TSHIRT_M.sku, 1);
    const outcome = await receive(world)(twoVariants(), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [{ variantId: TSHIRT_M.variantId, sku: TSHIRT_M.sku, requested: 2, available: 1 }],
      detail: 'The warehouse has less stock than ordered.',
    });
    assert.deepEqual(world.commits, []);
    assert.equal(world.stockOf(TSHIRT_M), 120);
  });

  it('a variant unknown to the WMS wins over another variant short at the WMS', async () => {
    const world = stockedWorld().wmsStock(TSHIRT_M.sku, 1).wmsDoesNotKnow(MUG.sku);
    const outcome = await receive(world)(twoVariants(), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'product_not_found',
      productIds: [MUG.productId],
      variants: [{ productId: MUG.productId, variantId: MUG.variantId, sku: MUG.sku }],
      detail: `Variant(s) ${MUG.variantId} (${MUG.sku}) of product ${MUG.productId} are not known to the WMS.`,
    });
  });

  it("a definite WMS answer (unknown SKU) wins over another variant's failure, which still starts the hold", async () => {
    const world = stockedWorld().wmsDoesNotKnow(TSHIRT_M.sku).wmsFails(MUG.sku, { wmsFailed: true });
    const outcome = await receive(world)(twoVariants(), aDelivery());
    assert.equal(outcome.kind, 'product_not_found');
    assert.deepEqual(outcome.kind === 'product_not_found' && outcome.variants, [
      { productId: TSHIRT, variantId: TSHIRT_M.variantId, sku: TSHIRT_M.sku },
    ]);
    assert.equal(world.holdStarts, 1);
    assert.deepEqual(world.commits, []);
  });

  it("a definite WMS answer (shortage) wins over another variant's failure, judged on the variants the WMS answered", async () => {
    const world = stockedWorld().wmsStock(MUG.sku, 0).wmsFails(TSHIRT_M.sku, { wmsFailed: false });
    const outcome = await receive(world)(twoVariants(), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [{ variantId: MUG.variantId, sku: MUG.sku, requested: 1, available: 0 }],
      detail: 'The warehouse has less stock than ordered.',
    });
    assert.equal(world.holdStarts, 0);
    assert.deepEqual(world.commits, []);
  });

  it('an error from the WMS that is no WmsUnavailableError is rethrown as it is (a bug, not an outcome)', async () => {
    const bug = new TypeError('cannot read properties of undefined');
    const world = stockedWorld().wmsThrows(MUG.sku, bug);
    await assert.rejects(receive(world)(twoVariants(), aDelivery()), (err) => err === bug);
    assert.deepEqual(world.commits, []);
    assert.equal(world.holdStarts, 0);
  });

  it("a bug rethrown wins over another variant's WMS failure", async () => {
    const bug = new RangeError('bad');
    const world = stockedWorld().wmsFails(TSHIRT_M.sku, { wmsFailed: true }).wmsThrows(MUG.sku, bug);
    await assert.rejects(receive(world)(twoVariants(), aDelivery()), (err) => err === bug);
    assert.deepEqual(world.commits, []);
  });

  it('the WMS deadline leaves min(500 ms, a quarter of the time left) for the commit', async () => {
    const cases: Array<[remainingMs: number, wmsMs: number]> = [
      [4000, 3500], // 500 reserved
      [2000, 1500], // a quarter is 500
      [1000, 750], // a quarter, 250
      [1003, 753], // a quarter rounded down, 250
      [0, 0],
    ];
    for (const [remainingMs, wmsMs] of cases) {
      const world = new IntakeWorld().stock(TSHIRT_M, 5).wmsStock(TSHIRT_M.sku, 5);
      await receive(world)(anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 1)] }), aDelivery({ remainingMs: [remainingMs] }));
      assert.deepEqual(world.wmsChecks, [{ sku: TSHIRT_M.sku, deadlineMs: wmsMs }], `${remainingMs} ms left`);
    }
  });

  it('the WMS deadline never goes below zero when time runs out after the reserve was set aside', async () => {
    const world = new IntakeWorld().stock(TSHIRT_M, 5).wmsStock(TSHIRT_M.sku, 5);
    // 2000 ms left when the reserve (500 ms) is set aside, 300 ms when the WMS check starts.
    await receive(world)(anOrder({ orderId: ORDER, lines: [lineOf(TSHIRT_M, 1)] }), aDelivery({ remainingMs: [2000, 300] }));
    assert.deepEqual(world.wmsChecks, [{ sku: TSHIRT_M.sku, deadlineMs: 0 }]);
  });
});

describe('the intake use case: the commit', () => {
  const concurrentCases = [
    [
      'a concurrent delivery of the same webhook that committed first makes this one replayed',
      { existingWebhookId: 'webhook-1', existingEventId: 'event-0' },
      'replayed',
    ],
    [
      'a concurrent delivery of the same event under another webhook that committed first makes this one replayed',
      { existingWebhookId: 'webhook-0', existingEventId: 'event-1' },
      'replayed',
    ],
    [
      'the same order committed first from another webhook and event is already_exists',
      { existingWebhookId: 'webhook-2', existingEventId: 'event-2' },
      'already_exists',
    ],
    [
      'the same order committed first under unknown webhook and event ids is already_exists',
      { existingWebhookId: null, existingEventId: null },
      'already_exists',
    ],
  ] as const;
  for (const [behaviour, existing, kind] of concurrentCases) {
    it(behaviour, async () => {
      const world = stockedWorld().commitAnswers({ kind: 'already_exists', ...existing });
      assert.deepEqual(await receive(world)(twoVariants(), aDelivery({ webhookId: 'webhook-1', eventId: 'event-1' })), {
        orderId: ORDER,
        kind,
      });
    });
  }

  it('a delivery without an event id is not matched by a concurrent commit without one under another webhook', async () => {
    const world = stockedWorld().commitAnswers({ kind: 'already_exists', existingWebhookId: 'webhook-2', existingEventId: null });
    assert.deepEqual(await receive(world)(twoVariants(), aDelivery({ webhookId: 'webhook-1', eventId: null })), {
      orderId: ORDER,
      kind: 'already_exists',
    });
  });

  it('refusals of the commit are passed on as they are', async () => {
    const refusals = [
      {
        kind: 'product_not_found',
        productIds: [MUG.productId],
        variants: [{ productId: MUG.productId, variantId: MUG.variantId, sku: MUG.sku }],
        detail: `Variant(s) ${MUG.variantId} (${MUG.sku}) of product ${MUG.productId} are not in inventory.`,
      },
      {
        kind: 'insufficient_inventory',
        items: [{ variantId: TSHIRT_M.variantId, sku: TSHIRT_M.sku, requested: 2, available: 1 }],
        detail: 'There is less stock than ordered.',
      },
      {
        kind: 'invalid_payload',
        errors: [{ path: 'order.name', reason: 'name must not be empty' }],
        detail: 'The order failed validation.',
      },
    ] as const;
    for (const refusal of refusals) {
      const world = stockedWorld().commitAnswers(structuredClone(refusal) as never);
      assert.deepEqual(await receive(world)(twoVariants(), aDelivery()), { orderId: ORDER, ...refusal }, refusal.kind);
    }
  });

  it("a 4xx of the data-api's own becomes refused_by_data_api with its problem", async () => {
    const problem = { status: 413, code: 'PAYLOAD_TOO_LARGE', detail: 'The request body is larger than 1 MiB.' };
    const world = stockedWorld().dataApiRefusesTheCommit(problem);
    assert.deepEqual(await receive(world)(twoVariants(), aDelivery()), { orderId: ORDER, kind: 'refused_by_data_api', problem });
  });

  it('an unreachable data-api becomes data_api_unavailable with its reason, before the WMS is asked', async () => {
    const world = stockedWorld().dataApiUnavailable('POST /internal/variants/resolve: no answer within 800 ms');
    assert.deepEqual(await receive(world)(twoVariants(), aDelivery()), {
      orderId: ORDER,
      kind: 'data_api_unavailable',
      detail: 'POST /internal/variants/resolve: no answer within 800 ms',
    });
    assert.deepEqual(world.wmsAsked, []);
  });

  it('an unreachable data-api on an order that reserves nothing (the commit alone) becomes data_api_unavailable', async () => {
    const world = new IntakeWorld().dataApiUnavailable('POST /internal/orders: cannot connect (ECONNREFUSED)');
    assert.deepEqual(await receive(world)(anOrder({ orderId: ORDER, nonStockLines: 1 }), aDelivery()), {
      orderId: ORDER,
      kind: 'data_api_unavailable',
      detail: 'POST /internal/orders: cannot connect (ECONNREFUSED)',
    });
  });
});

describe('the intake use case: variants a resolve already placed', () => {
  const OTHER = '820982911946154509';
  /** A second order, of other line items, for the same two variants. */
  const secondOrder = (lines = [lineOf(TSHIRT_M, 2), lineOf(MUG, 1)]) =>
    anOrder({ orderId: OTHER, lines: lines.map((l, i) => ({ ...l, lineItemId: lineItemId(10 + i) })) });
  const secondDelivery = () => aDelivery({ webhookId: 'webhook-2', eventId: 'event-2' });
  /** A world that covers two orders of the two-variant kind, and its use case after the first was accepted. */
  const afterFirstOrder = async (
    world = new IntakeWorld().stock(TSHIRT_M, 120).stock(MUG, 10).wmsStock(TSHIRT_M.sku, 118).wmsStock(MUG.sku, 10),
  ) => {
    const receiveOrder = receive(world);
    assert.equal((await receiveOrder(twoVariants(), aDelivery())).kind, 'accepted');
    return { world, receiveOrder };
  };
  /** One use case over two worlds: the catalogue as the first order found it, and as it is now. */
  const acrossWorlds = (cache: VariantCache) => (world: IntakeWorld) => createReceiveOrder({ ...world.deps, variantCache: cache });

  it('a second order for the variants the first resolved goes to the WMS and the commit without a resolve', async () => {
    const { world, receiveOrder } = await afterFirstOrder();
    assert.deepEqual(await receiveOrder(secondOrder(), secondDelivery()), { orderId: OTHER, kind: 'accepted', variants: 2, lines: 2 });
    assert.deepEqual(world.resolves, [twoVariantsAsked], "the first order's resolve only");
    assert.deepEqual(world.wmsAsked, [TSHIRT_M.sku, MUG.sku, TSHIRT_M.sku, MUG.sku]);
    assert.deepEqual(
      world.commits[1]!.lines.map((l) => [l.lineItemId, l.variantId]),
      [
        [lineItemId(10), TSHIRT_M.variantId],
        [lineItemId(11), MUG.variantId],
      ],
    );
    assert.equal(world.stockOf(TSHIRT_M), 116);
    assert.equal(world.stockOf(MUG), 8);
  });

  const replayCases = [
    ['a redelivery is replayed by the commit', (w: IntakeWorld) => w, { webhookId: 'webhook-1', eventId: 'event-1' }, 'replayed', 0],
    [
      'another delivery of the order is already_exists',
      (w: IntakeWorld) => w,
      { webhookId: 'webhook-9', eventId: 'event-9' },
      'already_exists',
      0,
    ],
    [
      'a redelivery the WMS now refuses (the first took its stock) is replayed by the resolve',
      (w: IntakeWorld) => w.wmsStock(MUG.sku, 0),
      { webhookId: 'webhook-1', eventId: 'event-1' },
      'replayed',
      1,
    ],
    [
      'a redelivery while the WMS hold runs is replayed by the resolve',
      (w: IntakeWorld) => w.holdRunning(42),
      { webhookId: 'webhook-1', eventId: 'event-9' },
      'replayed',
      1,
    ],
  ] as const;
  for (const [behaviour, arrange, delivery, kind, resolvesAfter] of replayCases) {
    it(`of a known order with cached variants, ${behaviour}`, async () => {
      const { world, receiveOrder } = await afterFirstOrder();
      assert.deepEqual(await receiveOrder(twoVariants(), aDelivery(delivery)), { orderId: ORDER, kind }, 'as without the cache');
      arrange(world);
      assert.deepEqual(await receiveOrder(twoVariants(), aDelivery(delivery)), { orderId: ORDER, kind }, 'as without the cache');
      assert.equal(world.resolves.length, 1 + resolvesAfter);
      assert.equal(world.stockOf(TSHIRT_M), 118, 'decremented once');
    });
  }

  it('an unknown variant after a cached one is refused PRODUCT_NOT_FOUND by the resolve, before the WMS', async () => {
    const { world, receiveOrder } = await afterFirstOrder();
    assert.deepEqual(await receiveOrder(secondOrder([lineOf(TSHIRT_M, 1), lineOf(WATCH, 1)]), secondDelivery()), {
      orderId: OTHER,
      kind: 'product_not_found',
      productIds: [WATCH.productId],
      variants: [{ productId: WATCH.productId, variantId: WATCH.variantId, sku: WATCH.sku }],
      detail: `Variant(s) ${WATCH.variantId} (${WATCH.sku}) of product ${WATCH.productId} are not in inventory.`,
    });
    assert.equal(world.resolves.length, 2);
    assert.deepEqual(world.wmsAsked, [TSHIRT_M.sku, MUG.sku], "the first order's checks only");
  });

  const wmsRefusalCases = [
    [
      'a shortage at the WMS',
      (w: IntakeWorld) => w.wmsStock(MUG.sku, 0),
      {
        kind: 'insufficient_inventory',
        items: [{ variantId: MUG.variantId, sku: MUG.sku, requested: 1, available: 0 }],
        detail: 'The warehouse has less stock than ordered.',
      },
      0,
    ],
    [
      'a SKU the WMS no longer knows',
      (w: IntakeWorld) => w.wmsDoesNotKnow(MUG.sku),
      {
        kind: 'product_not_found',
        productIds: [MUG.productId],
        variants: [{ productId: MUG.productId, variantId: MUG.variantId, sku: MUG.sku }],
        detail: `Variant(s) ${MUG.variantId} (${MUG.sku}) of product ${MUG.productId} are not known to the WMS.`,
      },
      0,
    ],
    [
      'a WMS failure',
      (w: IntakeWorld) => w.wmsFails(MUG.sku, { wmsFailed: true }),
      {
        kind: 'wms_unavailable',
        retryAfterSeconds: 60,
        detail: `The WMS could not confirm stock (${wmsFailure(MUG.sku)}); retry in 60 s.`,
      },
      1,
    ],
  ] as const;
  for (const [behaviour, arrange, answer, holdStarts] of wmsRefusalCases) {
    it(`${behaviour} of cached variants is answered as without the cache, after a resolve, asking the WMS once`, async () => {
      const { world, receiveOrder } = await afterFirstOrder();
      arrange(world);
      assert.deepEqual(await receiveOrder(secondOrder(), secondDelivery()), { orderId: OTHER, ...answer });
      assert.equal(world.resolves.length, 2);
      assert.deepEqual(world.wmsAsked, [TSHIRT_M.sku, MUG.sku, TSHIRT_M.sku, MUG.sku]);
      assert.equal(world.holdStarts, holdStarts);
      assert.equal(world.commits.length, 1, "the first order's only");
    });
  }

  it('a shortage in our stock of cached variants the WMS covers is refused by the commit with our figures, in line order', async () => {
    const { world, receiveOrder } = await afterFirstOrder();
    const order = secondOrder([lineOf(MUG, 10), lineOf(TSHIRT_M, 119)]);
    world.wmsStock(MUG.sku, 50).wmsStock(TSHIRT_M.sku, 500);
    const refusal = {
      kind: 'insufficient_inventory',
      items: [
        { variantId: MUG.variantId, sku: MUG.sku, requested: 10, available: 9 },
        { variantId: TSHIRT_M.variantId, sku: TSHIRT_M.sku, requested: 119, available: 118 },
      ],
      detail: 'There is less stock than ordered.',
    } as const;
    assert.deepEqual(
      await receive(world)(order, secondDelivery()),
      { orderId: OTHER, ...refusal },
      'without the cache: the resolve refuses it',
    );
    // The data-api names shortages in variant id order, the order it locks them in.
    world.commitAnswers({ ...refusal, items: [refusal.items[1], refusal.items[0]] });
    assert.deepEqual(await receiveOrder(order, secondDelivery()), { orderId: OTHER, ...refusal });
    assert.equal(world.resolves.length, 2, "the first order's and the uncached run's");
  });

  it('a cached variant removed from our inventory since is refused PRODUCT_NOT_FOUND, by the commit', async () => {
    const cache = createVariantCache();
    const receiveIn = acrossWorlds(cache);
    await receiveIn(stockedWorld())(twoVariants(), aDelivery());
    const now = new IntakeWorld().stock(MUG, 10).wmsStock(TSHIRT_M.sku, 118).wmsStock(MUG.sku, 10);
    assert.deepEqual(await receiveIn(now)(secondOrder(), secondDelivery()), {
      orderId: OTHER,
      kind: 'product_not_found',
      productIds: [TSHIRT],
      variants: [{ productId: TSHIRT, variantId: TSHIRT_M.variantId, sku: TSHIRT_M.sku }],
      detail: `Variant(s) ${TSHIRT_M.variantId} (${TSHIRT_M.sku}) of product ${TSHIRT} are not in inventory.`,
    });
    assert.equal(now.stockOf(MUG), 10, 'nothing decremented');
  });

  describe("after a catalogue import renamed a cached variant's SKU", () => {
    const RENAMED: Variant = { ...TSHIRT_M, sku: 'TSHIRT-BLACK-M' };
    const renamedWorld = () => new IntakeWorld().stock(RENAMED, 50).stock(MUG, 10).wmsStock(RENAMED.sku, 50).wmsStock(MUG.sku, 10);
    const cachedBeforeRename = async () => {
      const receiveIn = acrossWorlds(createVariantCache());
      await receiveIn(stockedWorld())(twoVariants(), aDelivery());
      return receiveIn;
    };

    it('an order carrying the new SKU misses the cache: resolved, and checked at the WMS by the new SKU', async () => {
      const receiveIn = await cachedBeforeRename();
      const now = renamedWorld();
      assert.deepEqual(await receiveIn(now)(secondOrder([lineOf(RENAMED, 2), lineOf(MUG, 1)]), secondDelivery()), {
        orderId: OTHER,
        kind: 'accepted',
        variants: 2,
        lines: 2,
      });
      assert.equal(now.resolves.length, 1);
      assert.deepEqual(now.wmsAsked, [RENAMED.sku, MUG.sku]);
    });

    it('an order still carrying the old SKU, which the WMS no longer knows, is resolved and checked again by the new SKU', async () => {
      const receiveIn = await cachedBeforeRename();
      const now = renamedWorld();
      assert.deepEqual(await receiveIn(now)(secondOrder(), secondDelivery()), { orderId: OTHER, kind: 'accepted', variants: 2, lines: 2 });
      assert.deepEqual(now.wmsAsked, [TSHIRT_M.sku, MUG.sku, RENAMED.sku, MUG.sku]);
      assert.equal(now.stockOf(RENAMED), 48);
    });

    it('an order still carrying the old SKU is refused as without the cache when the WMS does not know the new one', async () => {
      const receiveIn = await cachedBeforeRename();
      const now = renamedWorld().wmsDoesNotKnow(RENAMED.sku);
      assert.deepEqual(await receiveIn(now)(secondOrder(), secondDelivery()), {
        orderId: OTHER,
        kind: 'product_not_found',
        productIds: [TSHIRT],
        variants: [{ productId: TSHIRT, variantId: TSHIRT_M.variantId, sku: RENAMED.sku }],
        detail: `Variant(s) ${TSHIRT_M.variantId} (${RENAMED.sku}) of product ${TSHIRT} are not known to the WMS.`,
      });
      assert.equal(now.commits.length, 0);
    });
  });

  it('a line without a variant id is resolved every time: the commit does not check its product and SKU', async () => {
    const world = new IntakeWorld().stock(TSHIRT_S, 80).wmsStock(TSHIRT_S.sku, 80);
    const receiveOrder = receive(world);
    const order = (orderId: string) => anOrder({ orderId, lines: [lineOf(TSHIRT_S, 1, { variantId: null })] });
    assert.equal((await receiveOrder(order(ORDER), aDelivery())).kind, 'accepted');
    assert.equal((await receiveOrder(order(OTHER), secondDelivery())).kind, 'accepted');
    assert.equal(world.resolves.length, 2);
  });

  it('a variant is resolved again once VARIANT_CACHE_TTL_MS has passed since its resolve', async () => {
    let clock = 0;
    const world = stockedWorld().stock(MUG, 10).wmsStock(MUG.sku, 10);
    const receiveOrder = createReceiveOrder({ ...world.deps, variantCache: createVariantCache({ ttlMs: 1000, now: () => clock }) });
    const orderAt = async (ms: number, orderId: string) => {
      clock = ms;
      assert.equal((await receiveOrder(anOrder({ orderId, lines: [lineOf(MUG, 1)] }), aDelivery({ webhookId: orderId }))).kind, 'accepted');
      return world.resolves.length;
    };
    assert.deepEqual(
      [await orderAt(0, '1001'), await orderAt(999, '1002'), await orderAt(1000, '1003'), await orderAt(1999, '1004')],
      [1, 1, 2, 2],
    );
  });

  it('VARIANT_CACHE_TTL_MS=0 resolves every order', async () => {
    const world = stockedWorld().stock(MUG, 10).wmsStock(MUG.sku, 10);
    const receiveOrder = createReceiveOrder({ ...world.deps, variantCache: createVariantCache({ ttlMs: 0 }) });
    await receiveOrder(twoVariants(), aDelivery());
    await receiveOrder(secondOrder(), secondDelivery());
    assert.equal(world.resolves.length, 2);
  });

  it('past VARIANT_CACHE_MAX_ENTRIES the variant resolved longest ago is forgotten', async () => {
    const world = new IntakeWorld()
      .stock(TSHIRT_M, 120)
      .stock(MUG, 10)
      .stock(WATCH, 10)
      .wmsStock(TSHIRT_M.sku, 118)
      .wmsStock(MUG.sku, 10)
      .wmsStock(WATCH.sku, 10);
    const receiveOrder = createReceiveOrder({ ...world.deps, variantCache: createVariantCache({ maxEntries: 2 }) });
    const resolvesFor = async (orderId: string, variant: Variant) => {
      const before = world.resolves.length;
      assert.equal(
        (await receiveOrder(anOrder({ orderId, lines: [lineOf(variant, 1)] }), aDelivery({ webhookId: orderId }))).kind,
        'accepted',
      );
      return world.resolves.length - before;
    };
    const resolved = [];
    for (const [orderId, variant] of [
      ['1001', TSHIRT_M],
      ['1002', MUG],
      ['1003', WATCH],
      ['1004', MUG],
      ['1005', TSHIRT_M],
    ] as const) {
      resolved.push(await resolvesFor(orderId, variant));
    }
    assert.deepEqual(resolved, [1, 1, 1, 0, 1], 'the T-shirt went when the watch came');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReceiveOrder } from '../../services/order-manage-api/src/use-cases/receive-order.js';
import { aDelivery, anOrder, IntakeWorld } from '../support/in-memory-intake.js';

const ORDER = '820982911946154508';
const TSHIRT = '7523456789001';
const MUG = '7523456789006';
const WATCH = '7523456789012';

const receive = (world: IntakeWorld) => createReceiveOrder(world.deps);

/** An order of two T-shirts and one mug (and a tip), which our stock and the WMS both cover unless a test says otherwise. */
const twoProducts = (spec: { nonStockLines?: number } = {}) =>
  anOrder({ orderId: ORDER, lines: [{ productId: TSHIRT, quantity: 2 }, { productId: MUG, quantity: 1 }], ...spec });

const stockedWorld = () => new IntakeWorld().stock(TSHIRT, 120).stock(MUG, 1).wmsStock(TSHIRT, 118).wmsStock(MUG, 1);

/** The same world, which already accepted the order under webhook-1. */
const knownOrderWorld = () => stockedWorld().knownOrder(ORDER, 'webhook-1');

/** Delivers the two-product order under `webhookId` and checks what became of it. */
async function deliverTwoProducts(world: IntakeWorld, webhookId: string, kind: string): Promise<void> {
  assert.deepEqual(await receive(world)(twoProducts(), aDelivery({ webhookId })), { orderId: ORDER, kind });
}

const wmsFailure = (productId: string, cause = 'answered 503', attempts = 3) => `WMS check of product ${productId} failed ${attempts} attempts: ${cause}`;

describe('the intake use case: known orders', () => {
  const knownOrderCases = [
    ['a redelivery of the same webhook is replayed: the commit finds the order, and nothing is looked up first', 'webhook-1', 'replayed'],
    ['the same order under another webhook id is already_exists, found by the commit', 'webhook-2', 'already_exists'],
  ] as const;
  for (const [behaviour, webhookId, kind] of knownOrderCases) {
    it(behaviour, async () => {
      const world = knownOrderWorld();
      await deliverTwoProducts(world, webhookId, kind);
      assert.deepEqual(world.lookups, []);
      assert.deepEqual(world.wmsAsked, [TSHIRT, MUG]);
      assert.equal(world.commits.length, 1);
      assert.equal(world.stockOf(TSHIRT), 120, 'nothing decremented');
    });
  }

  const knownOrderRefusedCases = [
    ['a redelivery is replayed even while the WMS hold runs: the lookup after the refusal finds it', 'webhook-1', 'replayed'],
    ['another delivery of a known order is already_exists while the WMS hold runs, not a 503', 'webhook-2', 'already_exists'],
  ] as const;
  for (const [behaviour, webhookId, kind] of knownOrderRefusedCases) {
    it(behaviour, async () => {
      const world = knownOrderWorld().holdRunning(42);
      await deliverTwoProducts(world, webhookId, kind);
      assert.deepEqual(world.lookups, [{ orderId: ORDER, productIds: [TSHIRT, MUG] }]);
      assert.deepEqual(world.wmsAsked, []);
      assert.deepEqual(world.commits, []);
    });
  }

  it('a redelivery the WMS would now refuse (our first delivery took the stock) is replayed, not refused', async () => {
    const world = knownOrderWorld().wmsStock(MUG, 0);
    await deliverTwoProducts(world, 'webhook-1', 'replayed');
    assert.deepEqual(world.commits, []);
  });

  it('after an accepted order, a redelivery of its webhook is replayed and another delivery is already_exists', async () => {
    const world = stockedWorld();
    const receiveOrder = receive(world);
    assert.equal((await receiveOrder(twoProducts(), aDelivery({ webhookId: 'webhook-1' }))).kind, 'accepted');
    assert.deepEqual(await receiveOrder(twoProducts(), aDelivery({ webhookId: 'webhook-1' })), { orderId: ORDER, kind: 'replayed' });
    assert.deepEqual(await receiveOrder(twoProducts(), aDelivery({ webhookId: 'webhook-9' })), { orderId: ORDER, kind: 'already_exists' });
    assert.equal(world.stockOf(TSHIRT), 118, 'decremented once');
    assert.equal(world.stockOf(MUG), 0, 'decremented once');
  });
});

describe('the intake use case: an order our stock and the WMS cover', () => {
  it('is accepted with its product and non-stock line counts after the WMS and the commit, with no lookup', async () => {
    const world = stockedWorld();
    const outcome = await receive(world)(twoProducts({ nonStockLines: 3 }), aDelivery());
    assert.deepEqual(outcome, { orderId: ORDER, kind: 'accepted', products: 2, nonStockLines: 3 });
    assert.deepEqual(world.lookups, []);
    assert.deepEqual(world.wmsAsked, [TSHIRT, MUG]);
    assert.equal(world.commits.length, 1);
    assert.equal(world.holdStarts, 0);
    assert.deepEqual(world.log, []);
  });

  it('the commit request carries the order, its lines, the webhook id and the event id', async () => {
    const world = stockedWorld();
    const order = twoProducts({ nonStockLines: 1 });
    await receive(world)(order, aDelivery({ webhookId: 'b54557e4-2f4a-4d3a-9c55-0c1b1f0e8201', eventId: 'f0b658c6-e33c-40d9' }));
    assert.deepEqual(world.commits, [
      {
        order: { ...order.order, webhookId: 'b54557e4-2f4a-4d3a-9c55-0c1b1f0e8201', eventId: 'f0b658c6-e33c-40d9' },
        lines: order.demands,
        nonStockLines: order.nonStockLines,
      },
    ]);
  });

  it('a delivery without an event id commits with eventId null', async () => {
    const world = stockedWorld();
    await receive(world)(twoProducts(), aDelivery({ eventId: null }));
    assert.equal(world.commits[0]!.order.eventId, null);
    assert.equal(world.commits[0]!.order.webhookId, 'webhook-1');
  });

  it('every data-api call, the commit and the lookup after a refusal, is bounded by the delivery deadline', async () => {
    const accepted = stockedWorld();
    const refused = stockedWorld().wmsStock(MUG, 0);
    const delivery = aDelivery();
    await receive(accepted)(twoProducts(), delivery);
    await receive(refused)(twoProducts(), delivery);
    assert.equal(accepted.commits.length, 1);
    assert.equal(refused.lookups.length, 1);
    assert.deepEqual([...accepted.dataApiDeadlines, ...refused.dataApiDeadlines], [delivery.deadline, delivery.deadline]);
  });

  it('an order whose lines hold no stock skips the WMS and its hold, and is committed', async () => {
    const world = new IntakeWorld().holdRunning(30);
    const order = anOrder({ orderId: ORDER, nonStockLines: 2 });
    const outcome = await receive(world)(order, aDelivery());
    assert.deepEqual(outcome, { orderId: ORDER, kind: 'accepted', products: 0, nonStockLines: 2 });
    assert.deepEqual(world.lookups, []);
    assert.deepEqual(world.wmsAsked, []);
    assert.deepEqual(world.commits.map((c) => c.lines), [[]]);
    assert.equal(world.commits[0]!.nonStockLines.length, 2);
  });
});

describe('the intake use case: our own stock', () => {
  it('an unknown product in our inventory is refused by the commit, naming each unknown one', async () => {
    const world = new IntakeWorld().stock(TSHIRT, 120).wmsStock(TSHIRT, 120).wmsStock(MUG, 5).wmsStock(WATCH, 5);
    const order = anOrder({ orderId: ORDER, lines: [{ productId: MUG, quantity: 1 }, { productId: TSHIRT, quantity: 1 }, { productId: WATCH, quantity: 1 }] });
    const outcome = await receive(world)(order, aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'product_not_found',
      productIds: [MUG, WATCH],
      detail: `Product(s) ${MUG}, ${WATCH} are not in inventory.`,
    });
    assert.equal(world.stockOf(TSHIRT), 120, 'nothing decremented');
  });

  it('a shortage in our stock is refused by the commit with each short product', async () => {
    const world = new IntakeWorld().stock(TSHIRT, 2).stock(MUG, 0).stock(WATCH, 1).wmsStock(TSHIRT, 100).wmsStock(MUG, 100).wmsStock(WATCH, 100);
    const order = anOrder({
      orderId: ORDER,
      lines: [{ productId: TSHIRT, quantity: 2 }, { productId: MUG, quantity: 1 }, { productId: WATCH, quantity: 3 }],
    });
    const outcome = await receive(world)(order, aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [
        { productId: MUG, requested: 1, available: 0 },
        { productId: WATCH, requested: 3, available: 1 },
      ],
      detail: 'There is less stock than ordered.',
    });
    assert.equal(world.stockOf(TSHIRT), 2, 'nothing decremented');
  });

  it('a refusal by our stock wins over a running WMS hold', async () => {
    const world = new IntakeWorld().stock(TSHIRT, 1).holdRunning(42);
    const outcome = await receive(world)(anOrder({ orderId: ORDER, lines: [{ productId: TSHIRT, quantity: 2 }] }), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [{ productId: TSHIRT, requested: 2, available: 1 }],
      detail: 'There is less stock than ordered.',
    });
  });

  it('a product missing from our inventory wins over the WMS not knowing it either', async () => {
    const world = new IntakeWorld().stock(TSHIRT, 5).wmsStock(TSHIRT, 5);
    const order = anOrder({ orderId: ORDER, lines: [{ productId: TSHIRT, quantity: 1 }, { productId: MUG, quantity: 1 }] });
    const outcome = await receive(world)(order, aDelivery());
    assert.deepEqual(outcome, { orderId: ORDER, kind: 'product_not_found', productIds: [MUG], detail: `Product(s) ${MUG} are not in inventory.` });
    assert.deepEqual(world.lookups, [{ orderId: ORDER, productIds: [TSHIRT, MUG] }]);
    assert.deepEqual(world.commits, []);
  });

  it('a shortage in our stock wins over a shortage at the WMS', async () => {
    const world = new IntakeWorld().stock(TSHIRT, 1).wmsStock(TSHIRT, 0);
    const outcome = await receive(world)(anOrder({ orderId: ORDER, lines: [{ productId: TSHIRT, quantity: 2 }] }), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [{ productId: TSHIRT, requested: 2, available: 1 }],
      detail: 'There is less stock than ordered.',
    });
  });
});

describe('the intake use case: the WMS and its hold', () => {
  it('a running WMS hold refuses with its remaining seconds without calling the WMS', async () => {
    const world = stockedWorld().holdRunning(42);
    const outcome = await receive(world)(twoProducts(), aDelivery());
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

  it('a WMS failure (wmsFailed true) starts the hold, logs the failure and answers with the hold\'s Retry-After', async () => {
    const world = stockedWorld().wmsFails(MUG, { wmsFailed: true }).holdStartsFor(37);
    const outcome = await receive(world)(twoProducts(), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'wms_unavailable',
      retryAfterSeconds: 37,
      detail: `The WMS could not confirm stock (${wmsFailure(MUG)}); retry in 37 s.`,
    });
    assert.equal(world.holdStarts, 1);
    assert.deepEqual(world.warnings(), [{ message: wmsFailure(MUG), meta: { event: 'wms.check.failed', orderId: ORDER, productId: MUG } }]);
    assert.deepEqual(world.commits, []);
  });

  it('a check the answer deadline cut short (wmsFailed false) does not start the hold and answers Retry-After 5', async () => {
    const world = stockedWorld().wmsFails(TSHIRT, { wmsFailed: false, attempts: 1, cause: 'no answer within 120 ms' }).holdStartsFor(37);
    const outcome = await receive(world)(twoProducts(), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'wms_unavailable',
      retryAfterSeconds: 5,
      detail: `The WMS could not confirm stock (${wmsFailure(TSHIRT, 'no answer within 120 ms', 1)}); retry in 5 s.`,
    });
    assert.equal(world.holdStarts, 0);
    assert.deepEqual(world.warnings(), [
      { message: wmsFailure(TSHIRT, 'no answer within 120 ms', 1), meta: { event: 'wms.check.failed', orderId: ORDER, productId: TSHIRT } },
    ]);
  });

  it('one WMS failure among checks the deadline cut short starts the hold; the detail names every failure', async () => {
    const world = stockedWorld()
      .wmsFails(TSHIRT, { wmsFailed: false, attempts: 2, cause: 'no answer within 90 ms' })
      .wmsFails(MUG, { wmsFailed: true, cause: 'answered 502' })
      .holdStartsFor(60);
    const outcome = await receive(world)(twoProducts(), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'wms_unavailable',
      retryAfterSeconds: 60,
      detail: `The WMS could not confirm stock (${wmsFailure(TSHIRT, 'no answer within 90 ms', 2)}; ${wmsFailure(MUG, 'answered 502')}); retry in 60 s.`,
    });
    assert.equal(world.holdStarts, 1);
    assert.deepEqual(world.warnings().map((w) => w.meta), [
      { event: 'wms.check.failed', orderId: ORDER, productId: TSHIRT },
      { event: 'wms.check.failed', orderId: ORDER, productId: MUG },
    ]);
  });

  it('a product the WMS does not know is refused, naming only the unknown ones, and nothing is committed', async () => {
    const world = new IntakeWorld().stock(TSHIRT, 120).stock(MUG, 10).stock(WATCH, 1).wmsStock(MUG, 10);
    const order = anOrder({ orderId: ORDER, lines: [{ productId: TSHIRT, quantity: 1 }, { productId: MUG, quantity: 1 }, { productId: WATCH, quantity: 1 }] });
    const outcome = await receive(world)(order, aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'product_not_found',
      productIds: [TSHIRT, WATCH],
      detail: `Product(s) ${TSHIRT}, ${WATCH} are not known to the WMS.`,
    });
    assert.deepEqual(world.commits, []);
    assert.equal(world.holdStarts, 0);
  });

  it('a shortage at the WMS is refused with the warehouse figures once a lookup finds nothing against the order, and nothing is committed', async () => {
    const world = stockedWorld().wmsStock(TSHIRT, 1);
    const outcome = await receive(world)(twoProducts(), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [{ productId: TSHIRT, requested: 2, available: 1 }],
      detail: 'The warehouse has less stock than ordered.',
    });
    assert.deepEqual(world.commits, []);
    assert.deepEqual(world.lookups, [{ orderId: ORDER, productIds: [TSHIRT, MUG] }]);
  });

  it('a product unknown to the WMS wins over another product short at the WMS', async () => {
    const world = stockedWorld().wmsStock(TSHIRT, 1).wmsDoesNotKnow(MUG);
    const outcome = await receive(world)(twoProducts(), aDelivery());
    assert.deepEqual(outcome, { orderId: ORDER, kind: 'product_not_found', productIds: [MUG], detail: `Product(s) ${MUG} are not known to the WMS.` });
  });

  it('a definite WMS answer (unknown product) wins over another product\'s failure, which still starts the hold', async () => {
    const world = stockedWorld().wmsDoesNotKnow(TSHIRT).wmsFails(MUG, { wmsFailed: true });
    const outcome = await receive(world)(twoProducts(), aDelivery());
    assert.deepEqual(outcome, { orderId: ORDER, kind: 'product_not_found', productIds: [TSHIRT], detail: `Product(s) ${TSHIRT} are not known to the WMS.` });
    assert.equal(world.holdStarts, 1);
    assert.deepEqual(world.commits, []);
  });

  it('a definite WMS answer (shortage) wins over another product\'s failure, judged on the products the WMS answered', async () => {
    const world = stockedWorld().wmsStock(MUG, 0).wmsFails(TSHIRT, { wmsFailed: false });
    const outcome = await receive(world)(twoProducts(), aDelivery());
    assert.deepEqual(outcome, {
      orderId: ORDER,
      kind: 'insufficient_inventory',
      items: [{ productId: MUG, requested: 1, available: 0 }],
      detail: 'The warehouse has less stock than ordered.',
    });
    assert.equal(world.holdStarts, 0);
    assert.deepEqual(world.commits, []);
  });

  it('an error from the WMS that is no WmsUnavailableError is rethrown as it is (a bug, not an outcome)', async () => {
    const bug = new TypeError('cannot read properties of undefined');
    const world = stockedWorld().wmsThrows(MUG, bug);
    await assert.rejects(receive(world)(twoProducts(), aDelivery()), (err) => err === bug);
    assert.deepEqual(world.commits, []);
    assert.equal(world.holdStarts, 0);
  });

  it('a bug rethrown wins over another product\'s WMS failure', async () => {
    const bug = new RangeError('bad');
    const world = stockedWorld().wmsFails(TSHIRT, { wmsFailed: true }).wmsThrows(MUG, bug);
    await assert.rejects(receive(world)(twoProducts(), aDelivery()), (err) => err === bug);
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
      const world = new IntakeWorld().stock(TSHIRT, 5).wmsStock(TSHIRT, 5);
      await receive(world)(anOrder({ orderId: ORDER, lines: [{ productId: TSHIRT, quantity: 1 }] }), aDelivery({ remainingMs: [remainingMs] }));
      assert.deepEqual(world.wmsChecks, [{ productId: TSHIRT, deadlineMs: wmsMs }], `${remainingMs} ms left`);
    }
  });

  it('the WMS deadline never goes below zero when time runs out after the reserve was set aside', async () => {
    const world = new IntakeWorld().stock(TSHIRT, 5).wmsStock(TSHIRT, 5);
    // 2000 ms left when the reserve (500 ms) is set aside, 300 ms when the WMS check starts.
    await receive(world)(anOrder({ orderId: ORDER, lines: [{ productId: TSHIRT, quantity: 1 }] }), aDelivery({ remainingMs: [2000, 300] }));
    assert.deepEqual(world.wmsChecks, [{ productId: TSHIRT, deadlineMs: 0 }]);
  });
});

describe('the intake use case: the commit', () => {
  it('a concurrent delivery of the same webhook that committed first makes this one replayed', async () => {
    const world = stockedWorld().commitAnswers({ kind: 'already_exists', existingWebhookId: 'webhook-1' });
    assert.deepEqual(await receive(world)(twoProducts(), aDelivery({ webhookId: 'webhook-1' })), { orderId: ORDER, kind: 'replayed' });
  });

  it('the same order committed first under another webhook id, or an unknown one, is already_exists', async () => {
    for (const existingWebhookId of ['webhook-2', null]) {
      const world = stockedWorld().commitAnswers({ kind: 'already_exists', existingWebhookId });
      assert.deepEqual(await receive(world)(twoProducts(), aDelivery({ webhookId: 'webhook-1' })), { orderId: ORDER, kind: 'already_exists' });
    }
  });

  it('refusals of the commit are passed on as they are', async () => {
    const refusals = [
      { kind: 'product_not_found', productIds: [MUG], detail: `Product(s) ${MUG} are not in inventory.` },
      { kind: 'insufficient_inventory', items: [{ productId: TSHIRT, requested: 2, available: 1 }], detail: 'There is less stock than ordered.' },
      { kind: 'invalid_payload', errors: [{ path: 'order.name', reason: 'name must not be empty' }], detail: 'The order failed validation.' },
    ] as const;
    for (const refusal of refusals) {
      const world = stockedWorld().commitAnswers(structuredClone(refusal) as never);
      assert.deepEqual(await receive(world)(twoProducts(), aDelivery()), { orderId: ORDER, ...refusal }, refusal.kind);
    }
  });

  it('a 4xx of the data-api\'s own becomes refused_by_data_api with its problem', async () => {
    const problem = { status: 413, code: 'PAYLOAD_TOO_LARGE', detail: 'The request body is larger than 1 MiB.' };
    const world = stockedWorld().dataApiRefusesTheCommit(problem);
    assert.deepEqual(await receive(world)(twoProducts(), aDelivery()), { orderId: ORDER, kind: 'refused_by_data_api', problem });
  });

  it('an unreachable data-api becomes data_api_unavailable with its reason', async () => {
    const world = stockedWorld().dataApiUnavailable('GET /internal/orders/820982911946154508: no answer within 800 ms');
    assert.deepEqual(await receive(world)(twoProducts(), aDelivery()), {
      orderId: ORDER,
      kind: 'data_api_unavailable',
      detail: 'GET /internal/orders/820982911946154508: no answer within 800 ms',
    });
  });
});

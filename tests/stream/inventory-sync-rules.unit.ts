import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { chunk, coalesce, itemKey } from '../../services/order-stream-process/src/domain/coalesce.js';
import { parseInventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import {
  decideConfirmation,
  deltaChanges,
  expectedShopify,
  guessConfirmation,
  holdsImport,
  isDelta,
} from '../../services/order-stream-process/src/domain/sync-rule.js';
import { availableAt, delayBeforeCall, readThrottleStatus, retryAfterMs } from '../../services/order-stream-process/src/domain/throttle.js';
import { exampleInventoryEvent, exampleRestockEvent } from '../support/inventory-event.js';

const event = exampleInventoryEvent;

describe('reading an inventory event from Kafka', () => {
  it('accepts the event of docs/spec.md section 5, an order with its id and a restock without one', () => {
    const order = event();
    assert.deepEqual(parseInventoryEvent(Buffer.from(JSON.stringify(order))), { ok: true, event: order });
    const restock = exampleRestockEvent();
    assert.deepEqual(parseInventoryEvent(JSON.stringify(restock)), { ok: true, event: restock });
  });

  it('refuses ids as JSON numbers, an id beyond 2^63, a zero delta, a version below 1 and an unknown reason', () => {
    for (const [field, value] of [
      ['inventoryItemId', 44123456780001],
      ['variantId', '9223372036854775808'],
      ['movementId', '0'],
      ['delta', 0],
      ['inventoryVersion', 0],
      ['reason', 'theft'],
      ['shopifyKnows', 'yes'],
    ] as const) {
      const parsed = parseInventoryEvent(JSON.stringify({ ...event(), [field]: value }));
      assert.ok(!parsed.ok && parsed.reason.includes(field), `${field}: ${JSON.stringify(value)}`);
    }
  });

  it('names why a message is unusable: bad JSON, empty value, missing or wrong fields', () => {
    const bad = parseInventoryEvent('{"eventId": ');
    assert.ok(!bad.ok && bad.reason.startsWith('invalid_json:'));
    const empty = parseInventoryEvent(null);
    assert.ok(!empty.ok && empty.reason.startsWith('invalid_event:'));
    const { availableAfter: _a, ...missing } = event();
    const wrong = parseInventoryEvent(JSON.stringify({ ...missing, inventoryVersion: -1 }));
    assert.ok(!wrong.ok);
    assert.match(wrong.reason, /availableAfter/);
    assert.match(wrong.reason, /inventoryVersion/);
  });

  it('refuses the product-keyed event of before (quantityOrdered, no movement): it goes to the DLQ', () => {
    const { movementId: _m, reason: _r, reference: _ref, variantId: _v, delta: _d, shopifyKnows: _s, ...old } = event();
    const parsed = parseInventoryEvent(JSON.stringify({ ...old, quantityOrdered: 2 }));
    assert.ok(!parsed.ok);
    assert.match(parsed.reason, /^invalid_event: .*movementId/);
  });
});

describe('grouping a batch per inventory item', () => {
  it('keeps every event of an item, in arrival order, and knows its newest', () => {
    const a1 = event({ inventoryItemId: '1', inventoryVersion: 3 });
    const a2 = event({ inventoryItemId: '1', inventoryVersion: 5 });
    const a3 = event({ inventoryItemId: '1', inventoryVersion: 4 });
    const b1 = event({ inventoryItemId: '2', inventoryVersion: 9 });
    const items = coalesce([a1, b1, a2, a3]);
    assert.deepEqual(
      items.map((i) => i.key),
      ['1@65432109876', '2@65432109876'],
    );
    assert.deepEqual(items[0]!.events, [a1, a2, a3]);
    assert.equal(items[0]!.newest, a2);
    assert.equal(items[1]!.newest, b1);
  });

  it('treats the same item at two locations as two levels', () => {
    assert.equal(coalesce([event({ locationId: '1' }), event({ locationId: '2' })]).length, 2);
  });

  it('for any batch: one entry per item, holding its highest version, covering every event exactly once', () => {
    const arbEvent = fc.record({
      inventoryItemId: fc.integer({ min: 1, max: 5 }).map(String),
      locationId: fc.integer({ min: 1, max: 2 }).map(String),
      inventoryVersion: fc.integer({ min: 1, max: 50 }),
    });
    fc.assert(
      fc.property(fc.array(arbEvent, { maxLength: 60 }), (raw) => {
        const events = raw.map((r) => event(r));
        const items = coalesce(events);
        assert.equal(new Set(items.map((i) => i.key)).size, items.length);
        assert.equal(
          items.reduce((n, i) => n + i.events.length, 0),
          events.length,
        );
        for (const item of items) {
          assert.equal(item.newest.inventoryVersion, Math.max(...item.events.map((e) => e.inventoryVersion)));
          assert.ok(item.events.every((e) => itemKey(e) === item.key));
        }
      }),
    );
  });

  it('chunks at most 250 per call', () => {
    assert.deepEqual(
      chunk(Array.from({ length: 600 }, (_, i) => i)).map((c) => c.length),
      [250, 250, 100],
    );
    assert.deepEqual(chunk([]), []);
    assert.throws(() => chunk([1], 0), RangeError);
  });
});

describe('what Shopify cannot know goes as a delta', () => {
  it('is a movement the system made itself: a restock, a correction, a WMS sync; never an order, a cancellation or an import', () => {
    assert.equal(isDelta(exampleRestockEvent()), true);
    assert.equal(isDelta(exampleRestockEvent({ reason: 'correction', delta: -3 })), true);
    assert.equal(isDelta(exampleRestockEvent({ reason: 'wms_sync' })), true);
    assert.equal(isDelta(exampleRestockEvent({ reason: 'restock', shopifyKnows: true })), false, 'a restock the merchant chose in Shopify');
    assert.equal(isDelta(event()), false);
    assert.equal(isDelta(event({ reason: 'cancel', delta: 2 })), false);
    assert.equal(isDelta(exampleRestockEvent({ reason: 'import' })), false);
  });

  it("makes each of an item's movements its own change, in version order, each once however often it was delivered, and ignores the orders beside them", () => {
    const restock = exampleRestockEvent({ movementId: '11', delta: 10, inventoryVersion: 4 });
    const correction = exampleRestockEvent({ movementId: '12', reason: 'correction', delta: -3, inventoryVersion: 6 });
    const sync = exampleRestockEvent({ movementId: '9', reason: 'wms_sync', delta: 2, inventoryVersion: 3 });
    const [item] = coalesce([
      restock,
      event({ movementId: '13', inventoryVersion: 5 }),
      correction,
      { ...restock, eventId: 'redelivered' },
      sync,
    ]);
    const common = { key: item!.key, inventoryItemId: '44123456780001', locationId: '65432109876' };
    assert.deepEqual(deltaChanges(item!), [
      { ...common, movementId: '9', delta: 2, inventoryVersion: 3 },
      { ...common, movementId: '11', delta: 10, inventoryVersion: 4 },
      { ...common, movementId: '12', delta: -3, inventoryVersion: 6 },
    ]);
    assert.deepEqual(deltaChanges(coalesce([event()])[0]!), []);
  });

  it('sends movements that cancel out each on its own: a change per movement, never a sum', () => {
    const up = exampleRestockEvent({ movementId: '21', reason: 'correction', delta: 4, inventoryVersion: 7 });
    const down = exampleRestockEvent({ movementId: '22', reason: 'correction', delta: -4, inventoryVersion: 8 });
    assert.deepEqual(
      deltaChanges(coalesce([up, down])[0]!).map((c) => [c.movementId, c.delta]),
      [
        ['21', 4],
        ['22', -4],
      ],
    );
  });

  it("gives a movement the same change in any batch that holds it: a redelivery with more of the item's events changes nothing of it", () => {
    const first = [exampleRestockEvent({ movementId: '31', delta: 5, inventoryVersion: 10 })];
    const redelivered = [
      ...first,
      exampleRestockEvent({ movementId: '32', reason: 'correction', delta: -1, inventoryVersion: 11 }),
      event({ movementId: '33', inventoryVersion: 12 }),
    ];
    const [once] = deltaChanges(coalesce(first)[0]!);
    const again = deltaChanges(coalesce(redelivered)[0]!);
    assert.deepEqual(again[0], once);
    assert.deepEqual(
      again.map((c) => c.movementId),
      ['31', '32'],
    );
  });
});

describe('the confirm step decides from the database (D) and Shopify (S)', () => {
  const newest = { inventoryVersion: 7, availableAfter: 40 };
  const database = { availableQuantity: 40, version: 7 };

  it('lowers Shopify to the database when it holds more (an order Shopify did not take)', () => {
    assert.deepEqual(decideConfirmation({ newest, bringToDatabase: false, shopify: 42, database }), {
      action: 'lower',
      shopify: 42,
      database,
    });
  });

  it('sends nothing when Shopify is at or below the database: it took the units, and maybe later orders', () => {
    for (const shopify of [40, 39, 0, -2]) {
      assert.equal(decideConfirmation({ newest, bringToDatabase: false, shopify, database }).action, 'none', `S=${shopify}`);
    }
  });

  it('waits for the newer movement when the database is past the batch: its own event confirms (so a replay of an old event is harmless)', () => {
    const decision = decideConfirmation({ newest, bringToDatabase: false, shopify: 99, database: { availableQuantity: 38, version: 8 } });
    assert.equal(decision.action, 'superseded');
  });

  it('brings Shopify to the database in either direction for an import', () => {
    assert.equal(decideConfirmation({ newest, bringToDatabase: true, shopify: 12, database }).action, 'set');
    assert.equal(decideConfirmation({ newest, bringToDatabase: true, shopify: 70, database }).action, 'set');
    assert.equal(decideConfirmation({ newest, bringToDatabase: true, shopify: 40, database }).action, 'none');
    const [item] = coalesce([event({ reason: 'import', orderId: null, shopifyKnows: false, delta: 40 })]);
    assert.equal(holdsImport(item!), true);
  });

  it("takes the event's own figure when the database read knows less (a row gone, a replica behind)", () => {
    assert.deepEqual(decideConfirmation({ newest, bringToDatabase: false, shopify: 45, database: undefined }).database, database);
    assert.deepEqual(
      decideConfirmation({ newest, bringToDatabase: false, shopify: 45, database: { availableQuantity: 44, version: 6 } }).database,
      database,
    );
  });

  it('for any S and D at the batch version: never a write that raises, unless an import', () => {
    fc.assert(
      fc.property(fc.integer({ min: -5, max: 50 }), fc.integer({ min: 0, max: 50 }), fc.boolean(), (shopify, d, bringToDatabase) => {
        const decision = decideConfirmation({
          newest: { inventoryVersion: 3, availableAfter: d },
          bringToDatabase,
          shopify,
          database: { availableQuantity: d, version: 3 },
        });
        if (decision.action === 'lower') assert.ok(d < shopify);
        if (decision.action === 'set') assert.ok(bringToDatabase && d !== shopify);
        if (decision.action === 'none') assert.ok(bringToDatabase ? d === shopify : shopify <= d);
      }),
    );
  });
});

describe("the confirm step guesses Shopify's figure before reading it", () => {
  // Three orders of 2, 1 and 3 units from 50: 48 at version 4, 47 at 5, 44 at 6.
  const orders = [
    event({ movementId: '41', delta: -2, availableAfter: 48, inventoryVersion: 4 }),
    event({ movementId: '42', delta: -1, availableAfter: 47, inventoryVersion: 5 }),
    event({ movementId: '43', delta: -3, availableAfter: 44, inventoryVersion: 6 }),
  ];
  const atBatch = { availableQuantity: 44, version: 6 };

  it("expects the figure before the batch's first event when Shopify did not take the orders, whatever their order of arrival or redeliveries", () => {
    assert.equal(expectedShopify(coalesce(orders)[0]!, atBatch, false), 50);
    assert.equal(expectedShopify(coalesce([orders[2]!, orders[0]!, orders[1]!, orders[0]!])[0]!, atBatch, false), 50);
  });

  it('counts the deltas the batch already sent into the expected figure', () => {
    const restock = exampleRestockEvent({ movementId: '44', delta: 10, availableAfter: 54, inventoryVersion: 7 });
    assert.equal(expectedShopify(coalesce([...orders, restock])[0]!, { availableQuantity: 54, version: 7 }, false), 60);
  });

  it('expects nothing when the database moved past the batch, the read is behind, versions have a gap, or an import is involved', () => {
    assert.equal(expectedShopify(coalesce(orders)[0]!, { availableQuantity: 40, version: 7 }, false), undefined);
    assert.equal(expectedShopify(coalesce(orders)[0]!, { availableQuantity: 47, version: 5 }, false), undefined);
    assert.equal(expectedShopify(coalesce(orders)[0]!, undefined, false), undefined);
    assert.equal(expectedShopify(coalesce([orders[0]!, orders[2]!])[0]!, atBatch, false), undefined, 'version 5 is not in the batch');
    assert.equal(expectedShopify(coalesce(orders)[0]!, atBatch, true), undefined, 'an import still to bring to the database');
    const imported = event({
      movementId: '40',
      reason: 'import',
      orderId: null,
      shopifyKnows: false,
      delta: 50,
      availableAfter: 50,
      inventoryVersion: 3,
    });
    assert.equal(expectedShopify(coalesce([imported, ...orders])[0]!, atBatch, false), undefined);
  });

  it("lowers from the guess without reading only when the item's last guess was right; with none yet or a stale one it reads first", () => {
    const item = coalesce(orders)[0]!;
    assert.deepEqual(guessConfirmation(item, atBatch, false, true), { action: 'lower', shopify: 50, database: atBatch });
    assert.equal(guessConfirmation(item, atBatch, false, false), undefined);
    assert.equal(guessConfirmation(item, atBatch, false, undefined), undefined);
  });

  it('guesses only a lowering: never when the guess is at or below the database, nor for an import', () => {
    const cancel = event({ movementId: '45', reason: 'cancel', delta: 3, availableAfter: 47, inventoryVersion: 7 });
    assert.equal(guessConfirmation(coalesce([cancel])[0]!, { availableQuantity: 47, version: 7 }, false, true), undefined);
    assert.equal(guessConfirmation(coalesce(orders)[0]!, atBatch, true, true), undefined);
  });

  it('for any batch of contiguous orders: a guess is the lowering the read would decide had Shopify held the guess', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.array(
          fc.integer({ min: -3, max: 3 }).filter((k) => k !== 0),
          { minLength: 1, maxLength: 6 },
        ),
        (start, deltas) => {
          let available = start + 20;
          const events = deltas.map((delta, i) => {
            available += delta;
            return event({
              movementId: String(60 + i),
              reason: delta < 0 ? 'order' : 'cancel',
              delta,
              availableAfter: available,
              inventoryVersion: 10 + i,
            });
          });
          const database = { availableQuantity: available, version: 9 + deltas.length };
          const item = coalesce(events)[0]!;
          const guess = guessConfirmation(item, database, false, true);
          const read = decideConfirmation({ newest: item.newest, bringToDatabase: false, shopify: start + 20, database });
          assert.deepEqual(guess, read.action === 'lower' ? read : undefined);
        },
      ),
    );
  });
});

describe("Shopify's cost bucket", () => {
  const status = { maximumAvailable: 2000, currentlyAvailable: 0, restoreRate: 100 };

  it('refills at restoreRate per second up to the maximum', () => {
    assert.equal(availableAt({ status, observedAt: 1_000 }, 1_500), 50);
    assert.equal(availableAt({ status, observedAt: 0 }, 60_000), 2000);
  });

  it('waits just long enough for the next call when the bucket holds less than its cost', () => {
    assert.equal(delayBeforeCall({ status, observedAt: 0 }, 10, 0), 100);
    assert.equal(delayBeforeCall({ status, observedAt: 0 }, 10, 40), 60);
    assert.equal(delayBeforeCall({ status: { ...status, currentlyAvailable: 10 }, observedAt: 0 }, 10, 0), 0);
    assert.equal(delayBeforeCall(undefined, 10, 0), 0);
  });

  it('reads throttleStatus only when well formed', () => {
    assert.deepEqual(readThrottleStatus({ cost: { throttleStatus: status } }), status);
    assert.equal(readThrottleStatus({ cost: { throttleStatus: { ...status, restoreRate: '100' } } }), undefined);
    assert.equal(readThrottleStatus(undefined), undefined);
  });

  it('reads Retry-After as seconds or an HTTP date, capped', () => {
    assert.equal(retryAfterMs('2', 0, 60_000), 2_000);
    assert.equal(retryAfterMs('120', 0, 60_000), 60_000);
    assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 5_000, 60_000), 5_000);
    assert.equal(retryAfterMs('soon', 0, 60_000), undefined);
    assert.equal(retryAfterMs(null, 0, 60_000), undefined);
  });
});

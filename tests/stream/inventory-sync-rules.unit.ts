import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { chunk, coalesce, itemKey, partitionByLastSet } from '../../services/order-stream-process/src/domain/coalesce.js';
import { parseInventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import {
  blamedQuantityIndexes,
  buildInventorySetQuantities,
  idempotencyKeyFor,
  referenceDocumentUri,
  uuidV5,
} from '../../services/order-stream-process/src/domain/mutation.js';
import { availableAt, delayBeforeCall, readThrottleStatus, retryAfterMs } from '../../services/order-stream-process/src/domain/throttle.js';
import { exampleInventoryEvent } from '../support/inventory-event.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const event = exampleInventoryEvent;

describe('reading an inventory event from Kafka', () => {
  it('accepts the event of the design with exact decimal-string ids, and an older event with ids as exact numbers', () => {
    const e = event();
    assert.deepEqual(parseInventoryEvent(Buffer.from(JSON.stringify(e))), { ok: true, event: e });
    const older = { ...e, orderId: 1001, inventoryItemId: 44123456780001 };
    const parsed = parseInventoryEvent(JSON.stringify(older));
    assert.ok(parsed.ok);
    assert.equal(parsed.event.inventoryItemId, '44123456780001');
    assert.equal(parsed.event.orderId, '1001');
  });

  it('refuses an id a double has already rounded, or one beyond 2^63, rather than set the wrong item', () => {
    for (const inventoryItemId of [2 ** 53 + 2, '9223372036854775808', '0', '12.5']) {
      const parsed = parseInventoryEvent(JSON.stringify({ ...event(), inventoryItemId }));
      assert.ok(!parsed.ok && /inventoryItemId/.test(parsed.reason), String(inventoryItemId));
    }
  });

  it('names why a message is unusable: bad JSON, empty value, missing or wrong fields', () => {
    const bad = parseInventoryEvent('{"eventId": ');
    assert.ok(!bad.ok && bad.reason.startsWith('invalid_json:'));
    const empty = parseInventoryEvent(null);
    assert.ok(!empty.ok && empty.reason.startsWith('invalid_event:'));
    const { availableAfter: _a, ...missing } = event();
    const noQuantity = parseInventoryEvent(JSON.stringify({ ...missing, inventoryVersion: -1 }));
    assert.ok(!noQuantity.ok);
    assert.match(noQuantity.reason, /availableAfter/);
    assert.match(noQuantity.reason, /inventoryVersion/);
  });
});

describe('coalescing a batch of events', () => {
  it('keeps per inventory item only the highest inventoryVersion and lists every event it covers', () => {
    const a1 = event({ inventoryItemId: '1', inventoryVersion: 3, availableAfter: 7 });
    const a2 = event({ inventoryItemId: '1', inventoryVersion: 5, availableAfter: 5 });
    const a3 = event({ inventoryItemId: '1', inventoryVersion: 4, availableAfter: 6 });
    const b1 = event({ inventoryItemId: '2', inventoryVersion: 9, availableAfter: 0 });
    const items = coalesce([a1, b1, a2, a3]);
    assert.equal(items.length, 2);
    const a = items.find((i) => i.latest.inventoryItemId === '1')!;
    assert.equal(a.latest, a2);
    assert.deepEqual(a.covered, [a1, a2, a3]);
    assert.equal(items.find((i) => i.latest.inventoryItemId === '2')!.latest, b1);
  });

  it('treats the same item at two locations as two quantities', () => {
    const items = coalesce([event({ locationId: '1' }), event({ locationId: '2' })]);
    assert.equal(items.length, 2);
  });

  it('for any batch: one entry per item, holding its highest version, covering every event exactly once', () => {
    const arbEvent = fc.record({
      inventoryItemId: fc.integer({ min: 1, max: 5 }).map(String),
      locationId: fc.integer({ min: 1, max: 2 }).map(String),
      inventoryVersion: fc.integer({ min: 1, max: 50 }),
      availableAfter: fc.integer({ min: 0, max: 500 }),
    });
    fc.assert(
      fc.property(fc.array(arbEvent, { maxLength: 60 }), (raw) => {
        const events = raw.map((r) => event(r));
        const items = coalesce(events);
        assert.equal(new Set(items.map((i) => i.key)).size, items.length);
        assert.equal(items.reduce((n, i) => n + i.covered.length, 0), events.length);
        for (const item of items) {
          const max = Math.max(...item.covered.map((e) => e.inventoryVersion));
          assert.equal(item.latest.inventoryVersion, max);
          assert.ok(item.covered.every((e) => itemKey(e) === item.key));
        }
      }),
    );
  });

  it('never sends an item whose last set version is as new or newer', () => {
    const items = coalesce([
      event({ inventoryItemId: '1', inventoryVersion: 4 }),
      event({ inventoryItemId: '2', inventoryVersion: 6 }),
      event({ inventoryItemId: '3', inventoryVersion: 1 }),
    ]);
    const lastSet = new Map([
      [itemKey({ inventoryItemId: '1', locationId: '65432109876' }), { inventoryVersion: 5, quantity: 3 }],
      [itemKey({ inventoryItemId: '2', locationId: '65432109876' }), { inventoryVersion: 5, quantity: 3 }],
      [itemKey({ inventoryItemId: '3', locationId: '65432109876' }), { inventoryVersion: 1, quantity: 9 }],
    ]);
    const { toSend, alreadyHeld } = partitionByLastSet(items, lastSet);
    assert.deepEqual(toSend.map((i) => i.latest.inventoryItemId), ['2']);
    assert.deepEqual(alreadyHeld.map((i) => [i.latest.inventoryItemId, i.held.quantity]), [['1', 3], ['3', 9]]);
  });

  it('chunks at most 250 quantities per call', () => {
    const sizes = chunk(Array.from({ length: 600 }, (_, i) => i)).map((c) => c.length);
    assert.deepEqual(sizes, [250, 250, 100]);
    assert.deepEqual(chunk([]), []);
    assert.throws(() => chunk([1], 0), RangeError);
  });
});

describe('the inventorySetQuantities request', () => {
  it('sets the absolute available quantity with an idempotency directive, as SPEC section 6 says', () => {
    const e = event();
    const request = buildInventorySetQuantities([e]);
    assert.match(
      request.query,
      /mutation \w+\(\$input: InventorySetQuantitiesInput!, \$idempotencyKey: String!\) \{\s+inventorySetQuantities\(input: \$input\) @idempotent\(key: \$idempotencyKey\) \{/,
    );
    assert.match(request.query, /userErrors \{\s+code\s+field\s+message\s+\}/);
    assert.match(request.query, /inventoryAdjustmentGroup \{/);
    assert.deepEqual(request.variables, {
      input: {
        name: 'available',
        reason: 'correction',
        referenceDocumentUri: 'gid://order-intake/Order/820982911946154508',
        quantities: [
          {
            inventoryItemId: 'gid://shopify/InventoryItem/44123456780001',
            locationId: 'gid://shopify/Location/65432109876',
            quantity: 118,
            changeFromQuantity: null,
          },
        ],
      },
      idempotencyKey: idempotencyKeyFor([e]),
    });
  });

  it('derives the idempotency key from the events alone: same events, same key, in any order', () => {
    const a = event();
    const b = event({ inventoryItemId: '2' });
    const key = idempotencyKeyFor([a, b]);
    assert.match(key, UUID);
    assert.equal(idempotencyKeyFor([b, a]), key);
    assert.equal(buildInventorySetQuantities([b, a]).variables.idempotencyKey, key);
    assert.notEqual(idempotencyKeyFor([a]), key);
  });

  it('computes RFC 9562 version 5 UUIDs', () => {
    // The RFC's DNS namespace example: uuid5(NAMESPACE_DNS, "www.example.com").
    assert.equal(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it("finds the quantities Shopify's userErrors blame", () => {
    const errors = [
      { field: ['input', 'quantities', '2', 'inventoryItemId'] },
      { field: ['input', 'quantities', '9', 'locationId'] },
      { field: ['input', 'reason'] },
      { field: null },
    ];
    assert.deepEqual([...blamedQuantityIndexes(errors, 3)], [2]);
    assert.equal(blamedQuantityIndexes([{ field: ['input', 'name'] }], 3).size, 0);
  });

  it('names the order, or the orders of a coalesced call', () => {
    assert.equal(referenceDocumentUri(['7', '7'], 'k'), 'gid://order-intake/Order/7');
    assert.equal(referenceDocumentUri(['9', '820982911946154508', '7'], 'k'), 'gid://order-intake/InventorySync/k?orders=7,9,820982911946154508');
    const many = referenceDocumentUri(Array.from({ length: 25 }, (_, i) => String(i + 1)), 'k');
    assert.match(many, /orders=1,2,.*,20&more=5$/);
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

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunk, coalesce } from '../../services/order-stream-process/src/domain/coalesce.js';
import { parseInventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import {
  adjustIdempotencyKey,
  buildAdjustRequest,
  buildCompareAndSetRequest,
  movementsUri,
  setIdempotencyKey,
  uuidV5,
} from '../../services/order-stream-process/src/domain/mutation.js';
import { decideConfirmation, deltaChanges, superseded, writes } from '../../services/order-stream-process/src/domain/sync-rule.js';
import { exampleInventoryEvent, exampleRestockEvent } from '../support/inventory-event.js';

/** The edges of the stream processor's pure rules: each expected value is a literal. */

describe('reading an inventory event: the edges', () => {
  it('accepts an occurredAt with an offset as well as in UTC', () => {
    const event = exampleInventoryEvent({ occurredAt: '2026-11-24T09:00:00+01:00' });
    assert.deepEqual(parseInventoryEvent(JSON.stringify(event)), { ok: true, event });
  });

  it('names an empty message, however it came (null, undefined, no bytes, an empty string)', () => {
    for (const value of [null, undefined, Buffer.alloc(0), '']) {
      assert.deepEqual(parseInventoryEvent(value), { ok: false, reason: 'invalid_event: empty message value' });
    }
  });

  it('says why a zero delta is refused, and lists every problem of an event', () => {
    const { delta: _delta, ...withoutDelta } = exampleInventoryEvent();
    assert.deepEqual(parseInventoryEvent(JSON.stringify({ ...exampleInventoryEvent(), delta: 0 })), {
      ok: false,
      reason: 'invalid_event: delta: must not be 0',
    });
    const twoProblems = parseInventoryEvent(JSON.stringify({ ...withoutDelta, inventoryVersion: 0 }));
    assert.deepEqual(twoProblems, {
      ok: false,
      reason:
        'invalid_event: delta: Invalid input: expected number, received undefined; inventoryVersion: Too small: expected number to be >0',
    });
  });

  it('names JSON that is no object at its root', () => {
    assert.deepEqual(parseInventoryEvent('42'), {
      ok: false,
      reason: 'invalid_event: (root): Invalid input: expected object, received number',
    });
  });
});

describe('grouping and chunking: the edges', () => {
  it('of two deliveries of one movement (one item, one version), the later stands as the newest', () => {
    const first = exampleInventoryEvent({ eventId: '7f1c2d3e-0000-4000-8000-000000000001' });
    const again = exampleInventoryEvent({ eventId: '7f1c2d3e-0000-4000-8000-000000000002' });
    assert.equal(coalesce([first, again])[0]!.newest.eventId, '7f1c2d3e-0000-4000-8000-000000000002');
  });

  it('chunks one by one, and refuses a size below 1 saying why', () => {
    assert.deepEqual(chunk(['a', 'b'], 1), [['a'], ['b']]);
    assert.throws(() => chunk(['a'], 0), { name: 'RangeError', message: 'chunk size must be a positive integer' });
  });
});

describe("Shopify calls' keys and names: literal values", () => {
  it('keys are RFC 9562 UUID v5 in the fixed namespace b4f7c0de-5e1f-4c3a-9d2e-6a0b1c2d3e4f (values from Python uuid.uuid5)', () => {
    assert.equal(adjustIdempotencyKey('1202'), '5c19b64f-9ffb-5a30-a3f4-767144b0ed0a');
    assert.equal(uuidV5('naïve'), 'e38775c6-2b3d-5c25-84c1-249ce2f86d78');
    const one = { inventoryItemId: '44123456780001', locationId: '65432109876', from: 9, to: 7, version: 4 };
    assert.equal(setIdempotencyKey([one], 'confirm-1'), '64ab4b72-2313-5e72-b6c9-8f48d97d33c5');
    assert.notEqual(setIdempotencyKey([{ ...one, to: 6 }], 'confirm-1'), setIdempotencyKey([one], 'confirm-1'));
    const two = { inventoryItemId: '44123456780002', locationId: '65432109876', from: 3, to: 1, version: 12 };
    assert.equal(setIdempotencyKey([two, one], 'confirm-1'), '677b711d-b710-5321-b9cd-182e918562bb');
  });

  it('names exactly 20 movements without a count of more', () => {
    const ids = Array.from({ length: 20 }, (_, i) => String(20 - i));
    assert.equal(movementsUri(ids, 'k'), 'gid://order-intake/InventorySync/k?movements=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20');
  });

  it('both mutations change `available` as a correction', () => {
    const adjust = buildAdjustRequest({
      key: '1@2',
      movementId: '1202',
      inventoryItemId: '1',
      locationId: '2',
      delta: 3,
      inventoryVersion: 4,
    });
    assert.equal(adjust.variables.input.reason, 'correction');
    assert.equal(adjust.variables.input.name, 'available');
    const set = buildCompareAndSetRequest([{ inventoryItemId: '1', locationId: '2', from: 5, to: 3, version: 7 }], 'r', () => 'ref');
    assert.equal(set.variables.input.reason, 'correction');
    assert.equal(set.variables.input.name, 'available');
  });
});

describe('the sync rule: the edges', () => {
  it("sends an item's deltas in version order even where movement ids run the other way", () => {
    const later = exampleRestockEvent({ movementId: '20', inventoryVersion: 8, delta: 5 });
    const earlier = exampleRestockEvent({ movementId: '100', inventoryVersion: 7, delta: 3 });
    assert.deepEqual(
      deltaChanges(coalesce([later, earlier])[0]!).map((c) => c.movementId),
      ['100', '20'],
    );
  });

  it('a batch is superseded only by a database row at a newer version; no row supersedes nothing', () => {
    assert.equal(superseded({ inventoryVersion: 4 }, undefined), false);
    assert.equal(superseded({ inventoryVersion: 4 }, { availableQuantity: 1, version: 4 }), false);
    assert.equal(superseded({ inventoryVersion: 4 }, { availableQuantity: 1, version: 5 }), true);
  });

  it("decides from the database's read at the batch's own version, from the event's figure only when the read is behind", () => {
    const newest = { inventoryVersion: 4, availableAfter: 10 };
    assert.deepEqual(decideConfirmation({ newest, bringToDatabase: false, shopify: 12, database: { availableQuantity: 9, version: 4 } }), {
      action: 'lower',
      shopify: 12,
      database: { availableQuantity: 9, version: 4 },
    });
    assert.deepEqual(decideConfirmation({ newest, bringToDatabase: false, shopify: 12, database: { availableQuantity: 9, version: 3 } }), {
      action: 'lower',
      shopify: 12,
      database: { availableQuantity: 10, version: 4 },
    });
  });

  it('only a lowering and a set write to Shopify', () => {
    const database = { availableQuantity: 3, version: 2 };
    assert.deepEqual(
      (['lower', 'set', 'none', 'superseded'] as const).map((action) => writes({ action, shopify: 5, database })),
      [true, true, false, false],
    );
  });
});

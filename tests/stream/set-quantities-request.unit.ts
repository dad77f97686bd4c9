import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunk, coalesce } from '../../services/order-stream-process/src/domain/coalesce.js';
import { parseInventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import {
  blamedQuantityIndexes,
  buildSetQuantitiesRequest,
  idempotencyKeyFor,
  referenceDocumentUri,
} from '../../services/order-stream-process/src/domain/mutation.js';
import { exampleInventoryEvent } from '../support/inventory-event.js';

/** This system's key for that one event: it changes only if the UUID namespace or the key's recipe does. */
const PINNED_KEY = '92b58e8c-11e2-51fc-b925-3b6ca1e9c526';

const valid = exampleInventoryEvent({ eventId: '6f1c2a4e-0b7d-4c5e-9a3f-2d8e1b0c7a64' });

describe('reading an inventory event: the reasons the DLQ header carries', () => {
  it('names an absent or empty value as empty, not as bad JSON', () => {
    assert.deepEqual(parseInventoryEvent(undefined), { ok: false, reason: 'invalid_event: empty message value' });
    assert.deepEqual(parseInventoryEvent(''), { ok: false, reason: 'invalid_event: empty message value' });
    assert.deepEqual(parseInventoryEvent(Buffer.alloc(0)), { ok: false, reason: 'invalid_event: empty message value' });
  });

  it('names every problem, separated by "; ", and a value that is not an object as (root)', () => {
    const { sku: _sku, ...withoutSku } = valid;
    const twoWrong = parseInventoryEvent(JSON.stringify({ ...withoutSku, quantityOrdered: 0 }));
    assert.equal(twoWrong.ok, false);
    assert.match(!twoWrong.ok ? twoWrong.reason : '', /^invalid_event: sku: [^;]+; quantityOrdered: [^;]+$/);
    const notObject = parseInventoryEvent('5');
    assert.match(!notObject.ok ? notObject.reason : '', /^invalid_event: \(root\): /);
  });

  it('accepts occurredAt with a UTC offset, as an ISO-8601 date-time may carry', () => {
    assert.equal(parseInventoryEvent(JSON.stringify({ ...valid, occurredAt: '2026-11-24T09:00:00+01:00' })).ok, true);
  });
});

describe('the inventorySetQuantities request: key, reference and blame', () => {
  it('keeps the idempotency key of a set of events stable across releases (a retry after a deploy reuses it)', () => {
    assert.equal(idempotencyKeyFor([{ eventId: 'a' }, { eventId: 'b' }]), idempotencyKeyFor([{ eventId: 'b' }, { eventId: 'a' }]));
    assert.equal(idempotencyKeyFor([{ eventId: valid.eventId }]), PINNED_KEY);
  });

  it('gives different events different keys, however their ids would concatenate', () => {
    assert.notEqual(idempotencyKeyFor([{ eventId: 'a' }]), idempotencyKeyFor([{ eventId: 'b' }]));
    assert.notEqual(idempotencyKeyFor([{ eventId: 'ab' }, { eventId: 'c' }]), idempotencyKeyFor([{ eventId: 'a' }, { eventId: 'bc' }]));
  });

  it('names up to 20 orders in a coalesced reference, then how many more', () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => String(1000 + i));
    assert.equal(referenceDocumentUri(ids(20), 'k'), `gid://order-intake/InventorySync/k?orders=${ids(20).join(',')}`);
    assert.equal(referenceDocumentUri(ids(21), 'k'), `gid://order-intake/InventorySync/k?orders=${ids(20).join(',')}&more=1`);
  });

  it('refuses to build a request that sets nothing', () => {
    assert.throws(() => buildSetQuantitiesRequest([], () => 'ref'), { name: 'RangeError', message: 'at least one quantity is needed' });
  });

  it('blames only whole indexes inside the call, the first one included', () => {
    const blame = (...fields: Array<string[] | null>) => [...blamedQuantityIndexes(fields.map((field) => ({ field })), 3)].sort();
    assert.deepEqual(blame(['quantities', '0', 'quantity']), [0], 'a path that starts at quantities');
    assert.deepEqual(blame(['input', 'quantities', '0']), [0]);
    assert.deepEqual(blame(['input', 'quantities', '2']), [2]);
    assert.deepEqual(blame(['input', 'quantities', '3']), [], 'one past the last quantity');
    assert.deepEqual(blame(['input', 'quantities', '-1']), []);
    assert.deepEqual(blame(['input', 'quantities', '1.5']), []);
    assert.deepEqual(blame(['input', 'name'], null), []);
  });
});

describe('coalescing and chunking edges', () => {
  it('chunks one by one when asked, and refuses a size below one', () => {
    assert.deepEqual(chunk([1, 2, 3], 1), [[1], [2], [3]]);
    assert.throws(() => chunk([1], 0), { name: 'RangeError', message: 'chunk size must be a positive integer' });
    assert.throws(() => chunk([1], 1.5), RangeError);
  });

  it('covers every event of an item, newest kept', () => {
    const [item] = coalesce([{ ...valid, inventoryVersion: 3 }, { ...valid, eventId: 'e2', inventoryVersion: 2 }]);
    assert.equal(item?.latest.inventoryVersion, 3);
    assert.equal(item?.covered.length, 2);
  });
});

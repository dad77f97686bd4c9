import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coalesce } from '../../services/order-stream-process/src/domain/coalesce.js';
import {
  adjustIdempotencyKey,
  blamedIndexes,
  buildAdjustRequest,
  buildCompareAndSetRequest,
  movementsUri,
  setIdempotencyKey,
  uuidV5,
} from '../../services/order-stream-process/src/domain/mutation.js';
import { deltaChanges } from '../../services/order-stream-process/src/domain/sync-rule.js';
import { exampleRestockEvent } from '../support/inventory-event.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The key of movement 1202's delta: it changes only if the UUID namespace or the key's recipe does. */
const PINNED_ADJUST_KEY = uuidV5('adjust:1202');

const sets = [
  { inventoryItemId: '44123456780001', locationId: '65432109876', from: 9, to: 7, version: 4 },
  { inventoryItemId: '44123456780002', locationId: '65432109876', from: 3, to: 1, version: 12 },
];

describe('a delta for what Shopify cannot know (inventoryAdjustQuantities)', () => {
  it('adds the movement to available, names it, carries no ledger document, and a key made of its movement id', () => {
    const [change] = deltaChanges(coalesce([exampleRestockEvent()])[0]!);
    const request = buildAdjustRequest(change!);
    assert.match(
      request.query,
      /mutation \w+\(\$input: InventoryAdjustQuantitiesInput!, \$idempotencyKey: String!\) \{\s+inventoryAdjustQuantities\(input: \$input\) @idempotent\(key: \$idempotencyKey\) \{/,
    );
    assert.match(request.query, /userErrors \{\s+code\s+field\s+message\s+\}/);
    assert.deepEqual(request.variables, {
      input: {
        name: 'available',
        reason: 'correction',
        referenceDocumentUri: 'gid://order-intake/InventoryMovement/1202',
        changes: [
          {
            inventoryItemId: 'gid://shopify/InventoryItem/44123456780001',
            locationId: 'gid://shopify/Location/65432109876',
            delta: 10,
            changeFromQuantity: null,
          },
        ],
      },
      idempotencyKey: PINNED_ADJUST_KEY,
    });
    assert.ok(!JSON.stringify(request).includes('ledgerDocumentUri'), 'Shopify refuses a ledger document with available');
  });

  it('keys a delta by its movement id alone: a UUID, another for another movement', () => {
    const key = adjustIdempotencyKey('1202');
    assert.match(key, UUID);
    assert.equal(key, PINNED_ADJUST_KEY);
    assert.notEqual(adjustIdempotencyKey('1203'), key);
    assert.notEqual(adjustIdempotencyKey('12'), adjustIdempotencyKey('120'));
  });

  it('sends one call per movement, whose key and variables are the same whatever else the batch held', () => {
    const restock = exampleRestockEvent({ movementId: '1202', inventoryVersion: 3 });
    const correction = exampleRestockEvent({ movementId: '1204', reason: 'correction', delta: -2, inventoryVersion: 5 });
    const alone = deltaChanges(coalesce([restock])[0]!).map(buildAdjustRequest);
    const redelivered = deltaChanges(coalesce([restock, correction, { ...restock, eventId: 'again' }])[0]!).map(buildAdjustRequest);
    assert.equal(alone.length, 1);
    assert.deepEqual(redelivered[0], alone[0], 'the restock is the same call, under the same key, in the larger batch');
    assert.equal(redelivered.length, 2);
    assert.equal(redelivered[1]!.variables.idempotencyKey, adjustIdempotencyKey('1204'));
    assert.deepEqual(
      redelivered[1]!.variables.input.changes.map((c) => c.delta),
      [-2],
    );
    assert.equal(redelivered[1]!.variables.input.referenceDocumentUri, 'gid://order-intake/InventoryMovement/1204');
  });
});

describe('a compare-and-set (inventorySetQuantities)', () => {
  it('sets each item from the figure read to the figure wanted, never blind', () => {
    const request = buildCompareAndSetRequest(sets, 'confirm-1', (key) => movementsUri(['1202', '1203'], key));
    assert.match(request.query, /inventorySetQuantities\(input: \$input\) @idempotent\(key: \$idempotencyKey\)/);
    assert.deepEqual(request.variables.input.quantities, [
      {
        inventoryItemId: 'gid://shopify/InventoryItem/44123456780001',
        locationId: 'gid://shopify/Location/65432109876',
        quantity: 7,
        changeFromQuantity: 9,
      },
      {
        inventoryItemId: 'gid://shopify/InventoryItem/44123456780002',
        locationId: 'gid://shopify/Location/65432109876',
        quantity: 1,
        changeFromQuantity: 3,
      },
    ]);
    assert.equal(request.variables.input.name, 'available');
    assert.equal(
      request.variables.input.referenceDocumentUri,
      `gid://order-intake/InventorySync/${request.variables.idempotencyKey}?movements=1202,1203`,
    );
    for (const q of request.variables.input.quantities) assert.equal(typeof q.changeFromQuantity, 'number');
  });

  it('keys a set by (item, from, to, version) and its round: a retry reuses the key, a new decision has its own', () => {
    const key = setIdempotencyKey(sets, 'confirm-1');
    assert.equal(setIdempotencyKey([...sets].reverse(), 'confirm-1'), key);
    assert.notEqual(setIdempotencyKey(sets, 'confirm-2'), key, 'the same figures decided again after a stale answer');
    assert.notEqual(setIdempotencyKey([{ ...sets[0]!, from: 8 }, sets[1]!], 'confirm-1'), key);
    assert.notEqual(setIdempotencyKey([{ ...sets[0]!, version: 5 }, sets[1]!], 'confirm-1'), key);
  });

  it('refuses to build a call that sets nothing', () => {
    assert.throws(() => buildCompareAndSetRequest([], 'confirm-1', () => 'ref'), {
      name: 'RangeError',
      message: 'at least one quantity is needed',
    });
  });
});

describe("naming the movements, and reading Shopify's blame", () => {
  it('names one movement, or up to 20 under the key, then how many more', () => {
    assert.equal(movementsUri(['7', '7'], 'k'), 'gid://order-intake/InventoryMovement/7');
    assert.equal(
      movementsUri(['9', '820982911946154508', '7'], 'k'),
      'gid://order-intake/InventorySync/k?movements=7,9,820982911946154508',
    );
    const ids = (n: number) => Array.from({ length: n }, (_, i) => String(1000 + i));
    assert.equal(movementsUri(ids(21), 'k'), `gid://order-intake/InventorySync/k?movements=${ids(20).join(',')}&more=1`);
  });

  it('blames only whole indexes inside the call, of quantities or of changes', () => {
    const blame = (...fields: Array<string[] | null>) =>
      [
        ...blamedIndexes(
          fields.map((field) => ({ field })),
          3,
        ),
      ].sort();
    assert.deepEqual(blame(['input', 'quantities', '2', 'changeFromQuantity']), [2]);
    assert.deepEqual(blame(['input', 'changes', '0', 'inventoryItemId']), [0]);
    assert.deepEqual(blame(['quantities', '1']), [1], 'a path that starts at the list');
    assert.deepEqual(blame(['input', 'quantities', '3']), [], 'one past the last');
    assert.deepEqual(blame(['input', 'quantities', '-1'], ['input', 'changes', '1.5']), []);
    assert.deepEqual(blame(['input', 'name'], null), []);
  });

  it('computes RFC 9562 version 5 UUIDs', () => {
    assert.equal(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idempotencyKeyFor } from '../../services/order-stream-process/src/domain/mutation.js';
import {
  inventoryItemGid,
  lastQuantities,
  locationGid,
  shopifyGraphqlPath,
  shopifyReplies,
  shopifyRequests,
} from '../support/shopify.js';
import { ACCESS_TOKEN, benchWithShopify, eventually, makeEvent, randomItem } from './harness.js';

describe('inventory events reach Shopify', () => {
  it("sets the product's available quantity with the exact inventorySetQuantities request, and logs SUCCESS", async (t) => {
    const item = randomItem();
    const { ids, bench } = await benchWithShopify(t, [item], shopifyReplies.ok());

    const event = makeEvent(item, { availableAfter: 37, inventoryVersion: 4 });
    const [correlationId] = await bench.produce([event]);

    const [request] = await eventually(async () => {
      const received = await shopifyRequests(ids);
      assert.equal(received.length, 1);
      return received;
    });
    assert.equal(request!.method, 'POST');
    assert.equal(request!.url, shopifyGraphqlPath());
    assert.equal(request!.headers['x-shopify-access-token'], ACCESS_TOKEN);
    assert.match(request!.headers['content-type'] ?? '', /^application\/json/);
    assert.match(request!.body.query, /inventorySetQuantities\(input: \$input\) @idempotent\(key: \$idempotencyKey\)/);
    assert.match(request!.body.query, /userErrors \{\s+code\s+field\s+message\s+\}/);
    assert.deepEqual(request!.body.variables, {
      input: {
        name: 'available',
        reason: 'correction',
        referenceDocumentUri: `gid://order-intake/Order/${event.orderId}`,
        quantities: [
          {
            inventoryItemId: inventoryItemGid(item.inventoryItemId),
            locationId: locationGid(item.locationId),
            quantity: 37,
            changeFromQuantity: null,
          },
        ],
      },
      idempotencyKey: idempotencyKeyFor([event]),
    });

    const line = await eventually(() => {
      const found = bench.successLines().find((l) => l.eventId === event.eventId);
      assert.ok(found, 'no SUCCESS line yet');
      return found;
    });
    assert.equal(line.level, 'info');
    assert.equal(line.service, 'order-stream-process');
    assert.equal(line.orderId, event.orderId);
    assert.equal(line.correlationId, correlationId);
    assert.equal(line.productId, String(item.productId));
    assert.equal(line.quantity, 37);
    assert.ok(!JSON.stringify(bench.logs).includes(ACCESS_TOKEN), 'the access token must never be logged');
  });

  it('coalesces 50 events on 3 items into far fewer calls, each item ending at its newest quantity', async (t) => {
    const items = [randomItem(), randomItem(), randomItem()];
    const { ids, bench } = await benchWithShopify(t, items, shopifyReplies.ok(), { start: false });

    // Random event ids shuffle the versions within each item: the highest version wins, not the last offset.
    const events = Array.from({ length: 50 }, (_, i) => {
      const item = items[i % 3]!;
      const version = 2 + Math.floor(i / 3);
      return makeEvent(item, { inventoryVersion: version, availableAfter: 1000 - version });
    });
    const shuffled = [...events].sort((a, b) => a.eventId.localeCompare(b.eventId));
    await bench.produce(shuffled);
    await bench.processor.start();

    await eventually(() => assert.equal(bench.successLines().length, 50));
    const loggedEventIds = new Set(bench.successLines().map((l) => l.eventId));
    assert.deepEqual(loggedEventIds, new Set(events.map((e) => e.eventId)), 'one SUCCESS line for every event');
    for (const event of events) {
      const line = bench.successLines().find((l) => l.eventId === event.eventId)!;
      assert.equal(line.orderId, event.orderId);
    }

    const received = await shopifyRequests(ids);
    assert.ok(received.length <= 6, `expected far fewer calls than events, got ${received.length}`);
    const last = lastQuantities(received);
    for (const item of items) {
      const newest = Math.max(...events.filter((e) => e.inventoryItemId === String(item.inventoryItemId)).map((e) => e.inventoryVersion));
      assert.equal(last.get(inventoryItemGid(item.inventoryItemId)), 1000 - newest);
    }
  });

  it('never sends an older version that arrives after a newer one was set', async (t) => {
    const item = randomItem();
    const { ids, bench } = await benchWithShopify(t, [item], shopifyReplies.ok());

    const newer = makeEvent(item, { inventoryVersion: 5, availableAfter: 5 });
    await bench.produce([newer]);
    await eventually(() => assert.ok(bench.successLines().some((l) => l.eventId === newer.eventId)));

    const older = makeEvent(item, { inventoryVersion: 3, availableAfter: 7 });
    await bench.produce([older]);
    const line = await eventually(() => {
      const found = bench.successLines().find((l) => l.eventId === older.eventId);
      assert.ok(found);
      return found;
    });
    assert.equal(line.quantity, 5, 'Shopify holds the newer quantity');
    assert.equal(line.result, 'already_held');

    const received = await shopifyRequests(ids);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.body.variables.input.quantities[0]!.quantity, 5);
  });

  it('logs one SUCCESS line and makes one call for an event delivered twice', async (t) => {
    const item = randomItem();
    const sentinel = randomItem();
    const { bench } = await benchWithShopify(t, [item, sentinel], shopifyReplies.ok());

    const event = makeEvent(item, { availableAfter: 9 });
    await bench.produce([event, event], { partition: 1 });
    await eventually(() => assert.ok(bench.successLines().some((l) => l.eventId === event.eventId)));
    const after = makeEvent(sentinel);
    await bench.produce([event, after], { partition: 1 });
    await eventually(() => assert.ok(bench.successLines().some((l) => l.eventId === after.eventId)));

    assert.equal(bench.successLines().filter((l) => l.eventId === event.eventId).length, 1);
    assert.equal((await shopifyRequests([item.inventoryItemId])).length, 1);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DLQ_REASON_HEADER } from '../../services/order-stream-process/src/dlq-writer.js';
import { removeShopifyRequests, shopifyReplies, shopifyRequests, stubShopify, type ShopifyReply } from '../support/shopify.js';
import { benchWithShopify, createBench, eventually, header, kafka, makeEvent, randomItem, type Bench } from './harness.js';

async function setUp(t: { after: (fn: () => Promise<void>) => void }, replies: ShopifyReply | ShopifyReply[], options: { maxAttempts?: number } = {}) {
  const item = randomItem();
  return { item, ...(await benchWithShopify(t, [item], replies, options)) };
}

async function metricValue(bench: Bench, name: string, labels: string): Promise<number> {
  const text = await bench.metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

async function committedOffset(groupId: string, topic: string, partition: number): Promise<string | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return entry?.partitions.find((p) => p.partition === partition)?.offset;
  } finally {
    await admin.disconnect();
  }
}

describe('Shopify failures are retried, then dead-lettered', () => {
  it('retries a THROTTLED answer with the same idempotency key and succeeds', async (t) => {
    const { item, ids, bench } = await setUp(t, [shopifyReplies.throttled(), shopifyReplies.ok()]);
    const event = makeEvent(item, { availableAfter: 12 });
    await bench.produce([event]);

    await eventually(() => assert.ok(bench.successLines().some((l) => l.eventId === event.eventId)));
    const received = await shopifyRequests(ids);
    assert.equal(received.length, 2);
    assert.equal(received[0]!.body.variables.idempotencyKey, received[1]!.body.variables.idempotencyKey);
    assert.deepEqual(received[0]!.body, received[1]!.body);
    assert.equal(await metricValue(bench, 'shopify_retries_total', 'outcome="throttled"'), 1);
    assert.equal(await metricValue(bench, 'shopify_requests_total', 'outcome="success"'), 1);
  });

  it('retries three HTTP 500 answers with the same idempotency key and succeeds on the fourth attempt', async (t) => {
    const { item, ids, bench } = await setUp(t, [
      shopifyReplies.serverError(),
      shopifyReplies.serverError(),
      shopifyReplies.serverError(),
      shopifyReplies.ok(),
    ]);
    const event = makeEvent(item, { availableAfter: 3 });
    await bench.produce([event]);

    const line = await eventually(() => {
      const found = bench.successLines().find((l) => l.eventId === event.eventId);
      assert.ok(found);
      return found;
    });
    assert.equal(line.attempts, 4);
    const received = await shopifyRequests(ids);
    assert.equal(received.length, 4);
    assert.equal(new Set(received.map((r) => r.body.variables.idempotencyKey)).size, 1);
    assert.equal(bench.logs.filter((l) => l.event === 'shopify.call.failed').length, 3);
    assert.deepEqual(await bench.dlq(), []);
  });

  it('sends the event to the DLQ when Shopify keeps answering userErrors', async (t) => {
    const { item, ids, bench } = await setUp(
      t,
      shopifyReplies.userErrors([
        { code: 'INVALID_INVENTORY_ITEM', field: ['input', 'quantities', '0', 'inventoryItemId'], message: 'The specified inventory item could not be found.' },
      ]),
      { maxAttempts: 3 },
    );
    const event = makeEvent(item);
    const [correlationId] = await bench.produce([event]);

    const [dead] = await eventually(async () => {
      const messages = await bench.dlq();
      assert.equal(messages.length, 1);
      return messages;
    });
    assert.equal(dead!.key?.toString(), String(event.productId));
    assert.deepEqual(JSON.parse(dead!.value!.toString()), event);
    assert.match(header(dead!, DLQ_REASON_HEADER) ?? '', /^shopify_failed: user_errors after 3 attempts: INVALID_INVENTORY_ITEM/);
    assert.equal(header(dead!, 'x-correlation-id'), correlationId);
    assert.equal((await shopifyRequests(ids)).length, 3);
    assert.ok(!bench.successLines().some((l) => l.eventId === event.eventId));
    const failure = bench.logs.find((l) => l.event === 'shopify.inventory.failed');
    assert.equal(failure?.orderId, event.orderId);
    assert.equal(failure?.correlationId, correlationId);
  });

  it('dead-letters the events of a permanently failing item and goes on with the next event', async (t) => {
    const failing = await setUp(t, shopifyReplies.serverError(503), { maxAttempts: 3 });
    const { bench } = failing;
    const healthy = randomItem();
    const healthyStub = await stubShopify([healthy.inventoryItemId], shopifyReplies.ok());
    t.after(async () => {
      await healthyStub.remove();
      await removeShopifyRequests([healthy.inventoryItemId]);
    });

    const broken = makeEvent(failing.item);
    await bench.produce([broken], { partition: 0 });
    const [dead] = await eventually(async () => {
      const messages = await bench.dlq();
      assert.equal(messages.length, 1);
      return messages;
    });
    assert.match(header(dead!, DLQ_REASON_HEADER) ?? '', /^shopify_failed: http_5xx after 3 attempts: HTTP 503/);
    assert.equal(JSON.parse(dead!.value!.toString()).eventId, broken.eventId);

    const next = makeEvent(healthy, { availableAfter: 44 });
    await bench.produce([next], { partition: 0 });
    await eventually(() => assert.ok(bench.successLines().some((l) => l.eventId === next.eventId)));
    const received = await shopifyRequests([healthy.inventoryItemId]);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.body.variables.input.quantities[0]!.quantity, 44);
    await eventually(async () => assert.equal(await committedOffset(bench.groupId, bench.topic, 0), '2'));
    assert.equal(await metricValue(bench, 'inventory_dlq_messages_total', 'reason="shopify_failed"'), 1);
  });
});

describe('at least once across a restart', () => {
  it('commits nothing while Shopify fails; after a restart the same call, same idempotency key, succeeds', async (t) => {
    const item = randomItem();
    const ids = [item.inventoryItemId];
    let stub = await stubShopify(ids, shopifyReplies.serverError());
    const bench = await createBench({ maxAttempts: 1_000 });
    t.after(async () => {
      await bench.close();
      await stub.remove();
      await removeShopifyRequests(ids);
    });

    const event = makeEvent(item, { availableAfter: 17 });
    await bench.produce([event], { partition: 2 });
    await eventually(async () => assert.ok((await shopifyRequests(ids)).length >= 2));
    await bench.processor.stop();
    assert.ok([undefined, '-1'].includes(await committedOffset(bench.groupId, bench.topic, 2)), 'nothing committed');
    assert.deepEqual(await bench.dlq(), []);

    await stub.remove();
    stub = await stubShopify(ids, shopifyReplies.ok());
    await bench.restart();
    await eventually(() => assert.ok(bench.successLines().some((l) => l.eventId === event.eventId)));
    await eventually(async () => assert.equal(await committedOffset(bench.groupId, bench.topic, 2), '1'));
    const received = await shopifyRequests(ids);
    assert.equal(new Set(received.map((r) => r.body.variables.idempotencyKey)).size, 1, 'one key before and after the restart');
  });
});

describe('one bad item in a coalesced call', () => {
  it('dead-letters only the item its userErrors blame and sets the others in a call of their own', async (t) => {
    const bad = randomItem();
    const good = randomItem();
    const badStub = await stubShopify(
      [bad.inventoryItemId],
      shopifyReplies.userErrors([
        { code: 'INVALID_LOCATION', field: ['input', 'quantities', '0', 'locationId'], message: 'The specified location could not be found.' },
      ]),
    );
    const goodStub = await stubShopify([good.inventoryItemId], shopifyReplies.ok(), { priority: 2 });
    const bench = await createBench({ start: false, maxAttempts: 2 });
    t.after(async () => {
      await bench.close();
      await badStub.remove();
      await goodStub.remove();
      await removeShopifyRequests([bad.inventoryItemId, good.inventoryItemId]);
    });

    const badEvent = makeEvent(bad);
    const goodEvent = makeEvent(good, { availableAfter: 21 });
    await bench.produce([badEvent, goodEvent], { partition: 0 });
    await bench.processor.start();

    await eventually(() => assert.ok(bench.successLines().some((l) => l.eventId === goodEvent.eventId)));
    const dead = await bench.dlq();
    assert.deepEqual(dead.map((m) => JSON.parse(m.value!.toString()).eventId), [badEvent.eventId]);
    assert.match(header(dead[0]!, DLQ_REASON_HEADER) ?? '', /INVALID_LOCATION/);

    const calls = await shopifyRequests([good.inventoryItemId]);
    assert.deepEqual(
      calls.map((c) => c.body.variables.input.quantities.length),
      [2, 2, 1],
      'two attempts of the coalesced call, then the good item alone',
    );
    assert.notEqual(calls[2]!.body.variables.idempotencyKey, calls[0]!.body.variables.idempotencyKey);
    assert.ok(!bench.successLines().some((l) => l.eventId === badEvent.eventId));
  });
});

describe('unusable messages', () => {
  it('sends a poison message (bad JSON, missing fields) to the DLQ with its reason and goes on', async (t) => {
    const { item, ids, bench } = await setUp(t, shopifyReplies.ok());
    await bench.produceRaw({ key: 'poison', value: '{"eventId": "not json', headers: { 'x-correlation-id': 'poison-1' }, partition: 0 });
    const { availableAfter: _dropped, ...incomplete } = makeEvent(item);
    await bench.produceRaw({ key: String(item.productId), value: JSON.stringify(incomplete), headers: { 'x-correlation-id': 'poison-2' }, partition: 0 });
    const valid = makeEvent(item, { availableAfter: 8 });
    await bench.produce([valid], { partition: 0 });

    const dead = await eventually(async () => {
      const messages = await bench.dlq();
      assert.equal(messages.length, 2);
      return messages;
    });
    const byCorrelation = new Map(dead.map((m) => [header(m, 'x-correlation-id'), m]));
    const badJson = byCorrelation.get('poison-1')!;
    assert.equal(badJson.key?.toString(), 'poison');
    assert.equal(badJson.value?.toString(), '{"eventId": "not json');
    assert.match(header(badJson, DLQ_REASON_HEADER) ?? '', /^invalid_json: /);
    const missing = byCorrelation.get('poison-2')!;
    assert.deepEqual(JSON.parse(missing.value!.toString()), incomplete);
    assert.match(header(missing, DLQ_REASON_HEADER) ?? '', /^invalid_event: availableAfter/);

    await eventually(() => assert.ok(bench.successLines().some((l) => l.eventId === valid.eventId)));
    const received = await shopifyRequests(ids);
    assert.equal(received.length, 1);
    assert.equal(received[0]!.body.variables.input.quantities[0]!.quantity, 8);
    await eventually(async () => assert.equal(await committedOffset(bench.groupId, bench.topic, 0), '3'));
  });
});

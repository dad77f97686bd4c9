/**
 * The end of each event's way through the processor (`use-cases/sync-batch/outcomes.ts`): its
 * SUCCESS line and count, or the DLQ with the reason, its error line and count; the redeliveries and
 * unusable messages a batch sets aside. Real Kafka for the DLQ; the logs and metrics the processor's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InventoryEvent } from '../../services/order-stream-process/src/domain/event.js';
import type { Received } from '../../services/order-stream-process/src/use-cases/sync-batch/receive.js';
import { exampleInventoryEvent, exampleRestockEvent } from '../support/inventory-event.js';
import { batchContext, benchFor, eventually, header, messageOf, metricSample } from './harness.js';

const received = (event: InventoryEvent, offset: string, correlationId = `corr-${offset}`): Received => ({
  ...event,
  message: messageOf(event, offset, 'req-1'),
  correlationId,
});

async function outcomesFor(t: { after: (fn: () => Promise<void>) => void }) {
  const bench = await benchFor(t, { start: false });
  const { outcomes, source } = await batchContext(t, bench);
  return { bench, outcomes, source };
}

const withoutTime = ({ time: _time, ...line }: Record<string, unknown>) => line;

describe("an event's SUCCESS line", () => {
  it('names the variant, how Shopify came to account for the event, its movement, every field of the event and the detail', async (t) => {
    const { bench, outcomes } = await outcomesFor(t);
    const order = received(exampleInventoryEvent(), '7', 'req-42');

    outcomes.succeeded([order], () => 'lowered', { shopify: 121, database: 118, databaseVersion: 2, quantity: 118, attempts: 1 });

    assert.deepEqual(bench.logs.map(withoutTime), [
      {
        level: 'info',
        service: 'order-stream-process',
        event: 'shopify.inventory.updated',
        orderId: '820982911946154508',
        correlationId: 'req-42',
        msg: "SUCCESS Shopify inventory of variant 45123456789011 (TSHIRT-BLK-M) was lowered to the database's figure: order movement 1201",
        variantId: '45123456789011',
        productId: '7523456789001',
        sku: 'TSHIRT-BLK-M',
        inventoryItemId: '44123456780001',
        locationId: '65432109876',
        eventId: order.eventId,
        movementId: '1201',
        reason: 'order',
        delta: -2,
        inventoryVersion: 2,
        result: 'lowered',
        shopify: 121,
        database: 118,
        databaseVersion: 2,
        quantity: 118,
        attempts: 1,
      },
    ]);
  });

  it('says how for each result, and counts each under its result', async (t) => {
    const { bench, outcomes } = await outcomesFor(t);
    const how = {
      adjusted: 'took its delta',
      lowered: "was lowered to the database's figure",
      set: "was set to the database's figure (import)",
      confirmed: "was already at or below the database's figure",
      superseded: 'is confirmed by a newer movement',
    } as const;
    for (const [i, result] of (['adjusted', 'lowered', 'set', 'confirmed', 'superseded'] as const).entries()) {
      const restock = received(exampleRestockEvent({ movementId: `130${i}` }), String(i));
      outcomes.succeeded([restock], () => result, {});
    }
    assert.deepEqual(
      bench.logs.map((l) => l.msg),
      Object.values(how).map(
        (text, i) => `SUCCESS Shopify inventory of variant 45123456789011 (TSHIRT-BLK-M) ${text}: restock movement 130${i}`,
      ),
    );
    for (const result of Object.keys(how)) {
      assert.equal(await metricSample(bench, 'inventory_events_processed_total', `result="${result}"`), 1, result);
    }
  });

  it('remembers the event as handled, so a redelivery is known', async (t) => {
    const { outcomes } = await outcomesFor(t);
    const [first, second] = [received(exampleInventoryEvent(), '1'), received(exampleInventoryEvent(), '2')];
    assert.equal(outcomes.handled(first.eventId), false);

    outcomes.succeeded([first, second], () => 'confirmed', {});

    assert.equal(outcomes.handled(first.eventId), true);
    assert.equal(outcomes.handled(second.eventId), true);
    assert.equal(outcomes.handled(exampleInventoryEvent().eventId), false);
  });
});

describe('events Shopify refused', () => {
  it('go to the DLQ with the reason, their correlation id and where they came from, each with an error line and a count', async (t) => {
    const { bench, outcomes, source } = await outcomesFor(t);
    const [a, b] = [received(exampleInventoryEvent(), '40', 'req-a'), received(exampleRestockEvent(), '41', 'req-b')];

    await outcomes.deadLetter([a, b], 'shopify_failed: ITEM_NOT_STOCKED_AT_LOCATION', source, { round: 2 });

    const letters = await eventually(async () => {
      const messages = await bench.dlq();
      assert.equal(messages.length, 2);
      return messages;
    });
    assert.deepEqual(
      letters.map((m) => [
        JSON.parse(m.value!.toString()).eventId,
        header(m, 'x-dlq-reason'),
        header(m, 'x-correlation-id'),
        header(m, 'x-dlq-source'),
      ]),
      [
        [a.eventId, 'shopify_failed: ITEM_NOT_STOCKED_AT_LOCATION', 'req-a', `${bench.topic}/0/40`],
        [b.eventId, 'shopify_failed: ITEM_NOT_STOCKED_AT_LOCATION', 'req-b', `${bench.topic}/0/41`],
      ],
    );
    assert.deepEqual(bench.logs.map(withoutTime)[0], {
      level: 'error',
      service: 'order-stream-process',
      event: 'shopify.inventory.failed',
      orderId: '820982911946154508',
      correlationId: 'req-a',
      msg: `Shopify inventory of variant 45123456789011 (TSHIRT-BLK-M) not brought in line; event sent to ${bench.dlqTopic}: shopify_failed: ITEM_NOT_STOCKED_AT_LOCATION`,
      variantId: '45123456789011',
      inventoryItemId: '44123456780001',
      eventId: a.eventId,
      movementId: '1201',
      reason: 'shopify_failed: ITEM_NOT_STOCKED_AT_LOCATION',
      round: 2,
    });
    assert.deepEqual(
      bench.logs.map((l) => [l.event, l.eventId]),
      [
        ['shopify.inventory.failed', a.eventId],
        ['shopify.inventory.failed', b.eventId],
      ],
    );
    assert.equal(await metricSample(bench, 'inventory_events_processed_total', 'result="dlq"'), 2);
    assert.equal(await metricSample(bench, 'inventory_dlq_messages_total', 'reason="shopify_failed"'), 2);
    assert.equal(outcomes.handled(a.eventId), false, 'a dead-lettered event may be replayed');
  });

  it('sends, logs and counts nothing for no events', async (t) => {
    const { bench, outcomes, source } = await outcomesFor(t);
    await outcomes.deadLetter([], 'shopify_failed: 503', source);
    assert.deepEqual(bench.logs, []);
    assert.equal(await metricSample(bench, 'inventory_events_processed_total', 'result="dlq"'), undefined);
  });
});

describe('what a batch sets aside', () => {
  it('logs each redelivery at debug and counts it; sends each unusable message to the DLQ as invalid_event with a warning', async (t) => {
    const { bench, outcomes, source } = await outcomesFor(t);
    const again = received(exampleInventoryEvent(), '50', 'req-again');
    const broken = {
      message: messageOf(exampleInventoryEvent(), '51', 'req-1'),
      correlationId: 'req-broken',
      reason: 'invalid_json: Unexpected end of JSON input',
      offset: '51',
    };

    await outcomes.setAside({ events: [], duplicates: [again], unusable: [broken] }, source);

    assert.deepEqual(bench.logs.map(withoutTime), [
      {
        level: 'debug',
        service: 'order-stream-process',
        event: 'inventory.event.duplicate',
        orderId: '820982911946154508',
        correlationId: 'req-again',
        msg: `event ${again.eventId} already handled: redelivery ignored`,
      },
      {
        level: 'warn',
        service: 'order-stream-process',
        event: 'inventory.event.invalid',
        correlationId: 'req-broken',
        msg: `unprocessable message at ${bench.topic}/0/51 sent to ${bench.dlqTopic}: invalid_json: Unexpected end of JSON input`,
        offset: '51',
        partition: 0,
      },
    ]);
    const [letter] = await eventually(async () => {
      const messages = await bench.dlq();
      assert.equal(messages.length, 1);
      return messages;
    });
    assert.equal(header(letter!, 'x-dlq-reason'), 'invalid_json: Unexpected end of JSON input');
    assert.equal(header(letter!, 'x-dlq-source'), `${bench.topic}/0/51`);
    assert.equal(await metricSample(bench, 'inventory_events_processed_total', 'result="duplicate"'), 1);
    assert.equal(await metricSample(bench, 'inventory_events_processed_total', 'result="dlq"'), 1);
    assert.equal(await metricSample(bench, 'inventory_dlq_messages_total', 'reason="invalid_event"'), 1);
  });
});

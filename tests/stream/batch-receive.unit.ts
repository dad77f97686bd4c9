import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { BoundedMap, BoundedSet } from '../../services/order-stream-process/src/use-cases/sync-batch/bounded-set.js';
import { correlationOf, receive } from '../../services/order-stream-process/src/use-cases/sync-batch/receive.js';
import { exampleInventoryEvent } from '../support/inventory-event.js';

const message = (offset: string, value: string | null, headers: KafkaMessage['headers'] = {}): KafkaMessage =>
  ({ offset, value: value === null ? null : Buffer.from(value), headers, key: null, timestamp: '0', attributes: 0 }) as KafkaMessage;
const batchOf = (...messages: KafkaMessage[]) => ({ topic: 'inventory-events', partition: 3, messages });
const offsetsOf = (list: Array<{ message: KafkaMessage }>) => list.map((e) => e.message.offset);

describe("a batch's messages read as events", () => {
  const a = exampleInventoryEvent({ eventId: '7f1c2d3e-0000-4000-8000-00000000000a' });
  const b = exampleInventoryEvent({ eventId: '7f1c2d3e-0000-4000-8000-00000000000b', inventoryVersion: 3 });

  it('keeps each event once, in offset order, with the correlation id its header carries or else its event id', () => {
    const result = receive(
      batchOf(message('10', JSON.stringify(a), { 'x-correlation-id': 'req-42' }), message('11', JSON.stringify(b))),
      () => false,
    );
    assert.deepEqual(offsetsOf(result.events), ['10', '11']);
    assert.deepEqual(
      result.events.map((e) => [e.eventId, e.correlationId]),
      [
        [a.eventId, 'req-42'],
        [b.eventId, b.eventId],
      ],
    );
    assert.deepEqual(result.duplicates, []);
    assert.deepEqual(result.unusable, []);
  });

  it('sets aside an event handled before, and the second copy of one in the same batch', () => {
    const result = receive(
      batchOf(message('10', JSON.stringify(a)), message('11', JSON.stringify(b)), message('12', JSON.stringify(b))),
      (eventId) => eventId === a.eventId,
    );
    assert.deepEqual(offsetsOf(result.events), ['11']);
    assert.deepEqual(offsetsOf(result.duplicates), ['10', '12']);
  });

  it('sends a message that is no event to the DLQ with why, named by its header or else by topic, partition and offset', () => {
    const result = receive(batchOf(message('20', 'not json', { 'x-correlation-id': 'req-7' }), message('21', null)), () => false);
    assert.deepEqual(
      result.unusable.map(({ correlationId, offset, reason }) => ({ correlationId, offset, reason })),
      [
        { correlationId: 'req-7', offset: '20', reason: `invalid_json: Unexpected token 'o', "not json" is not valid JSON` },
        { correlationId: 'inventory-events-3-21', offset: '21', reason: 'invalid_event: empty message value' },
      ],
    );
    assert.deepEqual(result.events, []);
  });
});

describe("a message's correlation id", () => {
  it('is taken only when this system could have written it: 1 to 128 letters, digits and . _ : -', () => {
    assert.equal(correlationOf(message('1', null, { 'x-correlation-id': 'Ab9._:-' })), 'Ab9._:-');
    assert.equal(correlationOf(message('1', null, { 'x-correlation-id': [Buffer.from('first'), Buffer.from('second')] })), 'first');
    assert.equal(correlationOf(message('1', null, { 'x-correlation-id': 'x'.repeat(128) })), 'x'.repeat(128));
    assert.equal(correlationOf(message('1', null, { 'x-correlation-id': 'x'.repeat(129) })), undefined);
    assert.equal(correlationOf(message('1', null, { 'x-correlation-id': 'a b' })), undefined);
    assert.equal(correlationOf(message('1', null, { 'x-correlation-id': 'ok\nforged' })), undefined);
    assert.equal(correlationOf(message('1', null, { 'x-correlation-id': '' })), undefined);
    assert.equal(correlationOf(message('1', null, {})), undefined);
    assert.equal(correlationOf({ ...message('1', null), headers: undefined } as unknown as KafkaMessage), undefined);
  });
});

describe("the confirm step's bounded memory", () => {
  it('a set forgets its oldest entry past its limit; adding again makes an entry the newest', () => {
    const set = new BoundedSet<string>(2);
    set.add('a');
    set.add('b');
    set.add('a');
    set.add('c');
    assert.deepEqual(
      ['a', 'b', 'c'].map((k) => set.has(k)),
      [true, false, true],
    );
    set.delete('a');
    assert.equal(set.has('a'), false);
  });

  it('a map forgets its least recently written entry past its limit, never one within it', () => {
    const map = new BoundedMap<string, boolean>(2);
    map.set('a', true);
    map.set('b', false);
    assert.deepEqual([map.get('a'), map.get('b')], [true, false]);
    map.set('a', false);
    map.set('c', true);
    assert.deepEqual(
      ['a', 'b', 'c'].map((k) => map.get(k)),
      [false, undefined, true],
    );
  });
});

/**
 * The stream processor on the client-credentials grant (docs/spec.md 12): its bundle runs as the
 * stack runs it, with SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET instead of a static token, against
 * the Shopify stand-in, which issues tokens that expire after 2 seconds (or are revoked) and answers
 * 401 to a dead one. Each test has its own client at the stand-in, its own topics and consumer group.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { closeDb, readInventory } from '../support/db.js';
import { shopifyRequests } from '../support/shopify.js';
import { shopifyAvailable } from '../support/shopify-stand-in.js';
import { stackEnv } from '../support/stack-env.js';
import { freePort, logLines, spawnService, waitForStatus, type RunningService } from '../stack/support.js';
import { createVariant, eventually, kafka, recordMovement, type TestVariant } from './harness.js';
import type { InventoryEvent } from '../../services/order-stream-process/src/domain/event.js';

after(closeDb);

interface ClientState {
  clientId: string;
  expiresInSeconds: number;
  tokensIssued: number;
  liveTokens: number;
  refusedGrants: number;
  refusedCalls: number;
}

async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${stackEnv().WIREMOCK_URL}/__admin/shopify/oauth${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `${method} /__admin/shopify/oauth${path}: ${text}`);
  return JSON.parse(text);
}

/** An app of the test's own at the stand-in: its client id and secret, and its tokens' lifetime. */
async function registerApp(expiresInSeconds: number) {
  const clientId = `test-app-${randomUUID()}`;
  const clientSecret = `secret-${randomUUID()}`;
  await admin('PUT', '', { clientId, clientSecret, expiresInSeconds });
  return {
    clientId,
    clientSecret,
    async state(): Promise<ClientState> {
      const { clients } = (await admin('GET', `?clientId=${encodeURIComponent(clientId)}`)) as { clients: ClientState[] };
      assert.equal(clients.length, 1);
      return clients[0]!;
    },
    revoke: () => admin('POST', '/revoke', { clientId }),
  };
}

interface Stream {
  running: RunningService;
  topic: string;
  produce(event: InventoryEvent): Promise<void>;
  successOf(eventId: string): Promise<Record<string, unknown>>;
  lines(event: string): Array<Record<string, unknown>>;
  deadLetters(): Promise<KafkaMessage[]>;
}

/** The stream bundle with the grant's credentials, on topics and a group of its own; stopped after the test. */
async function streamWithGrant(
  t: { after: (fn: () => Promise<void>) => void },
  app: { clientId: string; clientSecret: string },
): Promise<Stream> {
  const env = stackEnv();
  const suffix = randomUUID().slice(0, 8);
  const topic = `test-token-${suffix}`;
  const dlqTopic = `${topic}.dlq`;
  const groupId = `test-token-${suffix}`;
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  await kafkaAdmin.createTopics({
    waitForLeaders: true,
    topics: [topic, dlqTopic].map((name) => ({ topic: name, numPartitions: 3, replicationFactor: 1 })),
  });
  const port = await freePort();
  const running = spawnService('order-stream-process', {
    PORT: String(port),
    LOG_LEVEL: 'info',
    KAFKA_BROKERS: env.KAFKA_BROKERS,
    SHOPIFY_ADMIN_BASE_URL: env.SHOPIFY_ADMIN_BASE_URL,
    SHOPIFY_API_VERSION: env.SHOPIFY_API_VERSION,
    SHOPIFY_CLIENT_ID: app.clientId,
    SHOPIFY_CLIENT_SECRET: app.clientSecret,
    SHOPIFY_MAX_ATTEMPTS: '3',
    SHOPIFY_RETRY_BASE_DELAY_MS: '100',
    INVENTORY_TOPIC: topic,
    DLQ_TOPIC: dlqTopic,
    CONSUMER_GROUP: groupId,
    DATA_API_URL: env.DATA_API_URL,
    INTERNAL_API_TOKEN: env.INTERNAL_API_TOKEN,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const dlqReader = kafka.consumer({ groupId: `${groupId}-dlq-reader`, maxWaitTimeInMs: 200 });
  const dead: KafkaMessage[] = [];
  await dlqReader.connect();
  await dlqReader.subscribe({ topic: dlqTopic, fromBeginning: true });
  await dlqReader.run({
    eachMessage: async ({ message }) => {
      dead.push(message);
    },
  });
  t.after(async () => {
    running.child.kill('SIGTERM');
    await running.exited;
    await producer.disconnect();
    await dlqReader.disconnect();
    await kafkaAdmin.deleteTopics({ topics: [topic, dlqTopic] }).catch(() => undefined);
    await kafkaAdmin.deleteGroups([groupId, `${groupId}-dlq-reader`]).catch(() => undefined);
    await kafkaAdmin.disconnect();
  });
  const ready = await waitForStatus(`http://127.0.0.1:${port}/health/ready`, 200, 60_000);
  assert.equal(ready, 200, `the stream processor did not become ready:\n${running.output().stdout}\n${running.output().stderr}`);
  const lines = (event: string) => logLines(running.output().stdout).filter((l) => l.event === event);
  return {
    running,
    topic,
    async produce(event) {
      await producer.send({
        topic,
        messages: [{ key: event.variantId, value: JSON.stringify(event), headers: { 'x-correlation-id': `test-${randomUUID()}` } }],
      });
    },
    successOf: (eventId) =>
      eventually(() => {
        const line = lines('shopify.inventory.updated').find((l) => l.eventId === eventId && String(l.msg).startsWith('SUCCESS'));
        assert.ok(line, `no SUCCESS line yet for ${eventId}:\n${running.output().stdout.slice(-3000)}`);
        return line;
      }, 60_000),
    lines,
    deadLetters: async () => [...dead],
  };
}

const shopifyOf = (v: TestVariant) => shopifyAvailable(v.inventoryItemId, v.locationId);

describe('the client-credentials grant keeps the stream processor authorised', () => {
  it('renews a token that lasts 2 s before it expires: restocks spread over 6 s all reach Shopify, no call is refused, nothing goes to the DLQ', async (t) => {
    const app = await registerApp(2);
    const variant = await createVariant(t, { database: 10 });
    const stream = await streamWithGrant(t, app);

    let expected = 10;
    for (let i = 0; i < 7; i++) {
      const restock = await recordMovement(variant, { reason: 'restock', delta: i + 1 });
      expected += i + 1;
      await stream.produce(restock);
      await stream.successOf(restock.eventId);
      // Paces the restocks over three lifetimes of a token, so that calls fall in every part of one.
      if (i < 6) await sleep(1_000);
    }

    assert.equal((await readInventory(variant.variantId))?.availableQuantity, expected);
    assert.equal(await shopifyOf(variant), expected, "each restock reached Shopify's figure once");
    // The span and the tokens as the stand-in received the calls, not as the test's clock saw them.
    const calls = await shopifyRequests([variant.inventoryItemId]);
    const spanMs = calls.at(-1)!.loggedAt - calls[0]!.loggedAt;
    assert.ok(spanMs >= 6_000, `the calls span three lifetimes of a token: ${spanMs} ms between the first and the last`);
    const tokensUsed = new Set(calls.map((c) => c.headers['x-shopify-access-token'])).size;
    assert.ok(tokensUsed >= 3, `a token lasts 2 s, the calls span 6 s: made with at least 3 tokens, got ${tokensUsed}`);
    const state = await app.state();
    assert.ok(state.tokensIssued >= tokensUsed, `every token used was issued by the grant (${state.tokensIssued} issued)`);
    assert.equal(state.refusedCalls, 0, 'no call was made with an expired token: each was renewed before it expired');
    assert.equal(stream.lines('shopify.token.obtained').length, state.tokensIssued);
    assert.equal(stream.lines('shopify.token.rejected').length, 0);
    assert.deepEqual(await stream.deadLetters(), []);
  });

  it('obtains a new token once when Shopify refuses the one it holds (401), and the event still reaches Shopify without a dead letter', async (t) => {
    const app = await registerApp(3600);
    const variant = await createVariant(t, { database: 10 });
    const stream = await streamWithGrant(t, app);

    const first = await recordMovement(variant, { reason: 'restock', delta: 4 });
    await stream.produce(first);
    await stream.successOf(first.eventId);
    assert.equal((await app.state()).tokensIssued, 1);

    // Shopify stops taking the token (a revoked installation, a rotated secret): the next call gets 401.
    assert.deepEqual(await app.revoke(), { revoked: 1 });
    const second = await recordMovement(variant, { reason: 'correction', delta: -3 });
    await stream.produce(second);
    await stream.successOf(second.eventId);

    assert.equal(await shopifyOf(variant), 11, '10 + 4 − 3');
    const state = await app.state();
    assert.equal(state.refusedCalls, 1, 'one call was refused with the revoked token');
    assert.equal(state.tokensIssued, 2, 'and one new token was obtained for it');
    assert.equal(stream.lines('shopify.token.rejected').length, 1);
    assert.deepEqual(await stream.deadLetters(), []);
  });
});

/**
 * Issue 7, crashes and outside failures, against the whole running stack. Components are killed
 * and restarted through the launcher's pid files and `start`, so this suite runs alone, after
 * the other suites (`npm run test:reliability`). Shopify is the stand-in, which keeps its levels:
 * a failure is a stub in front of it for the test's own inventory items, and at rest every test
 * proves Shopify = the database = the sum of the movements, with no raise by the system.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { closeDb, dbPool, readInventory } from '../support/db.js';
import { readEvents } from '../support/kafka.js';
import { readServiceLog } from '../support/logs.js';
import { buildShopifyOrder, lineOf, randomOrderId } from '../support/orders.js';
import { shopifyReplies } from '../support/shopify.js';
import { shopifyAvailable } from '../support/shopify-stand-in.js';
import { stackEnv } from '../support/stack-env.js';
import { crash, launcherOk, postOrder, Report, stockedProducts, waitFor, type WebhookAnswer } from '../e2e/support.js';
import {
  assertAtRest,
  assertWhole,
  failAlways,
  failFirstMutations,
  orderIntegrity,
  shopifyCalls,
  slowShopify,
  stockOf,
} from './support.js';

const env = stackEnv();
const report = new Report('reliability: crashes and outside failures');

after(async () => {
  report.print();
  await launcherOk('start', 'order-manage-data-api').catch(() => undefined);
  await launcherOk('start', 'order-stream-process').catch(() => undefined);
  await closeDb();
});

function successLinesFor(eventIds: Set<string>): Set<string> {
  return new Set(
    readServiceLog('order-stream-process')
      .filter((line) => line.event === 'shopify.inventory.updated' && line.msg.startsWith('SUCCESS'))
      .map((line) => String(line.eventId))
      .filter((eventId) => eventIds.has(eventId)),
  );
}

async function eventIdsOf(orderIds: number[]): Promise<Set<string>> {
  const { rows } = await dbPool().query<{ event_id: string }>('SELECT event_id FROM outbox_event WHERE order_id = ANY($1::bigint[])', [
    orderIds.map(String),
  ]);
  return new Set(rows.map((r) => r.event_id));
}

describe('crashes', () => {
  it('order-manage-data-api SIGKILLed mid-load: 503 DATA_API_UNAVAILABLE meanwhile, no half-written order, the outbox resumes after start', async () => {
    const START = 1_000;
    const { products, cleanup } = await stockedProducts(2, { availableQuantity: START });
    const sent: Array<{ order: ReturnType<typeof buildShopifyOrder>; webhookId: string; answer: WebhookAnswer }> = [];
    try {
      let crashed = false;
      let restarted: Promise<string> | undefined;
      let back = false;
      let afterBack = 0;
      const AFTER_RESTART = 20;
      const worker = async () => {
        // Until the restarted data-api has taken AFTER_RESTART orders: the load spans before, during and after.
        for (let i = sent.length; afterBack < AFTER_RESTART; i++) {
          const order = buildShopifyOrder({
            orderId: randomOrderId(),
            lines: products.filter((_, p) => (i + p) % 3 !== 2).map((p) => lineOf(p, 1 + (i % 2))),
          });
          const webhookId = `kill-${order.id}`;
          const wasBack = back;
          const answer = await postOrder(order, { 'x-shopify-webhook-id': webhookId });
          sent.push({ order, webhookId, answer });
          if (wasBack) afterBack++;
          if (!crashed && sent.length >= 20) {
            crashed = true;
            await crash('order-manage-data-api');
          }
          if (crashed && !restarted && sent.filter((s) => s.answer.status === 503).length >= 5) {
            restarted = launcherOk('start', 'order-manage-data-api').finally(() => (back = true));
          }
          if (crashed && !back) await sleep(250);
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      await restarted;
      const TOTAL = sent.length;

      const unavailable = sent.filter((s) => s.answer.status === 503);
      const afterRestart = sent.slice(sent.findLastIndex((s) => s.answer.status === 503) + 1);
      assert.ok(afterRestart.length >= AFTER_RESTART - 4, `orders are accepted again after the start (${afterRestart.length})`);
      assert.ok(unavailable.length >= 5, `${unavailable.length} orders met the dead data-api`);
      assert.deepEqual(
        sent.filter((s) => s.answer.status !== 201 && s.answer.status !== 503).map((s) => s.answer.json),
        [],
      );
      for (const { answer } of unavailable) {
        assert.equal(answer.json.code, 'DATA_API_UNAVAILABLE');
        assert.match(answer.headers.get('content-type') ?? '', /^application\/problem\+json/);
      }
      // Shopify redelivers what got a 503: every such order ends accepted, once.
      for (const s of unavailable) {
        const again = await postOrder(s.order, { 'x-shopify-webhook-id': s.webhookId });
        assert.equal(again.status, 201, JSON.stringify(again.json));
      }

      const orderIds = sent.map((s) => s.order.id);
      const state = await waitFor('the outbox to drain after the restart', async () => {
        const now = await orderIntegrity(orderIds);
        return now.unpublished === 0 ? now : undefined;
      });
      assertWhole(state, TOTAL);
      const remaining = await stockOf(products.map((p) => p.variantId));
      for (const p of products) {
        assert.equal(
          (state.reservedByVariant.get(p.variantId) ?? 0) + remaining.get(p.variantId)!,
          START,
          `${p.sku}: every decrement matches the lines`,
        );
      }
      await assertAtRest(products);
      report.add({
        scenario: 'data-api SIGKILL mid-load, redelivery',
        requests: TOTAL + unavailable.length,
        faults: 'kill -9 data-api, start',
        accepted: sent.filter((s) => s.answer.status === 201).length + unavailable.length,
        refused: unavailable.length,
        lost: TOTAL - state.orders,
        oversold: 0,
      });
    } finally {
      await launcherOk('start', 'order-manage-data-api');
      await cleanup();
    }
  });

  it('order-stream-process SIGKILLed in the middle of a Shopify call: after start no event is lost, Shopify matches the database and was never raised', async () => {
    const { products, cleanup } = await stockedProducts(2, { availableQuantity: 300 });
    const slow = await slowShopify(
      products.map((p) => p.inventoryItemId),
      2_500,
    );
    const orderIds: number[] = [];
    try {
      const answers: WebhookAnswer[] = [];
      for (let i = 0; i < 20; i++) {
        const orderId = randomOrderId();
        orderIds.push(orderId);
        answers.push(await postOrder(buildShopifyOrder({ orderId, lines: products.map((p) => lineOf(p, 1 + (i % 2))) })));
      }
      assert.deepEqual(
        answers.map((a) => a.status),
        Array(20).fill(201),
      );
      await waitFor('a Shopify call in flight', async () =>
        (await shopifyCalls(products.map((p) => p.inventoryItemId))).length > 0 ? true : undefined,
      );
      await crash('order-stream-process');
      await slow.remove();
      await launcherOk('start', 'order-stream-process');

      await waitFor('the outbox to drain', async () => ((await orderIntegrity(orderIds)).unpublished === 0 ? true : undefined));
      await assertAtRest(products);
      const eventIds = await eventIdsOf(orderIds);
      const handled = await waitFor('a SUCCESS line for every event', async () => {
        const seen = successLinesFor(eventIds);
        return seen.size === eventIds.size ? seen : undefined;
      });
      assert.equal(handled.size, 40);
      report.add({
        scenario: 'stream processor SIGKILL mid-call',
        requests: 20,
        faults: 'kill -9 processor, slow Shopify',
        accepted: 20,
        refused: 0,
        lost: eventIds.size - handled.size,
        oversold: 0,
      });
    } finally {
      await slow.remove();
      await launcherOk('start', 'order-stream-process');
      await cleanup();
    }
  });
});

describe('Shopify failing', () => {
  it('THROTTLED, then 429, then 500, then applied: four compare-and-sets with one idempotency key, and Shopify ends at the database figure', async () => {
    const { products, cleanup } = await stockedProducts(1, { availableQuantity: 50 });
    const product = products[0]!;
    // Shopify took no part in this order (the webhook is sent directly): the processor lowers its 50
    // to the database's 46, compare-and-set; the first three attempts fail, the fourth reaches the stand-in.
    const stub = await failFirstMutations(
      [product.inventoryItemId],
      'inventorySetQuantities',
      [shopifyReplies.throttled(), shopifyReplies.tooManyRequests(1), shopifyReplies.serverError(500)].map((r) => ({
        status: r.status!,
        headers: r.headers,
        jsonBody: r.body,
      })),
    );
    try {
      const res = await postOrder(buildShopifyOrder({ lines: [lineOf(product, 4)] }));
      assert.equal(res.status, 201);
      await waitFor(
        'Shopify at the database figure',
        async () => ((await shopifyAvailable(product.inventoryItemId, product.locationId)) === 46 ? true : undefined),
        60_000,
      );
      // A marker: a later order of the same variant, so its event sits behind the first on the same
      // partition (keyed by variant) and is synced only once the first's batch is over. When Shopify
      // holds its figure, any further call for the first order would already be in the journal.
      assert.equal((await postOrder(buildShopifyOrder({ lines: [lineOf(product, 1)] }))).status, 201);
      await waitFor(
        "Shopify at the marker order's figure",
        async () => ((await shopifyAvailable(product.inventoryItemId, product.locationId)) === 45 ? true : undefined),
        60_000,
      );
      const sets = await shopifyCalls([product.inventoryItemId], 'inventorySetQuantities');
      const fromTo = (c: (typeof sets)[number]) =>
        (c.variables.input as { quantities: Array<{ quantity: number; changeFromQuantity: number | null }> }).quantities.map((q) => [
          q.changeFromQuantity,
          q.quantity,
        ]);
      assert.deepEqual(
        sets.map(fromTo),
        [[[50, 46]], [[50, 46]], [[50, 46]], [[50, 46]], [[46, 45]]],
        "three failures and one success, from what Shopify held to the database figure; then only the marker's call",
      );
      const [first, marker] = [sets.slice(0, 4), sets[4]!];
      assert.equal(new Set(first.map((c) => c.variables.idempotencyKey)).size, 1, 'every retry reuses the idempotency key');
      assert.notEqual(marker.variables.idempotencyKey, first[0]!.variables.idempotencyKey, 'the marker is a change of its own');
      assert.deepEqual(await shopifyCalls([product.inventoryItemId], 'inventoryAdjustQuantities'), [], 'an order is never sent as a delta');
      await assertAtRest(products);
      report.add({
        scenario: 'Shopify THROTTLED, 429, 500, OK',
        requests: 2,
        faults: '3 failed Shopify calls',
        accepted: 2,
        refused: 0,
        lost: 0,
        oversold: 0,
      });
    } finally {
      await stub.remove();
      await cleanup();
    }
  });

  it('a permanent Shopify failure sends the event to inventory-updates.dlq with its reason, and the processor goes on', async () => {
    const { products, cleanup } = await stockedProducts(2, { availableQuantity: 50 });
    const [doomed, fine] = products as [(typeof products)[0], (typeof products)[0]];
    const failure = shopifyReplies.serverError(500);
    const stub = await failAlways([doomed.inventoryItemId], { status: failure.status!, jsonBody: failure.body });
    try {
      const since = Date.now() - 1_000;
      const orderId = randomOrderId();
      const webhookId = `dlq-${orderId}`;
      assert.equal(
        (await postOrder(buildShopifyOrder({ orderId, lines: [lineOf(doomed, 1)] }), { 'x-shopify-webhook-id': webhookId })).status,
        201,
      );
      const [dead] = await readEvents({
        topic: env.DLQ_TOPIC ?? 'inventory-updates.dlq',
        fromTimestamp: since,
        predicate: (e) => e.value.orderId === String(orderId),
        timeoutMs: 60_000,
      });
      assert.equal(dead!.key, String(doomed.variantId), 'keyed by variant, as on inventory-updates');
      assert.match(dead!.headers['x-dlq-reason'] ?? '', /shopify_failed/);
      assert.equal(dead!.headers['x-correlation-id'], webhookId);
      assert.equal((dead!.value as { inventoryItemId: string }).inventoryItemId, String(doomed.inventoryItemId));
      assert.equal((dead!.value as { variantId: string }).variantId, String(doomed.variantId));
      const calls = await shopifyCalls([doomed.inventoryItemId]);
      assert.ok(calls.length >= 2, `retried before giving up (${calls.length} calls)`);
      assert.equal(new Set(calls.map((c) => JSON.stringify(c.variables))).size, 1, 'each retry repeats the same request');
      assert.equal((await readInventory(doomed.variantId))!.availableQuantity, 49, 'the order stays committed: the database is the truth');
      assert.equal(await shopifyAvailable(doomed.inventoryItemId, doomed.locationId), 50, 'Shopify, never reached, kept its figure');

      assert.equal((await postOrder(buildShopifyOrder({ lines: [lineOf(fine, 2)] }))).status, 201);
      await assertAtRest([fine]);
      report.add({
        scenario: 'permanent Shopify failure -> DLQ',
        requests: 2,
        faults: 'Shopify 500 forever',
        accepted: 2,
        refused: 0,
        lost: 0,
        oversold: 0,
      });
    } finally {
      await stub.remove();
      await cleanup();
    }
  });
});

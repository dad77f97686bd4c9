import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { createLogger } from '@oms/common';
import { createApp } from '../../services/order-manage-api/src/app.js';
import { createDataApiClient } from '../../services/order-manage-api/src/clients/data-api.js';
import { createRedis } from '../../services/order-manage-api/src/clients/redis.js';
import { createWmsHold } from '../../services/order-manage-api/src/clients/wms-hold.js';
import { createRejectionRecorder } from '../../services/order-manage-api/src/clients/rejection-recorder.js';
import { createWmsClient } from '../../services/order-manage-api/src/clients/wms.js';
import { createApiMetrics } from '../../services/order-manage-api/src/metrics.js';
import { startDataApi, WEBHOOK_SECRET } from '../order-api/intake-harness.js';
import { closeDb, countOutboxRows, createTestProduct, dbPool, readInventory, readOrder } from '../support/db.js';
import { readServiceLog } from '../support/logs.js';
import { buildShopifyOrder, lineOf, randomOrderId } from '../support/orders.js';
import { shopifyHeaders } from '../support/sign.js';
import { stackEnv } from '../support/stack-env.js';
import { eventually } from '../support/eventually.js';

/**
 * docs/spec.md section 10 through the running stack: a refused order is recorded apart, once per refusal,
 * and the ledger never changes or slows the webhook's answer.
 */

const env = stackEnv();

async function deliver(body: unknown, webhookId: string, url = env.ORDER_API_URL, secret = env.SHOPIFY_WEBHOOK_SECRET) {
  const raw = JSON.stringify(body);
  const response = await fetch(`${url}/api/shopify/webhooks/orders`, {
    method: 'POST',
    headers: shopifyHeaders(raw, secret, { 'x-shopify-webhook-id': webhookId }),
    body: raw,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function listRejections(query: string, token = env.INTERNAL_API_TOKEN) {
  const response = await fetch(`${env.DATA_API_URL}/api/orders/rejections?${query}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(5_000),
  });
  return {
    status: response.status,
    json: (await response.json()) as { rejections: Array<Record<string, unknown>>; nextCursor: string | null },
  };
}

async function ledgerRows(orderId: number) {
  const { rows } = await dbPool().query(
    `SELECT order_id::text, webhook_id, code, status, deliveries, first_seen_at, last_seen_at, extensions FROM order_rejection WHERE order_id = $1`,
    [String(orderId)],
  );
  return rows;
}

after(closeDb);

describe('a refused order is recorded in the ledger (docs/spec.md section 10)', () => {
  it('an order for an unknown product delivered twice by Shopify leaves one ledger row with 2 deliveries, listed by code, and nothing in orders, inventory or the outbox', async () => {
    const stocked = await createTestProduct({ availableQuantity: 5 });
    const unknownProductId = 9_100_000_000_000 + Math.floor(Math.random() * 1e9);
    const orderId = randomOrderId();
    const order = buildShopifyOrder({ orderId, lines: [lineOf(stocked, 1), { productId: unknownProductId, quantity: 2 }] });
    const webhookId = randomUUID();
    const before = await readInventory(stocked.variantId);

    const first = await deliver(order, webhookId);
    const second = await deliver(order, webhookId);
    for (const answer of [first, second]) {
      assert.equal(answer.status, 422);
      assert.equal(answer.json.code, 'PRODUCT_NOT_FOUND');
      assert.deepEqual(answer.json.productIds, [String(unknownProductId)]);
      assert.deepEqual(answer.json.variants, [{ productId: String(unknownProductId), variantId: null, sku: `TEST-${unknownProductId}` }]);
    }

    const rows = await eventually(async () => {
      const found = await ledgerRows(orderId);
      assert.equal(found[0]?.deliveries, 2);
      return found;
    }, 10_000);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].order_id, String(orderId));
    assert.equal(rows[0].webhook_id, webhookId);
    assert.equal(rows[0].code, 'PRODUCT_NOT_FOUND');
    assert.equal(rows[0].status, 422);
    assert.deepEqual(rows[0].extensions.productIds, [String(unknownProductId)]);
    assert.deepEqual(rows[0].extensions.variants, [
      { productId: String(unknownProductId), variantId: null, sku: `TEST-${unknownProductId}` },
    ]);
    assert.ok(rows[0].last_seen_at >= rows[0].first_seen_at);

    assert.equal(await readOrder(orderId), null);
    assert.equal(await countOutboxRows(orderId), 0);
    const afterwards = await readInventory(stocked.variantId);
    assert.equal(afterwards?.availableQuantity, before?.availableQuantity);
    assert.equal(afterwards?.version, before?.version);

    const listed = await listRejections(`code=PRODUCT_NOT_FOUND&orderId=${orderId}`);
    assert.equal(listed.status, 200);
    assert.equal(listed.json.rejections.length, 1);
    assert.equal(listed.json.rejections[0]!.orderId, String(orderId));
    assert.equal(listed.json.rejections[0]!.deliveries, 2);
    assert.equal(typeof listed.json.rejections[0]!.id, 'string');
    assert.equal((await listRejections(`code=INSUFFICIENT_INVENTORY&orderId=${orderId}`)).json.rejections.length, 0);

    const recorded = readServiceLog('order-manage-data-api').filter(
      (line) => line.event === 'order.rejection.recorded' && String(line.orderId) === String(orderId),
    );
    assert.deepEqual(
      recorded.map((line) => line.deliveries),
      [1, 2],
    );
    const metrics = await (await fetch(`${env.DATA_API_URL}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    assert.match(metrics, /^order_rejections_recorded_total\{code="PRODUCT_NOT_FOUND"[^}]*\} [1-9]\d*$/m);
  });

  it('the same order refused later for another reason gets a row of its own', async () => {
    const scarce = await createTestProduct({ availableQuantity: 1 });
    const orderId = randomOrderId();
    const unknown = buildShopifyOrder({
      orderId,
      lines: [{ productId: 9_200_000_000_000 + Math.floor(Math.random() * 1e9), quantity: 1 }],
    });
    const tooMany = buildShopifyOrder({ orderId, lines: [lineOf(scarce, 3)] });
    assert.equal((await deliver(unknown, randomUUID())).status, 422);
    const short = await deliver(tooMany, randomUUID());
    assert.equal(short.json.code, 'INSUFFICIENT_INVENTORY');
    assert.deepEqual(short.json.items, [{ variantId: String(scarce.variantId), sku: scarce.sku, requested: 3, available: 1 }]);
    const rows = await eventually(async () => {
      const found = await ledgerRows(orderId);
      assert.equal(found.length, 2);
      return found;
    }, 10_000);
    assert.deepEqual(rows.map((r) => r.code).sort(), ['INSUFFICIENT_INVENTORY', 'PRODUCT_NOT_FOUND']);
  });

  it('pages the listing newest first, at most `limit` a page, and refuses a caller without the internal token', async () => {
    const page = await listRejections('limit=1');
    assert.equal(page.status, 200);
    assert.ok(page.json.rejections.length <= 1);
    if (page.json.nextCursor) {
      const next = await listRejections(`limit=1&cursor=${page.json.nextCursor}`);
      assert.ok(BigInt(next.json.rejections[0]!.id as string) < BigInt(page.json.rejections[0]!.id as string));
    }
    assert.equal((await listRejections('limit=1', 'not-the-token')).status, 401);
    assert.equal((await listRejections('limit=100000')).status, 400);
    assert.equal((await listRejections('since=yesterday')).status, 400);
  });
});

describe('the ledger never changes or slows the webhook answer', () => {
  it('with a ledger that never answers, a refused order still gets its 422 at once, a warning and a failure count', async () => {
    const dataApi = await startDataApi();
    // Holds every report it receives without answering; notes each, so the test knows the report went out.
    const held: string[] = [];
    const silent: Server = createServer((req) => void held.push(String(req.url)));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const logger = createLogger({ service: 'order-manage-api', level: 'debug' });
    const lines: Array<Record<string, unknown>> = [];
    for (const transport of logger.transports) transport.silent = true;
    logger.on('data', (info: Record<string, unknown>) => lines.push(info));
    const metrics = createApiMetrics();
    const redis = createRedis(env.REDIS_URL, logger);
    const rejections = createRejectionRecorder({
      baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      token: 'test-internal-token',
      timeoutMs: 3_000,
      logger,
      onOutcome: metrics.countRejectionReport,
    });
    const app = createApp({
      logger,
      metrics,
      redis,
      rejections,
      webhookSecret: WEBHOOK_SECRET,
      warehouseLocationId: env.SHOPIFY_LOCATION_ID,
      dataApi: createDataApiClient({ baseUrl: dataApi.url, token: 'test-internal-token', timeoutMs: 4_000 }),
      wms: createWmsClient({ baseUrl: env.WMS_BASE_URL, apiKey: 'test-wms-key', timeoutMs: 2_000 }),
      wmsHold: createWmsHold({ redis, logger, ttlSeconds: 60, key: `test:wms:hold:${randomUUID()}` }),
    });
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    after(async () => {
      server.closeAllConnections();
      silent.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await new Promise((resolve) => silent.close(resolve));
      redis.disconnect();
      await dataApi.stop();
    });

    const orderId = randomOrderId();
    const order = buildShopifyOrder({ orderId, lines: [{ productId: 9_300_000_000_000 + Math.floor(Math.random() * 1e9), quantity: 1 }] });
    const answer = await deliver(order, randomUUID(), `http://127.0.0.1:${(server.address() as AddressInfo).port}`, WEBHOOK_SECRET);
    // What had happened when the answer came: the report's timeout warning is the marker it would have waited for.
    const warnedBeforeAnswer = lines.some((l) => l.event === 'order.rejection.record_failed' && l.orderId === String(orderId));
    assert.equal(answer.status, 422);
    assert.equal(answer.json.code, 'PRODUCT_NOT_FOUND');
    assert.equal(warnedBeforeAnswer, false, 'the 422 came while the ledger report was still waiting for its 3 s timeout');
    await eventually(() => assert.deepEqual(held, ['/internal/orders/rejections']));

    await rejections.drain();
    const warning = lines.find((l) => l.event === 'order.rejection.record_failed' && l.orderId === String(orderId));
    assert.equal(warning?.level, 'warn');
    assert.match(String(warning?.msg), /no answer within 3000 ms/);
    assert.match(await metrics.registry.metrics(), /^order_rejection_reports_total\{outcome="failed"[^}]*\} 1$/m);
    assert.deepEqual(await ledgerRows(orderId), []);
  });
});

import { randomInt, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { NextFunction, Request, Response } from 'express';
import type { Kafka, Message } from 'kafkajs';
import type pg from 'pg';
import { Verifier } from '@pact-foundation/pact';
import { createLogger, type Logger } from '@oms/common';
import { createApp, createDataApiMetrics } from '../../services/order-manage-data-api/src/app.js';
import { commitOrder } from '../../services/order-manage-data-api/src/use-cases/commit-order.js';
import { createPool } from '../../services/order-manage-data-api/src/db/pool.js';
import { restockOrder } from '../../services/order-manage-data-api/src/use-cases/restock-order.js';
import { OutboxRelay } from '../../services/order-manage-data-api/src/outbox/relay.js';
import { closeDb, createTestProduct, dbPool, randomOrderId } from '../support/db.js';
import { waitFor } from '../support/eventually.js';
import { stackEnv } from '../support/stack-env.js';
import { CONSUMER_TOKEN, DATA_API, ORDER_API, pactFile, STREAM_PROCESS } from './pact-support.js';

/**
 * Verifies both pacts against the real order-manage-data-api: the app built by createApp on the
 * stack's PostgreSQL, on an ephemeral port. Each provider state creates its own variants and orders
 * with random ids and hands them to the verifier (the consumer's fromProviderState values);
 * afterwards exactly those rows are deleted. The message pact's message is what the data-api's own
 * outbox relay sends for a real commit: the relay runs against a Kafka client that keeps what it is
 * given instead of sending it.
 */
const TOKEN = `pact-provider-${randomUUID()}`;
// Outbox rows written by verified commits carry this topic, which no running relay publishes.
const TOPIC = `pact-verify-${randomUUID()}`;

const created = { orderIds: new Set<string>(), variantIds: new Set<string>() };

/** A variant in the inventory with this stock (of a product of its own unless `productId` is given). */
async function variant(availableQuantity: number, productId?: string) {
  const v = await createTestProduct({
    availableQuantity,
    productId: productId === undefined ? undefined : Number(productId),
    price: '24.90',
    title: 'Organic cotton T-shirt, black, M',
    atShopify: false,
  });
  created.variantIds.add(String(v.variantId));
  return { productId: String(v.productId), variantId: String(v.variantId), sku: v.sku };
}

/** An order id no row uses, remembered so the commit the verifier sends is cleaned up too. */
function newOrderId(): string {
  const orderId = String(randomOrderId());
  created.orderIds.add(orderId);
  return orderId;
}

/** A line item id no order uses (Shopify's are unique across orders, and so is the column). */
const newLineItemId = () => String(20_000_000_000_000 + randomInt(1, 2 ** 40));

/** Ids of a product and a variant the inventory does not hold, and a SKU no variant has. */
async function missingVariant(): Promise<{ missingProductId: string; missingVariantId: string; missingSku: string }> {
  for (;;) {
    const productId = String(8_900_000_000_000 + randomInt(1, 2 ** 40));
    const variantId = String(41_900_000_000_000 + randomInt(1, 2 ** 40));
    const { rowCount } = await dbPool().query('SELECT 1 FROM inventory WHERE product_id = $1 OR variant_id = $2', [productId, variantId]);
    if (rowCount === 0) return { missingProductId: productId, missingVariantId: variantId, missingSku: `PACT-MISSING-${variantId}` };
  }
}

/** Commits an order of 2 units of a fresh variant through the data-api's own commit, as an accepted webhook would. */
async function committedOrder(pool: pg.Pool, correlationId = randomUUID()) {
  const { productId, variantId, sku } = await variant(120);
  const orderId = newOrderId();
  const webhookId = randomUUID();
  const eventId = randomUUID();
  const lineItemId = newLineItemId();
  const outcome = await commitOrder(pool, {
    order: {
      orderId,
      orderNumber: 1001,
      name: '#1001',
      customerId: null,
      currency: 'USD',
      totalPrice: '49.80',
      financialStatus: 'paid',
      createdAt: new Date().toISOString(),
      webhookId,
      eventId,
      locationId: null,
    },
    lines: [{ lineItemId, productId, variantId, sku, title: 'Organic cotton T-shirt, black, M', quantity: 2, price: '24.90' }],
    correlationId,
    topic: TOPIC,
  });
  if (outcome.kind !== 'committed') throw new Error(`provider state: the order was not committed (${outcome.kind})`);
  return { orderId, webhookId, eventId, lineItemId, productId, variantId, sku, correlationId };
}

async function cleanUp(): Promise<void> {
  const orderIds = [...created.orderIds];
  await dbPool().query('DELETE FROM webhook_event WHERE order_id = ANY($1::bigint[])', [orderIds]);
  await dbPool().query('DELETE FROM outbox_event WHERE topic = $1 OR order_id = ANY($2::bigint[])', [TOPIC, orderIds]);
  await dbPool().query('DELETE FROM orders WHERE order_id = ANY($1::bigint[])', [orderIds]);
  await dbPool().query('DELETE FROM inventory WHERE variant_id = ANY($1::bigint[])', [[...created.variantIds]]);
}

/** An accepted order of 2 units of a fresh variant, with the variant's location and a refund line item id no refund uses yet. */
async function orderToRefund(pool: pg.Pool) {
  const { orderId, lineItemId, variantId } = await committedOrder(pool);
  const { rows } = await dbPool().query<{ location_id: string }>(
    'SELECT shopify_location_id::text AS location_id FROM inventory WHERE variant_id = $1',
    [variantId],
  );
  return { orderId, lineItemId, variantId, locationId: rows[0]!.location_id, refundLineItemId: newLineItemId() };
}

/** A Kafka message as the relay hands it to its producer. */
interface SentMessage {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/**
 * Runs the data-api's own outbox relay over the rows of TOPIC, with a Kafka client whose producer
 * keeps each batch it is given (and acknowledges it) instead of sending it, until the relay has
 * handed over the event of `orderId`: the message exactly as the relay publishes it.
 */
async function publishedByRelay(pool: pg.Pool, orderId: string, logger: Logger): Promise<SentMessage> {
  const sent: SentMessage[] = [];
  const producer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    sendBatch: async ({ topicMessages }: { topicMessages: Array<{ topic: string; messages: Message[] }> }) => {
      for (const { messages } of topicMessages) {
        for (const m of messages) {
          const headers = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]));
          sent.push({ key: String(m.key), value: String(m.value), headers });
        }
      }
      return [];
    },
  };
  const kafka = { producer: () => producer } as unknown as Kafka;
  const relay = new OutboxRelay({
    pool,
    databaseUrl: stackEnv().DATABASE_URL,
    kafka,
    topics: [TOPIC],
    logger,
    pollIntervalMs: 50,
    lingerMs: 0,
  });
  relay.start();
  try {
    return await waitFor(
      `the outbox relay to publish the event of order ${orderId}`,
      async () => sent.find((m) => (JSON.parse(m.value) as { orderId?: string }).orderId === orderId),
      20_000,
      50,
    );
  } finally {
    await relay.stop();
  }
}

/**
 * The pool the provider app is built on, with a switch that makes every checkout fail as a refused
 * connection does: the provider state "the database is unreachable" without stopping the shared server.
 */
function switchablePool(pool: pg.Pool): { pool: pg.Pool; setReachable(reachable: boolean): void } {
  let reachable = true;
  const refused = () =>
    Object.assign(new Error('connect ECONNREFUSED (provider state: the database is unreachable)'), { code: 'ECONNREFUSED' });
  const wrapped = new Proxy(pool, {
    get(target, property, receiver) {
      if (!reachable && (property === 'query' || property === 'connect')) return () => Promise.reject(refused());
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { pool: wrapped, setReachable: (value) => (reachable = value) };
}

describe('order-manage-data-api honours its consumers’ pacts', () => {
  const logger = createLogger({ service: DATA_API, level: 'error' });
  let pool: pg.Pool;
  let database: ReturnType<typeof switchablePool>;
  let server: Server;
  let baseUrl: string;

  before(async () => {
    pool = createPool({ databaseUrl: stackEnv().DATABASE_URL, max: 5, logger, applicationName: 'pact-provider-verification' });
    database = switchablePool(pool);
    const app = createApp({ pool: database.pool, logger, metrics: createDataApiMetrics(), internalApiToken: TOKEN, inventoryTopic: TOPIC });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  /** Every state starts from a reachable database; only the one that says otherwise cuts it. */
  function withReachableDatabase<T>(handlers: Record<string, () => Promise<T>>): Record<string, () => Promise<T>> {
    return Object.fromEntries(
      Object.entries(handlers).map(([state, handler]) => [
        state,
        async () => {
          database.setReachable(true);
          return handler();
        },
      ]),
    );
  }

  after(async () => {
    database.setReachable(true);
    await cleanUp();
    await new Promise((resolve) => server.close(resolve));
    await pool.end();
    await closeDb();
  });

  test('the HTTP pact of order-manage-api is honoured by the real data-api on PostgreSQL', async () => {
    await new Verifier({
      provider: DATA_API,
      providerBaseUrl: baseUrl,
      pactUrls: [pactFile(ORDER_API, DATA_API)],
      logLevel: 'warn',
      // The consumer's placeholder token becomes the real one; a deliberately wrong token stays wrong.
      requestFilter: (req: Request, _res: Response, next: NextFunction) => {
        if (req.headers.authorization === `Bearer ${CONSUMER_TOKEN}`) req.headers.authorization = `Bearer ${TOKEN}`;
        next();
      },
      stateHandlers: withReachableDatabase<Record<string, string> | void>({
        'the database is unreachable': async () => {
          database.setReachable(false);
        },
        // Validation refusals need no rows; the state only undoes an earlier 'unreachable'.
        'the database is reachable': async () => undefined,
        'an order exists': async () => {
          const { orderId, webhookId, eventId, lineItemId, productId, variantId, sku } = await committedOrder(pool);
          return { orderId, webhookId, eventId, lineItemId, productId, variantId, sku, newOrderId: newOrderId() };
        },
        'no order exists': async () => ({ orderId: newOrderId() }),
        'two variants of one product exist': async () => {
          const first = await variant(120);
          const second = await variant(95, first.productId);
          return {
            orderId: newOrderId(),
            ...first,
            otherVariantId: second.variantId,
            otherSku: second.sku,
            lineItemId: newLineItemId(),
            otherLineItemId: newLineItemId(),
          };
        },
        'one variant exists and another does not': async () => ({
          orderId: newOrderId(),
          ...(await variant(120)),
          ...(await missingVariant()),
          lineItemId: newLineItemId(),
          otherLineItemId: newLineItemId(),
        }),
        'a new order for a variant with enough stock': async () => ({
          orderId: newOrderId(),
          lineItemId: newLineItemId(),
          ...(await variant(120)),
        }),
        'a new order for a variant with less stock than ordered': async () => ({
          orderId: newOrderId(),
          lineItemId: newLineItemId(),
          ...(await variant(1)),
        }),
        'a new order for a variant that does not exist': async () => ({
          orderId: newOrderId(),
          lineItemId: newLineItemId(),
          ...(await missingVariant()),
        }),
        'a new order that holds no stock': async () => ({ orderId: newOrderId(), lineItemId: newLineItemId() }),
        'an order reserved 2 units of a variant': async () => orderToRefund(pool),
        'a refund event put 1 unit back': async () => {
          const order = await orderToRefund(pool);
          const restockEventId = randomUUID();
          await restockOrder(pool, {
            orderId: order.orderId,
            topic: 'refunds/create',
            webhookId: randomUUID(),
            eventId: restockEventId,
            cancelledAt: null,
            refundLines: [
              {
                id: order.refundLineItemId,
                lineItemId: order.lineItemId,
                quantity: 1,
                restockType: 'return',
                locationId: order.locationId,
              },
            ],
            correlationId: randomUUID(),
            inventoryTopic: TOPIC,
          });
          return { ...order, restockEventId };
        },
      }),
    }).verifyProvider();
  });

  test('the inventory event pact of order-stream-process is honoured by what the outbox relay publishes for a real commit', async () => {
    let committed: string | undefined;
    await new Verifier({
      provider: DATA_API,
      pactUrls: [pactFile(STREAM_PROCESS, DATA_API)],
      logLevel: 'warn',
      stateHandlers: {
        'an order for one variant was accepted': async () => {
          committed = (await committedOrder(pool)).orderId;
        },
      },
      messageProviders: {
        // The commit wrote the movement and its outbox row; the relay's own code claims the row and
        // builds the Kafka message: its value is the event, its key and headers the metadata.
        'the inventory event of the order movement of a variant': async () => {
          if (!committed) throw new Error('no order was committed: the provider state did not run');
          const message = await publishedByRelay(pool, committed, logger);
          return { __pactMessageMetadata: { ...message.headers, key: message.key }, message: JSON.parse(message.value) as unknown };
        },
      },
    }).verifyProvider();
  });
});

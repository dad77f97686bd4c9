import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { NextFunction, Request, Response } from 'express';
import type pg from 'pg';
import { Verifier } from '@pact-foundation/pact';
import { createLogger } from '@oms/common';
import { createApp, createDataApiMetrics } from '../../services/order-manage-data-api/src/app.js';
import { commitOrder } from '../../services/order-manage-data-api/src/db/orders.js';
import { createPool } from '../../services/order-manage-data-api/src/db/pool.js';
import { closeDb, createTestProduct, dbPool, randomOrderId } from '../support/db.js';
import { stackEnv } from '../support/stack-env.js';
import { CONSUMER_TOKEN, DATA_API, ORDER_API, pactFile, STREAM_PROCESS } from './pact-support.js';

/**
 * Verifies both pacts against the real order-manage-data-api: the app built by createApp on the
 * stack's PostgreSQL, on an ephemeral port. Each provider state creates its own products and
 * orders with random ids and hands them to the verifier (the consumer's fromProviderState
 * values); afterwards exactly those rows are deleted.
 */
const TOKEN = `pact-provider-${randomUUID()}`;
// Outbox rows written by verified commits carry this topic, which no relay publishes.
const TOPIC = `pact-verify-${randomUUID()}`;

const created = { orderIds: new Set<string>(), productIds: new Set<string>() };

async function product(availableQuantity: number): Promise<string> {
  const p = await createTestProduct({ availableQuantity, price: '24.90', title: 'Organic cotton T-shirt, black, M' });
  created.productIds.add(String(p.productId));
  return String(p.productId);
}

/** An order id no row uses, remembered so the commit the verifier sends is cleaned up too. */
function newOrderId(): string {
  const orderId = String(randomOrderId());
  created.orderIds.add(orderId);
  return orderId;
}

/** A product id that no inventory row has (random in the test range, checked). */
async function missingProductId(): Promise<string> {
  for (;;) {
    const candidate = String(8_900_000_000_000 + Math.floor(Math.random() * 2 ** 40));
    const { rowCount } = await dbPool().query('SELECT 1 FROM inventory WHERE product_id = $1', [candidate]);
    if (rowCount === 0) return candidate;
  }
}

/** Commits an order through the data-api's own commit, as an accepted webhook would. */
async function committedOrder(pool: pg.Pool, correlationId = randomUUID()) {
  const productId = await product(120);
  const orderId = newOrderId();
  const webhookId = randomUUID();
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
      eventId: randomUUID(),
    },
    lines: [{ productId, sku: `TEST-${productId}`, title: 'Organic cotton T-shirt, black, M', quantity: 2, price: '24.90' }],
    correlationId,
    topic: TOPIC,
  });
  if (outcome.kind !== 'committed') throw new Error(`provider state: the order was not committed (${outcome.kind})`);
  return { orderId, webhookId, productId, correlationId };
}

async function cleanUp(): Promise<void> {
  const orderIds = [...created.orderIds];
  const productIds = [...created.productIds];
  await dbPool().query('DELETE FROM outbox_event WHERE order_id = ANY($1::bigint[])', [orderIds]);
  await dbPool().query('DELETE FROM orders WHERE order_id = ANY($1::bigint[])', [orderIds]);
  await dbPool().query('DELETE FROM inventory WHERE product_id = ANY($1::bigint[])', [productIds]);
}

/**
 * The pool the provider app is built on, with a switch that makes every checkout fail as a refused
 * connection does: the provider state "the database is unreachable" without stopping the shared server.
 */
function switchablePool(pool: pg.Pool): { pool: pg.Pool; setReachable(reachable: boolean): void } {
  let reachable = true;
  const refused = () => Object.assign(new Error('connect ECONNREFUSED (provider state: the database is unreachable)'), { code: 'ECONNREFUSED' });
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
          const { orderId, webhookId, productId } = await committedOrder(pool);
          return { orderId, webhookId, productId };
        },
        'no order exists': async () => ({ orderId: newOrderId() }),
        'two products exist': async () => ({ orderId: newOrderId(), productId: await product(120), otherProductId: await product(95) }),
        'one product exists and another does not': async () => ({
          orderId: newOrderId(),
          productId: await product(120),
          missingProductId: await missingProductId(),
        }),
        'a new order for a product with enough stock': async () => ({ orderId: newOrderId(), productId: await product(120) }),
        'a new order for a product with less stock than ordered': async () => ({ orderId: newOrderId(), productId: await product(1) }),
        'a new order for a product that does not exist': async () => ({ orderId: newOrderId(), missingProductId: await missingProductId() }),
        'a new order that holds no stock': async () => ({ orderId: newOrderId() }),
      }),
    }).verifyProvider();
  });

  test('the inventory event pact of order-stream-process is honoured by the events the outbox relay publishes', async () => {
    let committed: string | undefined;
    await new Verifier({
      provider: DATA_API,
      pactUrls: [pactFile(STREAM_PROCESS, DATA_API)],
      logLevel: 'warn',
      stateHandlers: {
        'an order for one product was committed': async () => {
          committed = (await committedOrder(pool)).orderId;
        },
      },
      messageProviders: {
        // The outbox row is what the relay sends: its payload (built by the commit's SQL) is the
        // Kafka value, its key the Kafka key, its headers the Kafka headers.
        'an inventory event for a product of a committed order': async () => {
          const { rows } = await pool.query<{ payload: unknown; headers: Record<string, string>; message_key: string }>(
            'SELECT payload, headers, message_key FROM outbox_event WHERE order_id = $1 ORDER BY id LIMIT 1',
            [committed],
          );
          const row = rows[0];
          if (!row) throw new Error(`no outbox row for order ${committed}: the provider state did not run`);
          return { __pactMessageMetadata: { ...row.headers, key: row.message_key }, message: row.payload };
        },
      },
    }).verifyProvider();
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { DEMO_CATALOGUE } from '../../db/catalogue.js';
import { ensureDatabase, migrate, MIGRATIONS } from '../../db/data-source.js';
import { reset, seed } from '../../db/seed.js';
import { DataSource } from '@oms/order-manage-data-api/typeorm';
import { commitOrder } from '../../services/order-manage-data-api/src/use-cases/commit-order.js';
import { findOrder } from '../../services/order-manage-data-api/src/db/order-view.js';
import { resolveLines } from '../../services/order-manage-data-api/src/use-cases/resolve-variants.js';
import { stackEnv } from '../support/stack-env.js';

const ALL_MIGRATIONS = [
  'CreateOrderTables1764000000000',
  'CreateOutboxEvent1764000000001',
  'OrderDetailNonStockLines1764000000002',
  'CreateOrderRejection1764000000003',
  'VariantInventory1764000000004',
  'WebhookEvent1764000000005',
  'InventoryAdjustment1764000000006',
];

/** Where a statement was refused: its SQLSTATE and constraint, or undefined when it went through. */
type Refusal = { code?: string; constraint?: string } | undefined;

function databaseUrlFor(name: string): string {
  const url = new URL(stackEnv().DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrlFor('postgres') });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Applies only the given migrations, as an installed system of that time had them. */
async function migrateOnly(url: string, migrations: typeof MIGRATIONS): Promise<string[]> {
  await ensureDatabase(url);
  const dataSource = new DataSource({
    type: 'postgres',
    url,
    migrations,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'all',
    synchronize: false,
    logging: ['error'],
  });
  await dataSource.initialize();
  try {
    return (await dataSource.runMigrations({ transaction: 'all' })).map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}

/** Each variant's stock and version beside the sum and count of its movements, summed by PostgreSQL. */
async function ledgerTotals(client: pg.ClientBase) {
  const { rows } = await client.query<{
    variant_id: string;
    available_quantity: number;
    version: number;
    deltas: number;
    movements: number;
  }>(
    `SELECT i.variant_id::text, i.available_quantity, i.version,
            coalesce(sum(m.delta), 0)::int AS deltas, count(m.id)::int AS movements
       FROM inventory i LEFT JOIN inventory_movement m ON m.variant_id = i.variant_id
      GROUP BY i.variant_id ORDER BY i.variant_id`,
  );
  return rows;
}

async function assertLedgerHolds(client: pg.ClientBase): Promise<void> {
  for (const row of await ledgerTotals(client)) {
    assert.deepEqual(
      [row.available_quantity, row.version],
      [row.deltas, row.movements],
      `variant ${row.variant_id}: stock and version against its movements`,
    );
  }
}

/**
 * Migrations, seed and reset run against databases of their own, created for this file and
 * dropped afterwards: they start from nothing and touch nobody else's rows.
 */
describe('database: migrations, seed and reset', () => {
  const name = `oms_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const url = databaseUrlFor(name);
  let client: pg.Client;

  const refusal = async (sql: string, params: unknown[] = []): Promise<Refusal> => {
    await client.query('SAVEPOINT probe');
    try {
      await client.query(sql, params);
      return undefined;
    } catch (err) {
      const { code, constraint } = err as { code?: string; constraint?: string };
      return { code, constraint };
    } finally {
      await client.query('ROLLBACK TO SAVEPOINT probe');
    }
  };

  /** A variant as the ledger allows it: the row at zero, then its stock as a movement. */
  const insertVariant = async (v: { variantId: number; productId: number; sku: string; item: number; stock: number }) => {
    await client.query(
      `INSERT INTO inventory (variant_id, product_id, sku, title, price, shopify_inventory_item_id, shopify_location_id)
       VALUES ($1, $2, $3, 'A variant', '1.00', $4, 21)`,
      [v.variantId, v.productId, v.sku, v.item],
    );
    if (v.stock) await movement(v.variantId, v.stock, 'import', `import:${v.variantId}`);
  };

  const movement = (variantId: number | string, delta: number, reason: string, key: string = randomUUID()) =>
    client.query(`INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key) VALUES ($1, $2, $3, 'test', $4)`, [
      String(variantId),
      delta,
      reason,
      key,
    ]);

  const stockOf = async (variantId: number | string) =>
    (
      await client.query<{ available_quantity: number; version: number }>(
        'SELECT available_quantity, version FROM inventory WHERE variant_id = $1',
        [String(variantId)],
      )
    ).rows[0];

  const movementsOf = async (variantId: number | string) =>
    (
      await client.query<{ delta: number; reason: string; reference: string; available_after: number; version_after: number }>(
        'SELECT delta, reason, reference, available_after, version_after FROM inventory_movement WHERE variant_id = $1 ORDER BY id',
        [String(variantId)],
      )
    ).rows;

  const inventorySnapshot = async () =>
    (
      await client.query(
        `SELECT variant_id::text, product_id::text, sku, title, price::text, currency, available_quantity,
                shopify_inventory_item_id::text, shopify_location_id::text, version, updated_at
           FROM inventory ORDER BY variant_id`,
      )
    ).rows;

  const movementSnapshot = async () =>
    (
      await client.query(
        'SELECT id::text, variant_id::text, delta, reason, reference, idempotency_key, created_at FROM inventory_movement ORDER BY id',
      )
    ).rows;

  before(async () => {
    // The command creates the database itself when it does not exist.
    assert.deepEqual(await migrate(url), ALL_MIGRATIONS);
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });

  after(async () => {
    await client?.end();
    await dropDatabase(name);
  });

  it('creates the business tables, the movement ledger and the refused-orders ledger, and running migrate again applies nothing', async () => {
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'typeorm_migrations' ORDER BY 1`,
    );
    assert.deepEqual(
      rows.map((r) => r.table_name),
      [
        'inventory',
        'inventory_adjustment',
        'inventory_movement',
        'order_detail',
        'order_rejection',
        'orders',
        'outbox_event',
        'webhook_event',
      ],
    );
    assert.deepEqual(await migrate(url), []);
  });

  it('lets two migrations started together on a new database both succeed, applying each migration once', async () => {
    const other = `${name}_race`;
    try {
      const results = await Promise.all([migrate(databaseUrlFor(other)), migrate(databaseUrlFor(other))]);
      assert.deepEqual(results.flat().sort(), [...ALL_MIGRATIONS].sort());
    } finally {
      await dropDatabase(other);
    }
  });

  it('stores money as numeric(12,2) and Shopify ids as bigint', async () => {
    const { rows } = await client.query<{ column: string; type: string }>(
      `SELECT table_name || '.' || column_name AS column,
              CASE WHEN data_type = 'numeric' THEN format('numeric(%s,%s)', numeric_precision, numeric_scale) ELSE data_type END AS type
         FROM information_schema.columns
        WHERE table_schema = 'public'
          AND (table_name, column_name) IN (('orders','total_price'), ('order_detail','price'), ('inventory','price'),
               ('orders','order_id'), ('orders','location_id'), ('inventory','variant_id'), ('inventory','product_id'),
               ('inventory','shopify_inventory_item_id'), ('inventory','shopify_location_id'), ('order_detail','product_id'),
               ('order_detail','variant_id'), ('order_detail','line_item_id'), ('inventory_movement','variant_id'),
               ('inventory_movement','id'))
        ORDER BY 1`,
    );
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.column, r.type])), {
      'inventory.price': 'numeric(12,2)',
      'inventory.product_id': 'bigint',
      'inventory.shopify_inventory_item_id': 'bigint',
      'inventory.shopify_location_id': 'bigint',
      'inventory.variant_id': 'bigint',
      'inventory_movement.id': 'bigint',
      'inventory_movement.variant_id': 'bigint',
      'order_detail.line_item_id': 'bigint',
      'order_detail.price': 'numeric(12,2)',
      'order_detail.product_id': 'bigint',
      'order_detail.variant_id': 'bigint',
      'orders.location_id': 'bigint',
      'orders.order_id': 'bigint',
      'orders.total_price': 'numeric(12,2)',
    });
  });

  it('lets PostgreSQL itself refuse negative stock, bad quantities, duplicate SKUs, items and line items, and rows naming unknown orders or variants', async () => {
    await client.query('BEGIN');
    try {
      // The inventory item's uniqueness is checked at COMMIT (a catalogue refresh may pass an item on): here, at once.
      await client.query('SET CONSTRAINTS ALL IMMEDIATE');
      await insertVariant({ variantId: 1, productId: 10, sku: 'SKU-1', item: 11, stock: 1 });
      await client.query(
        `INSERT INTO orders (order_id, order_number, name, currency, total_price, webhook_id, created_at)
         VALUES (100, 1, '#1', 'USD', '1.00', 'w', now())`,
      );
      const line = (lineItemId: number, variantId: number | null, quantity: number, reserved: number, restocked = 0, orderId = 100) =>
        `INSERT INTO order_detail (line_item_id, order_id, product_id, variant_id, title, quantity, price, reserved, restocked)
         VALUES (${lineItemId}, ${orderId}, 10, ${variantId ?? 'NULL'}, 't', ${quantity}, '1.00', ${reserved}, ${restocked})`;

      assert.deepEqual(
        await refusal(
          `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key) VALUES (1, -2, 'order', 'o', 'k-neg')`,
        ),
        {
          code: '23514',
          constraint: 'inventory_available_quantity_check',
        },
      );
      assert.equal((await refusal(line(7, 1, 0, 0)))?.constraint, 'order_detail_quantity_check');
      assert.equal(
        (
          await refusal(
            `INSERT INTO inventory (variant_id, product_id, sku, title, price, shopify_inventory_item_id, shopify_location_id) VALUES (2, 10, 'SKU-1', 'Two', '1.00', 12, 21)`,
          )
        )?.constraint,
        'inventory_sku_key',
      );
      assert.equal(
        (
          await refusal(
            `INSERT INTO inventory (variant_id, product_id, sku, title, price, shopify_inventory_item_id, shopify_location_id) VALUES (2, 10, 'SKU-2', 'Two', '1.00', 11, 21)`,
          )
        )?.constraint,
        'inventory_inventory_item_key',
      );
      assert.equal((await refusal(line(7, 999, 1, 1)))?.constraint, 'order_detail_variant_fk');
      assert.equal((await refusal(line(7, 1, 1, 1, 0, 999)))?.constraint, 'order_detail_order_fk');
      assert.equal((await refusal(line(7, 1, 1, 2)))?.constraint, 'order_detail_reserved_check');
      assert.equal((await refusal(line(7, 1, 2, 1, 2)))?.constraint, 'order_detail_restocked_check');
      assert.equal((await refusal(line(7, null, 1, 1)))?.constraint, 'order_detail_stock_line_check');
      await client.query(line(7, 1, 1, 1));
      await client.query(
        `INSERT INTO orders (order_id, order_number, name, currency, total_price, webhook_id, created_at)
         VALUES (101, 2, '#2', 'USD', '1.00', 'w2', now())`,
      );
      // Shopify's line item ids are unique across orders, not only within one.
      assert.equal((await refusal(line(7, null, 1, 0, 0, 101)))?.constraint, 'order_detail_pkey');
      assert.equal(
        (
          await refusal(
            `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key) VALUES (1, 0, 'order', 'o', 'k0')`,
          )
        )?.constraint,
        'inventory_movement_delta_check',
      );
      assert.equal(
        (
          await refusal(
            `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key) VALUES (1, 1, 'gift', 'o', 'k1')`,
          )
        )?.constraint,
        'inventory_movement_reason_check',
      );
      assert.equal(
        (
          await refusal(
            `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key) VALUES (1, 1, 'restock', 'o', 'import:1')`,
          )
        )?.constraint,
        'inventory_movement_idempotency_key_key',
      );
      assert.deepEqual(
        await refusal(
          `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key) VALUES (999, 1, 'restock', 'o', 'k2')`,
        ),
        {
          code: '23503',
          constraint: 'inventory_movement_variant_fk',
        },
      );
      assert.equal(
        (
          await refusal(
            `INSERT INTO orders (order_id, order_number, name, currency, total_price, webhook_id, created_at) VALUES (100, 2, '#2', 'USD', '1.00', 'w2', now())`,
          )
        )?.constraint,
        'orders_pkey',
      );
      assert.equal(
        (
          await refusal(
            `INSERT INTO orders (order_id, order_number, name, currency, total_price, status, webhook_id, created_at) VALUES (102, 3, '#3', 'USD', '1.00', 'committed', 'w3', now())`,
          )
        )?.constraint,
        'orders_status_check',
      );
      assert.deepEqual(await stockOf(1), { available_quantity: 1, version: 1 });
    } finally {
      await client.query('ROLLBACK');
    }
  });

  it('keeps a variant’s stock as the sum of its movements and its version as their count, each movement recording what it left', async () => {
    await client.query('BEGIN');
    try {
      await insertVariant({ variantId: 3, productId: 30, sku: 'SKU-3', item: 33, stock: 0 });
      assert.deepEqual(await stockOf(3), { available_quantity: 0, version: 0 });
      for (const [delta, reason] of [
        [5, 'import'],
        [-2, 'order'],
        [3, 'restock'],
        [-6, 'correction'],
        [1, 'return'],
      ] as const)
        await movement(3, delta, reason);

      assert.deepEqual(await stockOf(3), { available_quantity: 1, version: 5 });
      assert.deepEqual(
        (await movementsOf(3)).map((m) => [m.delta, m.available_after, m.version_after]),
        [
          [5, 5, 1],
          [-2, 3, 2],
          [3, 6, 3],
          [-6, 0, 4],
          [1, 1, 5],
        ],
      );
      await assertLedgerHolds(client);
    } finally {
      await client.query('ROLLBACK');
    }
  });

  it('refuses a direct change of stock or version, and a variant inserted with stock: only a movement moves stock', async () => {
    await client.query('BEGIN');
    try {
      await insertVariant({ variantId: 4, productId: 40, sku: 'SKU-4', item: 44, stock: 5 });
      const byLedger = { code: '23514', constraint: 'inventory_stock_by_movement' };
      assert.deepEqual(await refusal('UPDATE inventory SET available_quantity = 10 WHERE variant_id = 4'), byLedger);
      assert.deepEqual(await refusal('UPDATE inventory SET available_quantity = available_quantity - 1 WHERE variant_id = 4'), byLedger);
      assert.deepEqual(await refusal('UPDATE inventory SET version = version + 1 WHERE variant_id = 4'), byLedger);
      assert.deepEqual(
        await refusal(
          `INSERT INTO inventory (variant_id, product_id, sku, title, price, available_quantity, shopify_inventory_item_id, shopify_location_id) VALUES (5, 40, 'SKU-5', 'Five', '1.00', 3, 55, 21)`,
        ),
        byLedger,
      );
      assert.deepEqual(
        await refusal(
          `INSERT INTO inventory (variant_id, product_id, sku, title, price, version, shopify_inventory_item_id, shopify_location_id) VALUES (5, 40, 'SKU-5', 'Five', '1.00', 2, 55, 21)`,
        ),
        byLedger,
      );
      // What is not stock may change as before.
      assert.equal(await refusal(`UPDATE inventory SET title = 'Renamed', price = '2.00' WHERE variant_id = 4`), undefined);
      assert.deepEqual(await stockOf(4), { available_quantity: 5, version: 1 });
    } finally {
      await client.query('ROLLBACK');
    }
  });

  it('refuses to update or delete a movement, and removes a variant’s movements only with the variant', async () => {
    await client.query('BEGIN');
    try {
      await insertVariant({ variantId: 6, productId: 60, sku: 'SKU-6', item: 66, stock: 5 });
      await movement(6, -1, 'order');
      const appendOnly = { code: '23001', constraint: undefined };
      assert.deepEqual(await refusal('UPDATE inventory_movement SET delta = 50 WHERE variant_id = 6'), appendOnly);
      assert.deepEqual(await refusal(`UPDATE inventory_movement SET reference = 'rewritten' WHERE variant_id = 6`), appendOnly);
      assert.deepEqual(await refusal('DELETE FROM inventory_movement WHERE variant_id = 6 AND delta = -1'), appendOnly);
      assert.deepEqual(
        (await movementsOf(6)).map((m) => [m.delta, m.reference]),
        [
          [5, 'test'],
          [-1, 'test'],
        ],
      );

      await client.query('DELETE FROM inventory WHERE variant_id = 6');
      assert.deepEqual(await movementsOf(6), []);
    } finally {
      await client.query('ROLLBACK');
    }
  });

  it('carries a database at the previous migration forward: each product row becomes its single variant with an opening import movement, and its orders stay readable', async () => {
    const previous = `${name}_prev`;
    const previousUrl = databaseUrlFor(previous);
    const oldDb = new pg.Client({ connectionString: previousUrl });
    const pool = new pg.Pool({ connectionString: previousUrl, max: 2 });
    try {
      assert.deepEqual(await migrateOnly(previousUrl, MIGRATIONS.slice(0, 4)), ALL_MIGRATIONS.slice(0, 4));
      await oldDb.connect();
      // As the system of the previous migration wrote them: stock per product, one detail row per product.
      await oldDb.query(
        `INSERT INTO inventory (product_id, sku, title, price, available_quantity, shopify_inventory_item_id, shopify_location_id, version) VALUES
           (7523456789001, 'TSHIRT-BLK-M', 'Organic cotton T-shirt, black, M', '24.90', 118, 44123456780002, 65432109876, 3),
           (7523456789012, 'WATCH-FIELD-38', 'Field watch, 38 mm', '249.00', 0, 44123456780014, 65432109876, 2)`,
      );
      const orders = ['820982911946154508', '820982911946154509'];
      for (const [i, orderId] of orders.entries()) {
        await oldDb.query(
          `INSERT INTO orders (order_id, order_number, name, customer_id, currency, total_price, financial_status, webhook_id, event_id, created_at)
           VALUES ($1, $2, $3, 115310627314723954, 'USD', '54.30', 'paid', $4, $5, '2026-11-20T10:00:00Z')`,
          [orderId, 1001 + i, `#${1001 + i}`, `webhook-${i}`, `event-${i}`],
        );
        await oldDb.query(
          `INSERT INTO order_detail (order_id, product_id, sku, title, quantity, price) VALUES ($1, 7523456789001, 'TSHIRT-BLK-M', 'T-shirt', 1 + $2::int, '24.90')`,
          [orderId, i],
        );
        // The old schema keyed a line that holds no stock by (order, line item): the old suites reused one id in many orders.
        await oldDb.query(
          `INSERT INTO order_detail (order_id, line_item_id, sku, title, quantity, price) VALUES ($1, 10963008585921, '', 'Tip', 1, '4.50')`,
          [orderId],
        );
      }
      await oldDb.query(
        `INSERT INTO outbox_event (event_id, topic, message_key, payload, order_id, published_at) VALUES ($1, 'inventory-updates', '7523456789001', '{}', $2, now())`,
        [randomUUID(), orders[0]],
      );
      await oldDb.end();

      assert.deepEqual(await migrate(previousUrl), ALL_MIGRATIONS.slice(4));

      const db = await pool.connect();
      try {
        const inventory = await db.query(
          `SELECT variant_id::text, product_id::text, sku, available_quantity, version, shopify_inventory_item_id::text FROM inventory ORDER BY variant_id`,
        );
        assert.deepEqual(inventory.rows, [
          {
            variant_id: '7523456789001',
            product_id: '7523456789001',
            sku: 'TSHIRT-BLK-M',
            available_quantity: 118,
            version: 1,
            shopify_inventory_item_id: '44123456780002',
          },
          {
            variant_id: '7523456789012',
            product_id: '7523456789012',
            sku: 'WATCH-FIELD-38',
            available_quantity: 0,
            version: 0,
            shopify_inventory_item_id: '44123456780014',
          },
        ]);
        const movements = await db.query(
          `SELECT variant_id::text, delta, reason, available_after, version_after FROM inventory_movement ORDER BY id`,
        );
        assert.deepEqual(movements.rows, [
          { variant_id: '7523456789001', delta: 118, reason: 'import', available_after: 118, version_after: 1 },
        ]);
        await assertLedgerHolds(db);

        const migratedOrders = await db.query(`SELECT order_id::text, status, location_id, cancelled_at FROM orders ORDER BY order_id`);
        assert.deepEqual(
          migratedOrders.rows,
          orders.map((order_id) => ({ order_id, status: 'accepted', location_id: null, cancelled_at: null })),
        );
        const details = await db.query<{
          order_id: string;
          line_item_id: string;
          product_id: string | null;
          variant_id: string | null;
          quantity: number;
          reserved: number;
          restocked: number;
        }>(
          `SELECT order_id::text, line_item_id::text, product_id::text, variant_id::text, quantity, reserved, restocked FROM order_detail ORDER BY order_id, title DESC`,
        );
        const stockLines = details.rows.filter((d) => d.product_id !== null);
        assert.deepEqual(
          stockLines.map(({ order_id, variant_id, quantity, reserved, restocked }) => ({
            order_id,
            variant_id,
            quantity,
            reserved,
            restocked,
          })),
          orders.map((order_id, i) => ({ order_id, variant_id: '7523456789001', quantity: 1 + i, reserved: 1 + i, restocked: 0 })),
        );
        const tips = details.rows.filter((d) => d.product_id === null);
        assert.deepEqual(
          tips.map((t) => [t.order_id, t.variant_id, t.reserved]),
          orders.map((o) => [o, null, 0]),
        );
        assert.equal(tips[0]!.line_item_id, '10963008585921', 'the first order keeps its line item id');
        const ids = details.rows.map((d) => d.line_item_id);
        assert.equal(new Set(ids).size, ids.length, 'every line has a line item id of its own');
      } finally {
        db.release();
      }

      // Readable through the data-api's own code: the order, its variant by SKU within its product, a new order on it.
      const order = await findOrder(pool, orders[0]!);
      assert.deepEqual(
        { ...order, receivedAt: typeof order?.receivedAt },
        {
          orderId: orders[0],
          webhookId: 'webhook-0',
          eventId: 'event-0',
          status: 'accepted',
          receivedAt: 'string',
        },
      );
      const resolution = await resolveLines(pool, orders[1]!, [
        { lineItemId: '1', productId: '7523456789001', variantId: null, sku: 'TSHIRT-BLK-M' },
      ]);
      assert.equal(resolution.existingOrder?.status, 'accepted');
      assert.deepEqual(resolution.resolved, [
        { lineItemId: '1', variantId: '7523456789001', productId: '7523456789001', sku: 'TSHIRT-BLK-M', availableQuantity: 118 },
      ]);
      const committed = await commitOrder(pool, {
        order: {
          orderId: '820982911946154510',
          orderNumber: 1003,
          name: '#1003',
          customerId: null,
          currency: 'USD',
          totalPrice: '74.70',
          financialStatus: 'paid',
          createdAt: '2026-11-24T08:00:00Z',
          webhookId: 'webhook-2',
          eventId: 'event-2',
          locationId: null,
        },
        lines: [
          {
            lineItemId: '13000000000001',
            productId: '7523456789001',
            variantId: '7523456789001',
            sku: 'TSHIRT-BLK-M',
            title: 'T-shirt',
            quantity: 3,
            price: '24.90',
          },
        ],
        correlationId: randomUUID(),
        topic: 'inventory-updates',
      });
      assert.deepEqual(committed, { kind: 'committed', items: [{ variantId: '7523456789001', availableAfter: 115, inventoryVersion: 2 }] });

      // The demo seed then gives the migrated rows the catalogue's variant ids by SKU; their ledger and lines follow.
      await seed(previousUrl);
      const db2 = await pool.connect();
      try {
        const shirt = await db2.query(
          `SELECT variant_id::text, product_id::text, available_quantity, version FROM inventory WHERE sku = 'TSHIRT-BLK-M'`,
        );
        assert.deepEqual(shirt.rows, [{ variant_id: '45123456790002', product_id: '7523456789001', available_quantity: 115, version: 2 }]);
        const moved = await db2.query(
          `SELECT variant_id::text, delta, reason FROM inventory_movement WHERE variant_id = 45123456790002 ORDER BY id`,
        );
        assert.deepEqual(
          moved.rows.map((m) => [m.delta, m.reason]),
          [
            [118, 'import'],
            [-3, 'order'],
          ],
        );
        const lines = await db2.query(`SELECT DISTINCT variant_id::text FROM order_detail WHERE product_id IS NOT NULL`);
        assert.deepEqual(lines.rows, [{ variant_id: '45123456790002' }]);
        assert.equal((await db2.query('SELECT 1 FROM inventory')).rowCount, DEMO_CATALOGUE.length);
        await assertLedgerHolds(db2);
      } finally {
        db2.release();
      }
    } finally {
      await oldDb.end().catch(() => undefined);
      await pool.end();
      await dropDatabase(previous);
    }
  });

  it('seeds the demo catalogue as import movements, the T-shirt in three sizes, and seeding again changes nothing, not even versions, timestamps or movements', async () => {
    const first = await seed(url);
    assert.deepEqual(first, { inserted: 14, updated: 0 });
    const before = await inventorySnapshot();
    const movementsBefore = await movementSnapshot();

    const second = await seed(url);

    assert.deepEqual(second, { inserted: 0, updated: 0 });
    assert.deepEqual(await inventorySnapshot(), before);
    assert.deepEqual(await movementSnapshot(), movementsBefore);

    const tshirt = before.filter((r) => r.product_id === '7523456789001');
    assert.deepEqual(
      tshirt.map((r) => [r.variant_id, r.sku, r.available_quantity, r.version, r.shopify_inventory_item_id, r.shopify_location_id]),
      [
        ['45123456790001', 'TSHIRT-BLK-S', 80, 1, '44123456780001', '65432109876'],
        ['45123456790002', 'TSHIRT-BLK-M', 120, 1, '44123456780002', '65432109876'],
        ['45123456790003', 'TSHIRT-BLK-L', 90, 1, '44123456780003', '65432109876'],
      ],
    );
    const watch = before.find((r) => r.sku === 'WATCH-FIELD-38');
    assert.deepEqual(
      { variant: watch?.variant_id, price: watch?.price, available_quantity: watch?.available_quantity, version: watch?.version },
      { variant: '45123456790014', price: '249.00', available_quantity: 1, version: 1 },
    );
    assert.deepEqual(
      movementsBefore.map((m) => [m.variant_id, m.delta, m.reason]),
      DEMO_CATALOGUE.map((v) => [String(v.variantId), v.availableQuantity, 'import']),
    );
    await assertLedgerHolds(client);
  });

  it('reset restores the demo stock through correction movements, removes the demo orders and their events, and leaves other variants alone', async () => {
    await seed(url);
    const [small, medium, large] = ['45123456790001', '45123456790002', '45123456790003'];
    await insertVariant({ variantId: 42, productId: 4200, sku: 'OTHER-42', item: 4242, stock: 3 });
    await client.query(
      `INSERT INTO orders (order_id, order_number, name, currency, total_price, webhook_id, created_at)
       VALUES (555, 555, '#555', 'USD', '49.80', 'w-555', now())`,
    );
    await client.query(
      `INSERT INTO order_detail (line_item_id, order_id, product_id, variant_id, sku, title, quantity, price, reserved)
       VALUES (5551, 555, 7523456789001, $1, 'TSHIRT-BLK-S', 't', 2, '24.90', 2)`,
      [small],
    );
    await movement(small, -2, 'order', `order:555:${small}`);
    await client.query(
      `INSERT INTO outbox_event (event_id, topic, message_key, payload, order_id) VALUES ($1, 'inventory-updates', $2, '{}', 555)`,
      [randomUUID(), small],
    );
    await movement(medium, 5, 'restock');

    const result = await reset(url);

    assert.deepEqual(result, { inserted: 0, updated: 2, ordersDeleted: 1, eventsDeleted: 1 });
    assert.deepEqual(
      (await movementsOf(small)).map((m) => [m.delta, m.reason, m.available_after]),
      [
        [80, 'import', 80],
        [-2, 'order', 78],
        [2, 'correction', 80],
      ],
    );
    assert.deepEqual(
      (await movementsOf(medium)).map((m) => [m.delta, m.reason, m.available_after]),
      [
        [120, 'import', 120],
        [5, 'restock', 125],
        [-5, 'correction', 120],
      ],
    );
    assert.deepEqual(
      (await movementsOf(large)).map((m) => [m.delta, m.reason]),
      [[90, 'import']],
    );
    assert.deepEqual(await stockOf(small), { available_quantity: 80, version: 3 });
    assert.equal((await client.query(`SELECT 1 FROM orders WHERE order_id = 555`)).rowCount, 0);
    assert.equal((await client.query(`SELECT 1 FROM order_detail WHERE order_id = 555`)).rowCount, 0);
    assert.equal((await client.query(`SELECT 1 FROM outbox_event WHERE order_id = 555`)).rowCount, 0);
    assert.deepEqual(await stockOf(42), { available_quantity: 3, version: 1 });
    const stock = await client.query<{ variant_id: string; available_quantity: number }>(
      `SELECT variant_id::text, available_quantity FROM inventory WHERE variant_id <> 42 ORDER BY variant_id`,
    );
    assert.deepEqual(
      stock.rows.map((r) => [r.variant_id, r.available_quantity]),
      DEMO_CATALOGUE.map((v) => [String(v.variantId), v.availableQuantity]),
    );
    await assertLedgerHolds(client);

    const movementsBefore = await movementSnapshot();
    assert.deepEqual(await reset(url), { inserted: 0, updated: 0, ordersDeleted: 0, eventsDeleted: 0 });
    assert.deepEqual(await movementSnapshot(), movementsBefore, 'a catalogue at its seed stock needs no correction');
  });
});

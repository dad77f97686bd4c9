import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { DEMO_CATALOGUE } from '../../db/catalogue.js';
import { migrate } from '../../db/data-source.js';
import { reset, seed } from '../../db/seed.js';
import { stackEnv } from '../support/stack-env.js';

/**
 * Migrations, seed and reset run against a database of their own, created for this file and
 * dropped afterwards: they start from nothing and touch nobody else's rows.
 */
describe('database: migrations, seed and reset', () => {
  const name = `oms_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const adminUrl = new URL(stackEnv().DATABASE_URL);
  adminUrl.pathname = '/postgres';
  const url = new URL(stackEnv().DATABASE_URL);
  url.pathname = `/${name}`;
  let client: pg.Client;

  const violation = async (sql: string, params: unknown[] = []) => {
    await client.query('SAVEPOINT probe');
    try {
      await client.query(sql, params);
      return undefined;
    } catch (err) {
      return (err as { code?: string; constraint?: string });
    } finally {
      await client.query('ROLLBACK TO SAVEPOINT probe');
    }
  };

  const inventorySnapshot = async () =>
    (
      await client.query(
        `SELECT product_id::text, sku, title, price::text, currency, available_quantity, version, updated_at
           FROM inventory ORDER BY product_id`,
      )
    ).rows;

  before(async () => {
    // The command creates the database itself when it does not exist.
    const applied = await migrate(url.toString());
    assert.deepEqual(applied, [
      'CreateOrderTables1764000000000',
      'CreateOutboxEvent1764000000001',
      'OrderDetailNonStockLines1764000000002',
      'CreateOrderRejection1764000000003',
    ]);
    client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
  });

  after(async () => {
    await client?.end();
    const admin = new pg.Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('creates the four tables and the refused-orders ledger, and running migrate again applies nothing', async () => {
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'typeorm_migrations' ORDER BY 1`,
    );
    assert.deepEqual(rows.map((r) => r.table_name), ['inventory', 'order_detail', 'order_rejection', 'orders', 'outbox_event']);
    assert.deepEqual(await migrate(url.toString()), []);
  });

  it('lets two migrations started together on a new database both succeed, applying each migration once', async () => {
    const other = new URL(url);
    other.pathname = `/${name}_race`;
    try {
      const results = await Promise.all([migrate(other.toString()), migrate(other.toString())]);
      assert.deepEqual(results.flat().sort(), [
        'CreateOrderRejection1764000000003',
        'CreateOrderTables1764000000000',
        'CreateOutboxEvent1764000000001',
        'OrderDetailNonStockLines1764000000002',
      ]);
    } finally {
      const admin = new pg.Client({ connectionString: adminUrl.toString() });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name}_race WITH (FORCE)`);
      await admin.end();
    }
  });

  it('stores money as numeric(12,2) and Shopify ids as bigint', async () => {
    const { rows } = await client.query<{ column: string; type: string }>(
      `SELECT table_name || '.' || column_name AS column,
              CASE WHEN data_type = 'numeric' THEN format('numeric(%s,%s)', numeric_precision, numeric_scale) ELSE data_type END AS type
         FROM information_schema.columns
        WHERE table_schema = 'public'
          AND (table_name, column_name) IN (('orders','total_price'), ('order_detail','price'), ('inventory','price'),
               ('orders','order_id'), ('inventory','product_id'), ('inventory','shopify_inventory_item_id'),
               ('inventory','shopify_location_id'), ('order_detail','product_id'), ('order_detail','line_item_id'))
        ORDER BY 1`,
    );
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r.column, r.type])), {
      'inventory.price': 'numeric(12,2)',
      'inventory.product_id': 'bigint',
      'inventory.shopify_inventory_item_id': 'bigint',
      'inventory.shopify_location_id': 'bigint',
      'order_detail.line_item_id': 'bigint',
      'order_detail.price': 'numeric(12,2)',
      'order_detail.product_id': 'bigint',
      'orders.order_id': 'bigint',
      'orders.total_price': 'numeric(12,2)',
    });
  });

  it('lets PostgreSQL itself refuse negative stock, zero quantities, duplicate skus and lines of unknown orders or products', async () => {
    await client.query('BEGIN');
    try {
      await client.query(
        `INSERT INTO inventory (product_id, sku, title, price, available_quantity, shopify_inventory_item_id, shopify_location_id)
         VALUES (1, 'SKU-1', 'One', '1.00', 1, 11, 21)`,
      );
      await client.query(
        `INSERT INTO orders (order_id, order_number, name, currency, total_price, webhook_id, created_at)
         VALUES (100, 1, '#1', 'USD', '1.00', 'w', now())`,
      );
      assert.equal((await violation('UPDATE inventory SET available_quantity = -1 WHERE product_id = 1'))?.constraint, 'inventory_available_quantity_check');
      assert.equal(
        (await violation(`INSERT INTO order_detail (order_id, product_id, title, quantity, price) VALUES (100, 1, 't', 0, '1.00')`))?.constraint,
        'order_detail_quantity_check',
      );
      assert.equal(
        (
          await violation(
            `INSERT INTO inventory (product_id, sku, title, price, available_quantity, shopify_inventory_item_id, shopify_location_id)
             VALUES (2, 'SKU-1', 'Two', '1.00', 1, 12, 21)`,
          )
        )?.constraint,
        'inventory_sku_key',
      );
      assert.equal(
        (await violation(`INSERT INTO order_detail (order_id, product_id, title, quantity, price) VALUES (100, 999, 't', 1, '1.00')`))?.constraint,
        'order_detail_product_fk',
      );
      assert.equal(
        (await violation(`INSERT INTO order_detail (order_id, product_id, title, quantity, price) VALUES (999, 1, 't', 1, '1.00')`))?.constraint,
        'order_detail_order_fk',
      );
      await client.query(`INSERT INTO order_detail (order_id, product_id, title, quantity, price) VALUES (100, 1, 't', 1, '1.00')`);
      assert.equal(
        (await violation(`INSERT INTO order_detail (order_id, product_id, title, quantity, price) VALUES (100, 1, 't', 2, '1.00')`))?.constraint,
        'order_detail_order_product_key',
      );
      assert.equal(
        (await violation(`INSERT INTO order_detail (order_id, title, quantity, price) VALUES (100, 'neither a product nor a line item', 1, '1.00')`))
          ?.constraint,
        'order_detail_product_or_line_item_check',
      );
      assert.equal(
        (await violation(`INSERT INTO order_detail (order_id, product_id, line_item_id, title, quantity, price) VALUES (100, 1, 7, 't', 1, '1.00')`))
          ?.constraint,
        'order_detail_product_or_line_item_check',
      );
      await client.query(`INSERT INTO order_detail (order_id, line_item_id, title, quantity, price) VALUES (100, 7, 'Tip', 1, '4.50')`);
      assert.equal(
        (await violation(`INSERT INTO order_detail (order_id, line_item_id, title, quantity, price) VALUES (100, 7, 'Tip', 1, '4.50')`))?.constraint,
        'order_detail_order_line_item_key',
      );
      assert.equal(
        (
          await violation(
            `INSERT INTO orders (order_id, order_number, name, currency, total_price, webhook_id, created_at)
             VALUES (100, 2, '#2', 'USD', '1.00', 'w2', now())`,
          )
        )?.constraint,
        'orders_pkey',
      );
    } finally {
      await client.query('ROLLBACK');
    }
  });

  it('seeds the demo catalogue, and seeding again changes nothing, not even versions or timestamps', async () => {
    const first = await seed(url.toString());
    assert.deepEqual(first, { inserted: DEMO_CATALOGUE.length, updated: 0 });
    const before = await inventorySnapshot();

    const second = await seed(url.toString());

    assert.deepEqual(second, { inserted: 0, updated: 0 });
    assert.deepEqual(await inventorySnapshot(), before);
    const watch = before.find((r) => r.product_id === '7523456789012');
    assert.deepEqual(
      { sku: watch?.sku, price: watch?.price, available_quantity: watch?.available_quantity, version: watch?.version },
      { sku: 'WATCH-FIELD-38', price: '249.00', available_quantity: 1, version: 1 },
    );
  });

  it('reset puts the demo stock back and removes the demo orders and their events, leaving other products alone', async () => {
    await seed(url.toString());
    await client.query(
      `INSERT INTO inventory (product_id, sku, title, price, available_quantity, shopify_inventory_item_id, shopify_location_id)
       VALUES (42, 'OTHER-42', 'Not in the catalogue', '5.00', 3, 4242, 21)`,
    );
    await client.query(`UPDATE inventory SET available_quantity = available_quantity - 2, version = version + 1 WHERE product_id = 7523456789001`);
    await client.query(
      `INSERT INTO orders (order_id, order_number, name, currency, total_price, webhook_id, created_at)
       VALUES (555, 555, '#555', 'USD', '49.80', 'w-555', now())`,
    );
    await client.query(`INSERT INTO order_detail (order_id, product_id, title, quantity, price) VALUES (555, 7523456789001, 't', 2, '24.90')`);
    await client.query(
      `INSERT INTO outbox_event (event_id, topic, message_key, payload, order_id) VALUES ($1, 'inventory-updates', '7523456789001', '{}', 555)`,
      [randomUUID()],
    );

    await reset(url.toString());

    const shirt = (await client.query(`SELECT available_quantity, version FROM inventory WHERE product_id = 7523456789001`)).rows[0];
    assert.equal(shirt.available_quantity, 120);
    assert.ok(shirt.version > 2, 'versions only move forward, so consumers keep applying newer events');
    assert.equal((await client.query(`SELECT 1 FROM orders WHERE order_id = 555`)).rowCount, 0);
    assert.equal((await client.query(`SELECT 1 FROM order_detail WHERE order_id = 555`)).rowCount, 0);
    assert.equal((await client.query(`SELECT 1 FROM outbox_event WHERE order_id = 555`)).rowCount, 0);
    assert.equal((await client.query(`SELECT available_quantity FROM inventory WHERE product_id = 42`)).rows[0].available_quantity, 3);
    const stock = await client.query<{ product_id: string; available_quantity: number }>(
      `SELECT product_id::text, available_quantity FROM inventory WHERE product_id <> 42 ORDER BY product_id`,
    );
    assert.deepEqual(
      stock.rows.map((r) => [Number(r.product_id), r.available_quantity]),
      DEMO_CATALOGUE.map((p) => [p.productId, p.availableQuantity]),
    );
  });
});

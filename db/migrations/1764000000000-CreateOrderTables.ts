import type { MigrationInterface, QueryRunner } from '@oms/order-manage-data-api/typeorm';

/**
 * The business tables of docs/spec.md section 4. Shopify ids are 64-bit, hence bigint; money is
 * numeric(12,2) so no amount ever passes through a float. Constraint names are explicit because
 * the data-api maps violations of them to problem codes.
 */
export class CreateOrderTables1764000000000 implements MigrationInterface {
  name = 'CreateOrderTables1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE inventory (
        product_id bigint NOT NULL,
        sku text NOT NULL,
        title text NOT NULL,
        price numeric(12,2) NOT NULL,
        currency char(3) NOT NULL DEFAULT 'USD',
        available_quantity integer NOT NULL,
        shopify_inventory_item_id bigint NOT NULL,
        shopify_location_id bigint NOT NULL,
        version integer NOT NULL DEFAULT 1,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT inventory_pkey PRIMARY KEY (product_id),
        CONSTRAINT inventory_sku_key UNIQUE (sku),
        CONSTRAINT inventory_available_quantity_check CHECK (available_quantity >= 0),
        CONSTRAINT inventory_price_check CHECK (price >= 0),
        CONSTRAINT inventory_version_check CHECK (version >= 1)
      )`);
    await queryRunner.query(`
      CREATE TABLE orders (
        order_id bigint NOT NULL,
        order_number bigint NOT NULL,
        name text NOT NULL,
        customer_id bigint NULL,
        currency char(3) NOT NULL,
        total_price numeric(12,2) NOT NULL,
        financial_status text NULL,
        status text NOT NULL DEFAULT 'committed',
        webhook_id text NOT NULL,
        event_id text NULL,
        created_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT orders_pkey PRIMARY KEY (order_id),
        CONSTRAINT orders_total_price_check CHECK (total_price >= 0),
        CONSTRAINT orders_status_check CHECK (status IN ('committed', 'cancelled'))
      )`);
    await queryRunner.query(`
      CREATE TABLE order_detail (
        id bigserial NOT NULL,
        order_id bigint NOT NULL,
        product_id bigint NOT NULL,
        sku text NOT NULL DEFAULT '',
        title text NOT NULL,
        quantity integer NOT NULL,
        price numeric(12,2) NOT NULL,
        CONSTRAINT order_detail_pkey PRIMARY KEY (id),
        CONSTRAINT order_detail_order_fk FOREIGN KEY (order_id) REFERENCES orders (order_id) ON DELETE CASCADE,
        CONSTRAINT order_detail_product_fk FOREIGN KEY (product_id) REFERENCES inventory (product_id),
        CONSTRAINT order_detail_order_product_key UNIQUE (order_id, product_id),
        CONSTRAINT order_detail_quantity_check CHECK (quantity > 0),
        CONSTRAINT order_detail_price_check CHECK (price >= 0)
      )`);
    // The FK to inventory is checked on every inventory delete; without an index that is a scan.
    await queryRunner.query(`CREATE INDEX order_detail_product_id_idx ON order_detail (product_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE order_detail`);
    await queryRunner.query(`DROP TABLE orders`);
    await queryRunner.query(`DROP TABLE inventory`);
  }
}

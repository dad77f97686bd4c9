import type { MigrationInterface, QueryRunner } from '@oms/order-manage-data-api/typeorm';

/**
 * Lines that hold no stock (tips, custom items, bundle components without a product, gift cards)
 * stay part of the order: such a row has no product and keeps Shopify's line item id instead. A
 * stock row keeps one row per product, as before, so exactly one of the two ids is set.
 */
export class OrderDetailNonStockLines1764000000002 implements MigrationInterface {
  name = 'OrderDetailNonStockLines1764000000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE order_detail ALTER COLUMN product_id DROP NOT NULL`);
    await queryRunner.query(`ALTER TABLE order_detail ADD COLUMN line_item_id bigint NULL`);
    await queryRunner.query(
      `ALTER TABLE order_detail ADD CONSTRAINT order_detail_product_or_line_item_check CHECK (num_nonnulls(product_id, line_item_id) = 1)`,
    );
    await queryRunner.query(`ALTER TABLE order_detail ADD CONSTRAINT order_detail_order_line_item_key UNIQUE (order_id, line_item_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM order_detail WHERE product_id IS NULL`);
    await queryRunner.query(`ALTER TABLE order_detail DROP CONSTRAINT order_detail_order_line_item_key`);
    await queryRunner.query(`ALTER TABLE order_detail DROP CONSTRAINT order_detail_product_or_line_item_check`);
    await queryRunner.query(`ALTER TABLE order_detail DROP COLUMN line_item_id`);
    await queryRunner.query(`ALTER TABLE order_detail ALTER COLUMN product_id SET NOT NULL`);
  }
}

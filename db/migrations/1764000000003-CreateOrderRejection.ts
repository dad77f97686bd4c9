import type { MigrationInterface, QueryRunner } from '@oms/order-manage-data-api/typeorm';

/**
 * The refused-orders ledger (docs/spec.md section 10): a refused order is still a customer's paid order
 * at Shopify, so each refusal stays visible to the merchant's team until someone refunds, backorders
 * or fixes the catalogue. Kept apart from orders, inventory and the outbox: a refusal changes none.
 *
 * One row per (order, code). Shopify redelivers a refused order up to eight times with the same
 * webhook id, and a merchant may resend it from the admin under a new one: either way it is the same
 * refusal to handle once, so a redelivery bumps `deliveries` and `last_seen_at` and keeps the latest
 * webhook id (null only for a sender that gave none: then not Shopify). The same order refused for another reason (the catalogue was fixed, now stock is short)
 * is a new fact with its own row.
 */
export class CreateOrderRejection1764000000003 implements MigrationInterface {
  name = 'CreateOrderRejection1764000000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE order_rejection (
        id bigserial NOT NULL,
        order_id bigint NOT NULL,
        webhook_id text NULL,
        code text NOT NULL,
        status smallint NOT NULL,
        detail text NOT NULL,
        extensions jsonb NOT NULL DEFAULT '{}',
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        deliveries integer NOT NULL DEFAULT 1,
        CONSTRAINT order_rejection_pkey PRIMARY KEY (id),
        CONSTRAINT order_rejection_order_code_key UNIQUE (order_id, code),
        CONSTRAINT order_rejection_status_check CHECK (status IN (400, 409, 422)),
        CONSTRAINT order_rejection_deliveries_check CHECK (deliveries >= 1)
      )`);
    // The listing filters by code and by when a refusal was last seen, newest first.
    await queryRunner.query(`CREATE INDEX order_rejection_last_seen_idx ON order_rejection (last_seen_at, id)`);
    await queryRunner.query(`CREATE INDEX order_rejection_code_idx ON order_rejection (code, id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE order_rejection`);
  }
}

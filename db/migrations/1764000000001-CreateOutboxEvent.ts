import type { MigrationInterface, QueryRunner } from '@oms/order-manage-data-api/typeorm';

/**
 * The transactional outbox (docs/design.md): rows are written in the order's transaction and
 * published by the data-api's relay, so an event is never lost while Kafka is down.
 */
export class CreateOutboxEvent1764000000001 implements MigrationInterface {
  name = 'CreateOutboxEvent1764000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE outbox_event (
        id bigserial NOT NULL,
        event_id uuid NOT NULL,
        topic text NOT NULL,
        message_key text NOT NULL,
        payload jsonb NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}',
        order_id bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz NULL,
        CONSTRAINT outbox_event_pkey PRIMARY KEY (id),
        CONSTRAINT outbox_event_event_id_key UNIQUE (event_id)
      )`);
    // The relay only ever scans the unpublished tail; a partial index keeps that cheap forever.
    await queryRunner.query(`CREATE INDEX outbox_event_unpublished_idx ON outbox_event (id) WHERE published_at IS NULL`);
    await queryRunner.query(`CREATE INDEX outbox_event_order_id_idx ON outbox_event (order_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE outbox_event`);
  }
}

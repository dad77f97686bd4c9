import type { MigrationInterface, QueryRunner } from '@oms/order-manage-data-api/typeorm';

/**
 * Shopify events already handled, by `X-Shopify-Event-Id` (docs/spec.md section 2): Shopify may deliver
 * one event more than once (a retry, or two subscriptions to one topic), and an event handled before
 * is answered as it was the first time and changes nothing.
 *
 * An `orders/create` event is remembered by its order (`orders.event_id`); this table remembers the
 * events that carry units back, `orders/cancelled` and `refunds/create`. Each row is written in the
 * same transaction as the movements the event caused, with the answer it got: `restocked` is the
 * 200 body's list (`[{variantId, quantity}]`, empty when nothing came back), and `order_status` what
 * the order was once the event was handled (`unknown` and `refused` for orders the system never
 * accepted). `order_id` has no foreign key: an event about an order the system never saw is
 * remembered too.
 *
 * Nothing is carried forward: an installed system had no such events (both topics were refused).
 *
 * It also makes a repeated idempotency key apply nothing. The ledger's trigger (migration
 * 1764000000004) ran before PostgreSQL's check of the unique key, so
 * `INSERT ... ON CONFLICT (idempotency_key) DO NOTHING` with a key already in the ledger applied its
 * delta to the stock and then wrote no movement: stock no longer the sum of the movements. The trigger
 * now waits for any other transaction writing the same key (a transaction-scoped advisory lock on
 * the key), and applies nothing when the key is already there; the unique key then refuses the row
 * as before (23505), or ON CONFLICT DO NOTHING skips it with the stock untouched.
 */
/** The first key of the advisory locks the ledger's trigger takes per idempotency key (the second is the key's hash). */
const MOVEMENT_KEY_LOCK_SPACE = 7_523_456;

export class WebhookEvent1764000000005 implements MigrationInterface {
  name = 'WebhookEvent1764000000005';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhook_event (
        event_id text NOT NULL,
        topic text NOT NULL,
        order_id bigint NOT NULL,
        webhook_id text NOT NULL,
        order_status text NOT NULL,
        restocked jsonb NOT NULL DEFAULT '[]',
        received_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT webhook_event_pkey PRIMARY KEY (event_id),
        CONSTRAINT webhook_event_event_id_check CHECK (char_length(event_id) BETWEEN 1 AND 255),
        CONSTRAINT webhook_event_topic_check CHECK (topic IN ('orders/cancelled', 'refunds/create')),
        CONSTRAINT webhook_event_order_status_check CHECK (order_status IN ('unknown', 'refused', 'accepted', 'cancelled'))
      )`);
    await queryRunner.query(`CREATE INDEX webhook_event_order_id_idx ON webhook_event (order_id)`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION inventory_movement_apply() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- A second writer of the same key waits here until the first commits or rolls back, then
        -- sees its movement (each statement of this function reads what is committed by then).
        PERFORM pg_advisory_xact_lock(${MOVEMENT_KEY_LOCK_SPACE}, hashtext(NEW.idempotency_key));
        IF EXISTS (SELECT 1 FROM inventory_movement WHERE idempotency_key = NEW.idempotency_key) THEN
          -- Already in the ledger: nothing is applied, and the unique key refuses (or skips) the row.
          NEW.available_after := 0;
          NEW.version_after := 0;
          RETURN NEW;
        END IF;
        UPDATE inventory
           SET available_quantity = available_quantity + NEW.delta, version = version + 1, updated_at = now()
         WHERE variant_id = NEW.variant_id
        RETURNING available_quantity, version INTO NEW.available_after, NEW.version_after;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'variant % is not in inventory', NEW.variant_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'inventory_movement_variant_fk';
        END IF;
        RETURN NEW;
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The trigger keeps its repeated-key guard: the version before it was unsafe with ON CONFLICT.
    await queryRunner.query(`DROP TABLE webhook_event`);
  }
}

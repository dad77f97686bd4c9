import type { MigrationInterface, QueryRunner } from '@oms/order-manage-data-api/typeorm';

/**
 * The adjustments API's memory of its keys (docs/spec.md section 10): `POST /api/inventory/adjustments`
 * answers the same key with the same body by what the first call did, and the same key with another
 * body with 409 IDEMPOTENCY_KEY_REUSED. The ledger alone cannot tell the two apart (a `set` becomes
 * a delta, and a `set` to today's figure writes no movement at all), so the request is kept here.
 *
 * One row per key that changed something or was decided a no-op; a refused request (unknown
 * variant, below zero) leaves no row, so its key may be used again once the cause is fixed.
 * `movement_id` is null for a `set` equal to the stock it found; `available_quantity` and `version`
 * are the variant's figures the call answered with. A row goes with its variant (and its movement),
 * as the ledger does.
 */
export class InventoryAdjustment1764000000006 implements MigrationInterface {
  name = 'InventoryAdjustment1764000000006';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE inventory_adjustment (
        key text NOT NULL,
        request jsonb NOT NULL,
        variant_id bigint NULL,
        movement_id bigint NULL,
        available_quantity integer NULL,
        version integer NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT inventory_adjustment_pkey PRIMARY KEY (key),
        CONSTRAINT inventory_adjustment_key_check CHECK (char_length(key) BETWEEN 1 AND 255),
        CONSTRAINT inventory_adjustment_variant_fk FOREIGN KEY (variant_id) REFERENCES inventory (variant_id)
          ON DELETE CASCADE ON UPDATE CASCADE,
        CONSTRAINT inventory_adjustment_movement_fk FOREIGN KEY (movement_id) REFERENCES inventory_movement (id)
          ON DELETE CASCADE,
        CONSTRAINT inventory_adjustment_movement_key UNIQUE (movement_id)
      )`);
    // The movements listing reads the whole ledger newest first, optionally from an instant on.
    await queryRunner.query(`CREATE INDEX inventory_movement_created_at_idx ON inventory_movement (created_at, id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX inventory_movement_created_at_idx`);
    await queryRunner.query(`DROP TABLE inventory_adjustment`);
  }
}

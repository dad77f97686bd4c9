import type { MigrationInterface, QueryRunner } from '@oms/order-manage-data-api/typeorm';

/**
 * Stock per variant, with an append-only movement ledger (docs/spec.md section 4).
 *
 * What it carries forward: every inventory row becomes its product's single variant, with its
 * stock as one opening `import` movement (version 1; 0 and no movement when it held none);
 * every order stays readable, a product row of order_detail keeps its quantity as `reserved`.
 *
 * What it cannot know, and so says here:
 * - the Shopify variant id of a row written before: the product id stands in for it until the
 *   demo seed or the catalogue import refreshes the row by its SKU (the ledger and the order lines
 *   follow the new id);
 * - the Shopify line item id of a stock line written before (one row per product then): such a
 *   row gets a negative placeholder, minus its old row id, which no Shopify id can equal; so does
 *   a line whose line item id an earlier row of another order already holds (the old key was
 *   unique per order only), which keeps the first row's id;
 * - the movements before this migration: the ledger starts at today's stock, and versions restart
 *   at the movement count (consumers compare versions only within one run of the stream);
 * - an outbox row still unpublished keeps the old per-product event, which the new stream processor
 *   sends to the dead-letter topic as invalid: migrate once the relay has drained the outbox (it
 *   does within seconds of the last order), and run `npm run reconcile` if any did.
 *
 * The ledger is the only writer of stock: inserting a movement applies its delta to the variant
 * (a trigger, so no code path can forget it), a direct change of available_quantity or version is
 * refused, and a movement is never updated or deleted on its own (only with its variant).
 */
export class VariantInventory1764000000004 implements MigrationInterface {
  name = 'VariantInventory1764000000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    const q = (sql: string) => queryRunner.query(sql);
    await q(`ALTER TABLE order_detail DROP CONSTRAINT order_detail_product_fk`);
    await this.inventoryByVariant(q);
    await this.movementLedger(q);
    await this.ordersLifecycle(q);
    await this.orderDetailByLine(q);
    await this.outboxWithoutOrder(q);
  }

  private async inventoryByVariant(q: (sql: string) => Promise<unknown>): Promise<void> {
    await q(`ALTER TABLE inventory ADD COLUMN variant_id bigint`);
    await q(`UPDATE inventory SET variant_id = product_id`);
    await q(`ALTER TABLE inventory ALTER COLUMN variant_id SET NOT NULL`);
    await q(`ALTER TABLE inventory DROP CONSTRAINT inventory_pkey`);
    await q(`ALTER TABLE inventory ADD CONSTRAINT inventory_pkey PRIMARY KEY (variant_id)`);
    // Deferred: a catalogue refresh may pass an inventory item from one variant to another in one statement.
    await q(`
      ALTER TABLE inventory ADD CONSTRAINT inventory_inventory_item_key UNIQUE (shopify_inventory_item_id)
        DEFERRABLE INITIALLY DEFERRED`);
    await q(`CREATE INDEX inventory_product_id_idx ON inventory (product_id)`);
    await q(`ALTER TABLE inventory DROP CONSTRAINT inventory_version_check`);
    await q(`ALTER TABLE inventory ADD CONSTRAINT inventory_version_check CHECK (version >= 0)`);
    await q(`ALTER TABLE inventory ALTER COLUMN available_quantity SET DEFAULT 0`);
    await q(`ALTER TABLE inventory ALTER COLUMN version SET DEFAULT 0`);
  }

  private async movementLedger(q: (sql: string) => Promise<unknown>): Promise<void> {
    await q(`
      CREATE TABLE inventory_movement (
        id bigserial NOT NULL,
        variant_id bigint NOT NULL,
        delta integer NOT NULL,
        reason text NOT NULL,
        reference text NOT NULL,
        idempotency_key text NOT NULL,
        available_after integer NOT NULL,
        version_after integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT inventory_movement_pkey PRIMARY KEY (id),
        CONSTRAINT inventory_movement_variant_fk FOREIGN KEY (variant_id) REFERENCES inventory (variant_id)
          ON DELETE CASCADE ON UPDATE CASCADE,
        CONSTRAINT inventory_movement_idempotency_key_key UNIQUE (idempotency_key),
        CONSTRAINT inventory_movement_delta_check CHECK (delta <> 0),
        CONSTRAINT inventory_movement_reason_check
          CHECK (reason IN ('order', 'cancel', 'return', 'restock', 'correction', 'import', 'wms_sync'))
      )`);
    await q(`CREATE INDEX inventory_movement_variant_idx ON inventory_movement (variant_id, id)`);
    await q(`
      INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key, available_after, version_after)
      SELECT variant_id, available_quantity, 'import', 'migration', 'migration:' || variant_id, available_quantity, 1
        FROM inventory WHERE available_quantity > 0 ORDER BY variant_id`);
    await q(`UPDATE inventory SET version = CASE WHEN available_quantity > 0 THEN 1 ELSE 0 END`);

    // The one writer of stock: a movement applies its delta and records what it left.
    await q(`
      CREATE FUNCTION inventory_movement_apply() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
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
    await q(`
      CREATE TRIGGER inventory_movement_apply BEFORE INSERT ON inventory_movement
        FOR EACH ROW EXECUTE FUNCTION inventory_movement_apply()`);
    await q(`
      CREATE FUNCTION inventory_movement_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- Depth 1 is a statement on the ledger itself; a change cascading from its variant (removed,
        -- or its id refreshed from Shopify) runs deeper.
        IF pg_trigger_depth() = 1 THEN
          RAISE EXCEPTION 'inventory_movement is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
      END $$`);
    await q(`
      CREATE TRIGGER inventory_movement_immutable BEFORE UPDATE OR DELETE ON inventory_movement
        FOR EACH ROW EXECUTE FUNCTION inventory_movement_immutable()`);
    await q(`
      CREATE FUNCTION inventory_stock_by_movement() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- Depth 1 is a statement on inventory itself; the movement trigger's own update runs deeper.
        IF pg_trigger_depth() = 1 AND (
             (TG_OP = 'INSERT' AND (NEW.available_quantity <> 0 OR NEW.version <> 0)) OR
             (TG_OP = 'UPDATE' AND (NEW.available_quantity, NEW.version) IS DISTINCT FROM (OLD.available_quantity, OLD.version))) THEN
          RAISE EXCEPTION 'inventory stock changes only through inventory_movement'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'inventory_stock_by_movement';
        END IF;
        RETURN NEW;
      END $$`);
    await q(`
      CREATE TRIGGER inventory_stock_by_movement BEFORE INSERT OR UPDATE ON inventory
        FOR EACH ROW EXECUTE FUNCTION inventory_stock_by_movement()`);
  }

  private async ordersLifecycle(q: (sql: string) => Promise<unknown>): Promise<void> {
    await q(`ALTER TABLE orders DROP CONSTRAINT orders_status_check`);
    await q(`UPDATE orders SET status = 'accepted' WHERE status = 'committed'`);
    await q(`ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'accepted'`);
    await q(`ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN ('accepted', 'cancelled'))`);
    await q(`ALTER TABLE orders ADD COLUMN location_id bigint NULL`);
    await q(`ALTER TABLE orders ADD COLUMN cancelled_at timestamptz NULL`);
  }

  private async orderDetailByLine(q: (sql: string) => Promise<unknown>): Promise<void> {
    await q(`ALTER TABLE order_detail ADD COLUMN variant_id bigint NULL`);
    await q(`ALTER TABLE order_detail ADD COLUMN reserved integer NOT NULL DEFAULT 0`);
    await q(`ALTER TABLE order_detail ADD COLUMN restocked integer NOT NULL DEFAULT 0`);
    await q(`ALTER TABLE order_detail DROP CONSTRAINT order_detail_product_or_line_item_check`);
    await q(`
      UPDATE order_detail SET variant_id = product_id, reserved = quantity, line_item_id = -id
       WHERE line_item_id IS NULL`);
    // A line item id was unique within its order only: a repeat in a later row (never Shopify's
    // data, whose ids are unique; a test's or a hand-made order) gets the placeholder too.
    await q(`
      UPDATE order_detail d SET line_item_id = -d.id
        FROM (SELECT id, row_number() OVER (PARTITION BY line_item_id ORDER BY id) AS n
                FROM order_detail WHERE line_item_id > 0) AS repeated
       WHERE d.id = repeated.id AND repeated.n > 1`);
    await q(`ALTER TABLE order_detail DROP CONSTRAINT order_detail_order_product_key`);
    await q(`ALTER TABLE order_detail DROP CONSTRAINT order_detail_order_line_item_key`);
    await q(`ALTER TABLE order_detail DROP CONSTRAINT order_detail_pkey`);
    await q(`ALTER TABLE order_detail DROP COLUMN id`);
    await q(`ALTER TABLE order_detail ALTER COLUMN line_item_id SET NOT NULL`);
    await q(`ALTER TABLE order_detail ADD CONSTRAINT order_detail_pkey PRIMARY KEY (line_item_id)`);
    await q(`
      ALTER TABLE order_detail ADD CONSTRAINT order_detail_variant_fk
        FOREIGN KEY (variant_id) REFERENCES inventory (variant_id) ON UPDATE CASCADE`);
    await q(`ALTER TABLE order_detail ADD CONSTRAINT order_detail_reserved_check CHECK (reserved >= 0 AND reserved <= quantity)`);
    await q(`ALTER TABLE order_detail ADD CONSTRAINT order_detail_restocked_check CHECK (restocked >= 0 AND restocked <= reserved)`);
    await q(`ALTER TABLE order_detail ADD CONSTRAINT order_detail_stock_line_check CHECK (reserved = 0 OR variant_id IS NOT NULL)`);
    await q(`DROP INDEX order_detail_product_id_idx`);
    await q(`CREATE INDEX order_detail_variant_id_idx ON order_detail (variant_id)`);
    await q(`CREATE INDEX order_detail_order_id_idx ON order_detail (order_id)`);
  }

  private async outboxWithoutOrder(q: (sql: string) => Promise<unknown>): Promise<void> {
    // A restock or a correction announces a movement that no order caused.
    await q(`ALTER TABLE outbox_event ALTER COLUMN order_id DROP NOT NULL`);
  }

  async down(): Promise<void> {
    throw new Error('VariantInventory1764000000004 cannot be reverted: several variants of one product would collapse into one row');
  }
}

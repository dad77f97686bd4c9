import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { type MovementReason, type MovementRow, type MovementView, movementView } from './movement-writer.js';

export interface MovementQuery {
  variantId?: ShopifyId;
  sku?: string;
  reason?: MovementReason;
  /** Written at or after this instant. */
  since?: string;
  /** Keyset paging: movements with an id below this one (the previous page's `nextCursor`). */
  before?: string;
  limit: number;
}

/**
 * The ledger, newest first by id (ids only grow, so a page boundary holds while movements are
 * written). Unnamed statement on purpose: each call is planned for its own filters.
 */
export async function listMovements(
  pool: pg.Pool,
  query: MovementQuery,
): Promise<{ movements: MovementView[]; nextCursor: string | null }> {
  const { rows } = await pool.query<MovementRow>(
    `SELECT m.id::text AS id, m.variant_id::text AS variant_id, i.sku, m.delta, m.reason, m.reference,
            m.available_after, m.version_after, m.created_at
       FROM inventory_movement m
       JOIN inventory i ON i.variant_id = m.variant_id
      WHERE ($1::bigint IS NULL OR m.variant_id = $1)
        AND ($2::text IS NULL OR m.variant_id = (SELECT variant_id FROM inventory WHERE sku = $2))
        AND ($3::text IS NULL OR m.reason = $3)
        AND ($4::timestamptz IS NULL OR m.created_at >= $4)
        AND ($5::bigint IS NULL OR m.id < $5)
      ORDER BY m.id DESC
      LIMIT $6`,
    [query.variantId ?? null, query.sku ?? null, query.reason ?? null, query.since ?? null, query.before ?? null, query.limit + 1],
  );
  const page = rows.slice(0, query.limit).map(movementView);
  return { movements: page, nextCursor: rows.length > query.limit ? page.at(-1)!.id : null };
}

import type { ShopifyId } from '@oms/common';
import type pg from 'pg';

/** A refusal of an identifiable order, as the api reports it (docs/spec.md section 10). */
export interface RefusalReport {
  orderId: ShopifyId;
  webhookId: string | null;
  code: string;
  status: 400 | 409 | 422;
  detail: string;
  /** The problem's other members (productIds, items, errors): what the operator acts on. */
  extensions: Record<string, unknown>;
}

export interface RejectionView extends Omit<RefusalReport, 'status'> {
  /** bigserial, as a decimal string like every id the system writes. */
  id: string;
  status: number;
  firstSeenAt: string;
  lastSeenAt: string;
  deliveries: number;
}

interface RejectionRow {
  id: string;
  order_id: string;
  webhook_id: string | null;
  code: string;
  status: number;
  detail: string;
  extensions: Record<string, unknown>;
  first_seen_at: Date;
  last_seen_at: Date;
  deliveries: number;
}

const COLUMNS = 'id, order_id, webhook_id, code, status, detail, extensions, first_seen_at, last_seen_at, deliveries';

const toView = (r: RejectionRow): RejectionView => ({
  id: r.id,
  orderId: r.order_id,
  webhookId: r.webhook_id,
  code: r.code,
  status: r.status,
  detail: r.detail,
  extensions: r.extensions,
  firstSeenAt: r.first_seen_at.toISOString(),
  lastSeenAt: r.last_seen_at.toISOString(),
  deliveries: r.deliveries,
});

/**
 * One statement, so concurrent redeliveries of the same refusal (Shopify retries while an earlier
 * attempt is still answering) serialise on the unique key instead of racing to insert.
 */
export async function recordRejection(pool: pg.Pool, report: RefusalReport): Promise<RejectionView> {
  const { rows } = await pool.query<RejectionRow>(
    `INSERT INTO order_rejection (order_id, webhook_id, code, status, detail, extensions)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT ON CONSTRAINT order_rejection_order_code_key DO UPDATE
        SET webhook_id = COALESCE(EXCLUDED.webhook_id, order_rejection.webhook_id), status = EXCLUDED.status, detail = EXCLUDED.detail,
            extensions = EXCLUDED.extensions, last_seen_at = now(), deliveries = order_rejection.deliveries + 1
     RETURNING ${COLUMNS}`,
    [report.orderId, report.webhookId, report.code, report.status, report.detail, JSON.stringify(report.extensions)],
  );
  return toView(rows[0]!);
}

export interface RejectionQuery {
  code?: string;
  orderId?: ShopifyId;
  /** Last seen at or after / before this instant. */
  since?: string;
  until?: string;
  /** Keyset paging: rows with an id below this one (the previous page's `nextCursor`). */
  before?: string;
  limit: number;
}

/** Newest first by id: ids never change, so a page boundary holds while redeliveries update rows. */
export async function listRejections(
  pool: pg.Pool,
  query: RejectionQuery,
): Promise<{ rejections: RejectionView[]; nextCursor: string | null }> {
  const { rows } = await pool.query<RejectionRow>(
    `SELECT ${COLUMNS} FROM order_rejection
      WHERE ($1::text IS NULL OR code = $1)
        AND ($2::bigint IS NULL OR order_id = $2)
        AND ($3::timestamptz IS NULL OR last_seen_at >= $3)
        AND ($4::timestamptz IS NULL OR last_seen_at < $4)
        AND ($5::bigint IS NULL OR id < $5)
      ORDER BY id DESC
      LIMIT $6`,
    [query.code ?? null, query.orderId ?? null, query.since ?? null, query.until ?? null, query.before ?? null, query.limit + 1],
  );
  const page = rows.slice(0, query.limit).map(toView);
  return { rejections: page, nextCursor: rows.length > query.limit ? page.at(-1)!.id : null };
}

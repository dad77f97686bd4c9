import type { ShopifyId } from '@oms/common';
import type pg from 'pg';
import { checkAvailability, demandsOf, type OrderLine, type Shortage } from '../domain/commit.js';
import { findOrder } from '../db/order-view.js';
import { type CommitRequest, type CommittedItem, lineItemsTaken, writeOrder } from '../db/orders.js';
import { readStock } from '../db/variants.js';
import { backOffOrRethrow } from './retry.js';

export type CommitOutcome =
  | { kind: 'committed'; items: CommittedItem[] }
  | { kind: 'duplicate'; existingWebhookId: string | null; existingEventId: string | null }
  | { kind: 'not_found'; variantIds: ShopifyId[] }
  | { kind: 'insufficient'; items: Shortage[] }
  | { kind: 'line_item_taken'; lineItemIds: ShopifyId[] };

type StockRefusal = Extract<CommitOutcome, { kind: 'not_found' | 'insufficient' }>;

export interface CommitOptions {
  /** Attempts for serialization failures and deadlocks; neither should happen given the lock order. */
  maxAttempts?: number;
}

/**
 * Commits an order: one transaction that locks the variants in ascending id order, writes their
 * movements, the order, its lines and the outbox events; or the refusal, unknown variants first.
 */
export async function commitOrder(pool: pg.Pool, request: CommitRequest, options: CommitOptions = {}): Promise<CommitOutcome> {
  const maxAttempts = options.maxAttempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const written = await writeOrder(pool, request).catch(async (err: unknown) => {
      await backOffOrRethrow(err, attempt, maxAttempts);
      return undefined;
    });
    if (written === undefined) continue;
    switch (written.kind) {
      case 'committed':
        return written;
      case 'duplicate':
        return duplicateOf(pool, request.order.orderId);
      case 'line_item_taken':
        return { kind: 'line_item_taken', lineItemIds: await lineItemsTaken(pool, request.lines) };
      case 'refused': {
        const refusal = await whichRuleRefused(pool, request.lines);
        if (refusal) return refusal;
        // Restocked between the refusal and the look: the order may fit now.
        if (attempt >= maxAttempts)
          throw new Error(`stock of order ${request.order.orderId} kept changing during ${attempt} commits`, { cause: written.error });
      }
    }
  }
}

/** A racing delivery of the same order committed first: the answer names that delivery. */
async function duplicateOf(pool: pg.Pool, orderId: ShopifyId): Promise<CommitOutcome> {
  const existing = await findOrder(pool, orderId);
  return { kind: 'duplicate', existingWebhookId: existing?.webhookId ?? null, existingEventId: existing?.eventId ?? null };
}

/**
 * The refused statement cannot say which rule refused it, so the stock is read after the rollback and
 * the rules applied to it: unknown variants first, then shortages. Null when the order fits now.
 */
async function whichRuleRefused(pool: pg.Pool, lines: OrderLine[]): Promise<StockRefusal | null> {
  const demands = demandsOf(lines);
  const verdict = checkAvailability(
    demands,
    await readStock(
      pool,
      demands.map((d) => d.variantId),
    ),
  );
  if (verdict.ok) return null;
  return verdict.code === 'PRODUCT_NOT_FOUND'
    ? { kind: 'not_found', variantIds: verdict.variantIds }
    : { kind: 'insufficient', items: verdict.items };
}

import { randomUUID } from 'node:crypto';
import express, { type Request, type Router } from 'express';
import type pg from 'pg';
import { currentContext, isShopifyId, ProblemError, prom, shopifyIdString, type Logger } from '@oms/common';
import { z } from 'zod';
import { adjustInventory, type AdjustmentOutcome } from '../use-cases/adjust-inventory.js';
import { listMovements } from '../db/movement-ledger.js';
import { MAX_STOCK, type MovementView } from '../db/movement-writer.js';
import { syncWmsPage } from '../use-cases/sync-wms.js';
import type { DataApiMetrics } from '../metrics.js';
import { bearerAuth } from './auth.js';
import { invalid } from './problems.js';
import { MAX_PAGE_SIZE } from './schemas.js';

const MAX_KEY_LENGTH = 255;
const quantity = z.number().int().max(MAX_STOCK);

/** docs/spec.md section 10: exactly one of sku / variantId, exactly one of delta / set. */
export const adjustmentSchema = z
  .object({
    sku: z.string().min(1).max(MAX_KEY_LENGTH).optional(),
    variantId: shopifyIdString('variantId').optional(),
    delta: quantity
      .min(-MAX_STOCK)
      .refine((d) => d !== 0, 'must not be 0')
      .optional(),
    set: quantity.min(0).optional(),
    reason: z.enum(['restock', 'correction']),
    key: z.string().min(1).max(MAX_KEY_LENGTH),
  })
  .strict()
  .superRefine((body, ctx) => {
    if ((body.sku === undefined) === (body.variantId === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['variantId'], message: 'name the variant by exactly one of sku or variantId' });
    }
    if ((body.delta === undefined) === (body.set === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['delta'], message: 'give exactly one of delta or set' });
    }
  });

export const movementQuerySchema = z.object({
  variantId: shopifyIdString('variantId').optional(),
  sku: z.string().min(1).max(MAX_KEY_LENGTH).optional(),
  reason: z.enum(['order', 'cancel', 'return', 'restock', 'correction', 'import', 'wms_sync']).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().refine(isShopifyId, 'must be the nextCursor of a previous page').optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
});

export const wmsSyncSchema = z
  .object({
    /** Names the run: the movements' reference, and with the variant id their idempotency key. */
    runId: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1-100 letters, digits, dots, colons, dashes or underscores'),
    dryRun: z.boolean().default(false),
    items: z
      .array(z.object({ sku: z.string().min(1).max(MAX_KEY_LENGTH), availableQuantity: quantity.min(0) }).strip())
      .max(MAX_PAGE_SIZE)
      .refine((items) => new Set(items.map((i) => i.sku)).size === items.length, { message: 'each SKU must appear once in a page' }),
  })
  .strict();

export interface InventoryOperationsDeps {
  pool: pg.Pool;
  logger: Logger;
  metrics: DataApiMetrics;
  internalApiToken: string;
  inventoryTopic: string;
  bodyLimit?: string;
}

function counter(metrics: DataApiMetrics, name: string, help: string, labelNames: readonly string[]): prom.Counter<string> {
  const existing = metrics.registry.getSingleMetric(name);
  if (existing) return existing as prom.Counter<string>;
  return new prom.Counter({ name, help, labelNames, registers: [metrics.registry] });
}

const correlationId = () => currentContext()?.correlationId ?? randomUUID();

/** Mounted at the root: the adjustments and ledger endpoints (`/api/inventory/...`) and the WMS sync page (`/internal/inventory/wms-sync`). */
export function inventoryOperationsRouter(deps: InventoryOperationsDeps): Router {
  const { pool, logger, metrics, inventoryTopic } = deps;
  const router = express.Router();
  const auth = bearerAuth(deps.internalApiToken);
  const body = express.json({ limit: deps.bodyLimit ?? '1mb' });
  const adjustments = counter(metrics, 'inventory_adjustments_total', 'Stock adjustments answered, by outcome', ['outcome']);
  const wmsSynced = counter(
    metrics,
    'wms_sync_movements_total',
    'wms_sync movements written (one per variant that differed from the WMS)',
    [],
  );

  router.post('/api/inventory/adjustments', auth, body, async (req: Request, res) => {
    const parsed = adjustmentSchema.safeParse(req.body);
    if (!parsed.success) throw invalid(parsed.error);
    const request = parsed.data;
    const outcome = await adjustInventory(pool, request, { topic: inventoryTopic, correlationId: correlationId() });
    adjustments.inc({ outcome: outcome.kind });
    const answer = answerOf(request, outcome);
    if (outcome.kind === 'adjusted') {
      const m = outcome.movement;
      logger.info(
        `inventory adjusted: variant ${m.variantId} (${m.sku}) ${m.delta > 0 ? '+' : ''}${m.delta} ${m.reason}, key ${request.key}: available ${m.availableAfter}`,
        { event: 'inventory.adjusted', key: request.key, movement: m },
      );
    } else if (outcome.kind === 'unchanged') {
      logger.info(
        `inventory adjustment ${request.key}: variant ${outcome.stock.variantId} already holds ${outcome.stock.availableQuantity}, nothing written`,
        {
          event: 'inventory.adjustment.unchanged',
          key: request.key,
        },
      );
    } else if (outcome.kind !== 'replayed') {
      logger.info(`inventory adjustment ${request.key} refused: ${outcome.kind}`, {
        event: 'inventory.adjustment.refused',
        key: request.key,
        outcome: outcome.kind,
      });
    }
    if (outcome.kind === 'replayed') res.setHeader('Idempotent-Replayed', 'true');
    res.status(answer.status).json(answer.body);
  });

  router.get('/api/inventory/movements', auth, async (req, res) => {
    const parsed = movementQuerySchema.safeParse(req.query);
    if (!parsed.success) throw invalid(parsed.error);
    const { cursor, ...query } = parsed.data;
    res.json(await listMovements(pool, { ...query, before: cursor }));
  });

  router.post('/internal/inventory/wms-sync', auth, body, async (req, res) => {
    const parsed = wmsSyncSchema.safeParse(req.body);
    if (!parsed.success) throw invalid(parsed.error);
    const { runId, dryRun, items } = parsed.data;
    const result = await syncWmsPage(pool, items, { runId, dryRun, topic: inventoryTopic, correlationId: correlationId() });
    if (!dryRun && result.changed.length > 0) {
      wmsSynced.inc(result.changed.length);
      logger.info(`wms sync ${runId}: ${result.changed.length} variant(s) brought to the WMS's figure`, {
        event: 'inventory.wms_sync.page',
        runId,
        changed: result.changed,
      });
    }
    res.json(result);
  });

  return router;
}

/** What each outcome answers (docs/spec.md section 10). */
function answerOf(
  request: z.infer<typeof adjustmentSchema>,
  outcome: AdjustmentOutcome,
): { status: number; body: { movement: MovementView | null; [k: string]: unknown } } {
  const { key } = request;
  switch (outcome.kind) {
    case 'adjusted':
      return { status: 201, body: { movement: outcome.movement } };
    case 'unchanged':
      return { status: 200, body: { movement: null, ...outcome.stock } };
    case 'replayed':
      return { status: 200, body: outcome.movement ? { movement: outcome.movement } : { movement: null, ...outcome.stock } };
    case 'key_reused':
      throw new ProblemError({
        status: 409,
        code: 'IDEMPOTENCY_KEY_REUSED',
        detail: `Key ${key} was used before for another adjustment; use a new key for a new adjustment.`,
        key,
      });
    case 'not_found':
      throw new ProblemError({
        status: 404,
        code: 'VARIANT_NOT_FOUND',
        detail:
          request.sku !== undefined
            ? `No variant with SKU ${request.sku} is in the inventory.`
            : `Variant ${request.variantId} is not in the inventory.`,
        ...(request.sku !== undefined ? { sku: request.sku } : { variantId: request.variantId }),
      });
    case 'insufficient':
      throw new ProblemError({
        status: 422,
        code: 'INSUFFICIENT_INVENTORY',
        detail: `Variant ${outcome.item.variantId} holds ${outcome.item.available}: taking ${outcome.item.requested} would leave less than zero.`,
        items: [outcome.item],
      });
    case 'too_large':
      throw new ProblemError({
        status: 422,
        code: 'QUANTITY_OUT_OF_RANGE',
        detail: `Variant ${outcome.variantId} holds ${outcome.available}: adding ${outcome.delta} would pass ${MAX_STOCK}.`,
        variantId: outcome.variantId,
        sku: outcome.sku,
      });
  }
}

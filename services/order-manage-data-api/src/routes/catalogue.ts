import { randomUUID } from 'node:crypto';
import express, { type Router } from 'express';
import type pg from 'pg';
import { currentContext, money, ORDER_LIMITS, orderText, shopifyIdString, type Logger } from '@oms/common';
import { z } from 'zod';
import { importCataloguePage, type VariantResult } from '../use-cases/import-catalogue.js';
import { bearerAuth } from './auth.js';
import { invalid } from './problems.js';

/** Variants in one page: one transaction each, well inside the statement timeout and the body limit. */
export const MAX_CATALOGUE_PAGE = 500;

/** A new variant's stock fits the ledger's `int`. */
const MAX_STOCK = 2_147_483_647;

const distinct = <T>(values: T[]) => new Set(values).size === values.length;

export const cataloguePageSchema = z
  .object({
    locationId: shopifyIdString('locationId'),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "USD"')
      .default('USD'),
    /** The import movements' reference: the run. */
    reference: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1-100 letters, digits, dots, colons, dashes or underscores'),
    dryRun: z.boolean().default(false),
    variants: z
      .array(
        z
          .object({
            variantId: shopifyIdString('variantId'),
            replacesVariantId: shopifyIdString('replacesVariantId').nullable().default(null),
            productId: shopifyIdString('productId'),
            // A control character is never a SKU: the page parks SKUs under one while it swaps them.
            sku: orderText('sku', ORDER_LIMITS.maxShortTextLength)
              .min(1, 'sku must not be empty')
              .refine((s) => !/\p{Cc}/u.test(s), 'sku must not contain control characters'),
            title: orderText('title', ORDER_LIMITS.maxTitleLength).min(1, 'title must not be empty'),
            price: money('price'),
            inventoryItemId: shopifyIdString('inventoryItemId'),
            available: z.number().int().min(0).max(MAX_STOCK),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_CATALOGUE_PAGE)
      .refine((v) => distinct(v.map((x) => x.variantId)), { message: 'each variant must appear once in a page' })
      .refine((v) => distinct(v.map((x) => x.sku)), { message: 'each SKU must appear once in a page' })
      .refine((v) => distinct(v.map((x) => x.inventoryItemId)), { message: 'each inventory item must appear once in a page' }),
  })
  .strict();

export interface CatalogueRoutesDeps {
  pool: pg.Pool;
  logger: Logger;
  internalApiToken: string;
  inventoryTopic: string;
  bodyLimit?: string;
}

const count = (results: VariantResult[], outcome: VariantResult['outcome']) => results.filter((r) => r.outcome === outcome).length;

/**
 * Mounted at the root: `POST /internal/catalogue/variants`, one page of `npm run catalogue -- import`
 * (docs/spec.md section 10). Answers 200 `{results: [{variantId, sku, outcome, ...}]}` in the page's order.
 */
export function catalogueRouter(deps: CatalogueRoutesDeps): Router {
  const { pool, logger, inventoryTopic } = deps;
  const router = express.Router();

  router.post(
    '/internal/catalogue/variants',
    bearerAuth(deps.internalApiToken),
    express.json({ limit: deps.bodyLimit ?? '1mb' }),
    async (req, res) => {
      const parsed = cataloguePageSchema.safeParse(req.body);
      if (!parsed.success) throw invalid(parsed.error);
      const page = parsed.data;
      const results = await importCataloguePage(pool, {
        ...page,
        correlationId: currentContext()?.correlationId ?? randomUUID(),
        topic: inventoryTopic,
      });
      if (!page.dryRun) {
        const added = results.filter((r) => r.outcome === 'added');
        logger.info(
          `catalogue import ${page.reference}: ${added.length} added, ${count(results, 'refreshed')} refreshed, ` +
            `${count(results, 'unchanged')} unchanged, ${count(results, 'skipped')} skipped`,
          {
            event: 'catalogue.page.imported',
            reference: page.reference,
            added: added.map((r) => r.variantId),
            refreshed: results.filter((r) => r.outcome === 'refreshed').map((r) => r.variantId),
            skipped: results.filter((r) => r.outcome === 'skipped').map((r) => r.variantId),
          },
        );
      }
      res.json({ results });
    },
  );

  return router;
}

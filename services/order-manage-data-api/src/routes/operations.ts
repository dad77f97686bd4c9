import express, { type Router } from 'express';
import type pg from 'pg';
import { listRejections } from '../db/rejections.js';
import { invalid } from './problems.js';
import { rejectionQuerySchema } from './schemas.js';

/** What the merchant's team reads: the refused orders someone must refund, backorder or fix. */
export function operationsRouter(deps: { pool: pg.Pool }): Router {
  const router = express.Router();

  router.get('/orders/rejections', async (req, res) => {
    const parsed = rejectionQuerySchema.safeParse(req.query);
    if (!parsed.success) throw invalid(parsed.error);
    const { cursor, ...query } = parsed.data;
    res.json(await listRejections(deps.pool, { ...query, before: cursor }));
  });

  return router;
}

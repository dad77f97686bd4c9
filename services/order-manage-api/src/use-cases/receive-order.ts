import { isDeepStrictEqual } from 'node:util';
import type { Deadline, Logger, ShopifyId } from '@oms/common';
import { type CommitLine, type DataApiClient, DataApiRefusedError, DataApiUnavailableError } from '../clients/data-api.js';
import type { WmsClient } from '../clients/wms.js';
import { WmsUnavailableError } from '../clients/wms.js';
import type { WmsHold } from '../clients/wms-hold.js';
import { type Demand, findShortages, type OrderIntake, reservingLines, type Shortage, type StockLine } from '../domain/order.js';
import {
  type InsufficientInventory,
  insufficientInventory,
  type IntakeOutcome,
  type IntakeResult,
  type ProductNotFound,
  productNotFound,
  type WmsUnavailable,
} from '../domain/outcome.js';
import { createVariantCache, type PlacedLine, type VariantCache } from '../domain/variant-cache.js';

export interface ReceiveOrderDeps {
  logger: Logger;
  dataApi: DataApiClient;
  wms: WmsClient;
  wmsHold: WmsHold;
  /** SHOPIFY_LOCATION_ID: the warehouse's Shopify location; a point-of-sale order elsewhere reserves nothing. */
  warehouseLocationId: ShopifyId;
  /** How lines resolved (VARIANT_CACHE_TTL_MS, VARIANT_CACHE_MAX_ENTRIES); one with the defaults when absent. */
  variantCache?: VariantCache;
}

export interface Delivery {
  webhookId: string;
  eventId: string | null;
  /** Every step shares it: WMS attempts and data-api calls are cut to what is left. */
  deadline: Deadline;
}

/**
 * The WMS checks stop this long before the answer deadline, so a slow WMS still leaves the commit
 * time to finish inside it.
 */
const MAX_COMMIT_RESERVE_MS = 500;

/** Retry-After for a check the answer deadline cut short while the WMS itself did not fail. */
const DEADLINE_RETRY_AFTER_SECONDS = 5;

/** A redelivery of the same webhook or the same event is Shopify retrying: it is answered as the first time. */
const isRetryOf = (existing: { webhookId: string | null; eventId: string | null }, delivery: Delivery) =>
  existing.webhookId === delivery.webhookId || (delivery.eventId !== null && existing.eventId === delivery.eventId);

const answerForKnown = (existing: { webhookId: string | null; eventId: string | null }, delivery: Delivery): IntakeResult =>
  isRetryOf(existing, delivery) ? { kind: 'replayed' } : { kind: 'already_exists' };

/** Pure: lines of one variant are one demand for their summed quantity, checked by the SKU the inventory holds. */
function demandsOf(lines: readonly StockLine[], placed: readonly PlacedLine[]): Demand[] {
  const quantityOf = new Map(lines.map((l) => [l.lineItemId, l.quantity]));
  const byVariant = new Map<ShopifyId, Demand>();
  for (const p of placed) {
    const demand = byVariant.get(p.variantId) ?? { variantId: p.variantId, productId: p.productId, sku: p.sku, quantity: 0 };
    demand.quantity += quantityOf.get(p.lineItemId) ?? 0;
    byVariant.set(p.variantId, demand);
  }
  return [...byVariant.values()];
}

/** Pure: every line for the commit, a reserving line with the variant it draws on. */
function commitLines(intake: OrderIntake, placed: readonly PlacedLine[]): CommitLine[] {
  const variantOf = new Map(placed.map((p) => [p.lineItemId, p.variantId]));
  return intake.lines.map(({ lineItemId, productId, sku, title, quantity, price }) => ({
    lineItemId,
    productId,
    variantId: variantOf.get(lineItemId) ?? null,
    sku,
    title,
    quantity,
    price,
  }));
}

/** Pure: the commit names shortages in variant id order (its lock order); the answer names them in line order. */
function inLineOrder(items: readonly Shortage[], placed: readonly PlacedLine[]): Shortage[] {
  const rank = (variantId: ShopifyId) => placed.findIndex((p) => p.variantId === variantId);
  return items.toSorted((a, b) => rank(a.variantId) - rank(b.variantId));
}

type WmsVerdict = ProductNotFound | InsufficientInventory | WmsUnavailable;

/** What the WMS (or its hold) said of demands: undefined when it covers every one. */
async function checkWms(
  deps: ReceiveOrderDeps,
  orderId: ShopifyId,
  demands: Demand[],
  deadline: Deadline,
): Promise<WmsVerdict | undefined> {
  const { logger, wms, wmsHold } = deps;
  const held = await wmsHold.remainingSeconds();
  if (held !== null) {
    return {
      kind: 'wms_unavailable',
      retryAfterSeconds: held,
      detail: `WMS calls are on hold after repeated failures; retry in ${held} s.`,
    };
  }
  const reserve = Math.min(MAX_COMMIT_RESERVE_MS, Math.floor(deadline.remainingMs() / 4));
  const wmsDeadline: Deadline = { remainingMs: () => Math.max(0, deadline.remainingMs() - reserve) };
  const results = await Promise.allSettled(demands.map((d) => wms.checkInventory(d.sku, { deadline: wmsDeadline })));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  for (const failure of failures) {
    if (!(failure instanceof WmsUnavailableError)) throw failure;
    logger.warn(failure.message, { event: 'wms.check.failed', orderId, sku: failure.sku });
  }
  // Only the WMS's own failures start the hold: a check our load ran out of time for says nothing
  // about the WMS, and a hold would refuse every order for a minute.
  const wmsFailed = failures.some((f) => (f as WmsUnavailableError).wmsFailed);
  const retryAfterSeconds = wmsFailed ? await wmsHold.start() : DEADLINE_RETRY_AFTER_SECONDS;
  const answers = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ demand: demands[i]!, inventory: r.value }] : []));
  // A definite answer (unknown SKU, too little stock) wins over a failure: a retry cannot fix the order.
  const unknown = answers.filter((a) => a.inventory === null).map((a) => a.demand);
  if (unknown.length > 0)
    return productNotFound(
      unknown.map(({ productId, variantId, sku }) => ({ productId, variantId, sku })),
      'known to the WMS',
    );
  const stock = new Map(answers.map((a) => [a.demand.variantId, a.inventory!.availableQuantity]));
  const shortages = findShortages(
    answers.map((a) => a.demand),
    stock,
  );
  if (shortages.length > 0) return insufficientInventory(shortages, 'The warehouse has');
  if (failures.length > 0) {
    const reasons = failures.map((f) => (f as Error).message).join('; ');
    return {
      kind: 'wms_unavailable',
      retryAfterSeconds,
      detail: `The WMS could not confirm stock (${reasons}); retry in ${retryAfterSeconds} s.`,
    };
  }
  return undefined;
}

/** The commit refuses a known order, a variant gone and a shortage under its locks, in SPEC's order. */
async function commit(dataApi: DataApiClient, intake: OrderIntake, placed: PlacedLine[], delivery: Delivery): Promise<IntakeResult> {
  const order = { ...intake.order, webhookId: delivery.webhookId, eventId: delivery.eventId };
  const committed = await dataApi.commitOrder({ order, lines: commitLines(intake, placed) }, { deadline: delivery.deadline });
  switch (committed.kind) {
    case 'committed':
      return { kind: 'accepted', variants: new Set(placed.map((p) => p.variantId)).size, lines: intake.lines.length };
    case 'already_exists':
      // A redelivery the cache let through, or a concurrent delivery of the same order that committed first.
      return answerForKnown({ webhookId: committed.existingWebhookId, eventId: committed.existingEventId }, delivery);
    case 'insufficient_inventory':
      return { ...committed, items: inLineOrder(committed.items, placed) };
    default:
      return committed;
  }
}

/** A WMS verdict and the demands it was for. */
interface WmsRun {
  demands: Demand[];
  verdict: WmsVerdict;
}

/** The variants the reserving lines draw on when every check passed, else the answer. */
type Checked = PlacedLine[] | IntakeResult;

/**
 * docs/spec.md section 2 after validation, in its order of checks: a known order, every variant known,
 * our stock, the WMS hold and the WMS, then the locked commit, which applies the same rules under
 * its row locks. An order whose every line names a variant the cache knows goes to the WMS first and
 * is resolved only if the WMS refuses it, so each answer is the one the checks in SPEC's order give
 * (docs/design.md). Every answer is an outcome; only a bug throws.
 */
export function createReceiveOrder(deps: ReceiveOrderDeps) {
  const { dataApi, warehouseLocationId } = deps;
  const variants = deps.variantCache ?? createVariantCache();

  /** SPEC's order: the resolve answers the first three checks, then the WMS, or `earlier`'s verdict if it judged the same demands. */
  async function checkByResolve(intake: OrderIntake, lines: StockLine[], delivery: Delivery, earlier?: WmsRun): Promise<Checked> {
    const { orderId } = intake.order;
    const { existingOrder, resolved, unresolved } = await dataApi.resolve(orderId, lines, { deadline: delivery.deadline });
    variants.remember(resolved);
    if (existingOrder) return answerForKnown(existingOrder, delivery);
    if (unresolved.length > 0)
      return productNotFound(
        unresolved.map(({ productId, variantId, sku }) => ({ productId, variantId, sku })),
        'in inventory',
      );
    const demands = demandsOf(lines, resolved);
    const shortages = findShortages(demands, new Map(resolved.map((r) => [r.variantId, r.availableQuantity])));
    if (shortages.length > 0) return insufficientInventory(shortages, 'There is');
    const verdict =
      earlier && isDeepStrictEqual(earlier.demands, demands) ? earlier.verdict : await checkWms(deps, orderId, demands, delivery.deadline);
    return verdict ?? resolved;
  }

  /** The WMS first; a refusal or a failure is answered as the resolve's checks would have, before it. */
  async function checkFromCache(intake: OrderIntake, lines: StockLine[], delivery: Delivery, placed: PlacedLine[]): Promise<Checked> {
    const demands = demandsOf(lines, placed);
    const verdict = await checkWms(deps, intake.order.orderId, demands, delivery.deadline);
    return verdict === undefined ? placed : checkByResolve(intake, lines, delivery, { demands, verdict });
  }

  async function receive(intake: OrderIntake, delivery: Delivery): Promise<IntakeResult> {
    const lines = reservingLines(intake, warehouseLocationId);
    // An order that reserves nothing (tips and gift cards, a sale at a shop) has nothing to check.
    if (lines.length === 0) return commit(dataApi, intake, [], delivery);
    const cached = variants.placeAll(lines);
    const checked = cached ? await checkFromCache(intake, lines, delivery, cached) : await checkByResolve(intake, lines, delivery);
    return Array.isArray(checked) ? commit(dataApi, intake, checked, delivery) : checked;
  }

  return async function receiveOrder(intake: OrderIntake, delivery: Delivery): Promise<IntakeOutcome> {
    const { orderId } = intake.order;
    try {
      return { orderId, ...(await receive(intake, delivery)) };
    } catch (err) {
      if (err instanceof DataApiRefusedError) return { orderId, kind: 'refused_by_data_api', problem: err.problem };
      if (err instanceof DataApiUnavailableError) return { orderId, kind: 'data_api_unavailable', detail: err.message };
      throw err;
    }
  };
}

export type ReceiveOrder = ReturnType<typeof createReceiveOrder>;

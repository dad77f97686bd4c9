import type { Deadline, Logger } from '@oms/common';
import { type DataApiClient, DataApiRefusedError, DataApiUnavailableError, type IntakeLookup } from '../clients/data-api.js';
import type { WmsClient } from '../clients/wms.js';
import { WmsUnavailableError } from '../clients/wms.js';
import type { WmsHold } from '../clients/wms-hold.js';
import { findShortages, type OrderIntake } from '../domain/order.js';
import {
  type InsufficientInventory,
  insufficientInventory,
  type IntakeOutcome,
  type IntakeResult,
  type ProductNotFound,
  productNotFound,
  type WmsUnavailable,
} from '../domain/outcome.js';

export interface ReceiveOrderDeps {
  logger: Logger;
  dataApi: DataApiClient;
  wms: WmsClient;
  wmsHold: WmsHold;
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

/**
 * SPEC.md section 2 after validation: the WMS hold and the WMS, then the locked commit, which refuses
 * a known order before our own stock. A refusal of the WMS is answered only after the database has
 * had its say, so the answer is the one SPEC's order of checks gives. Every answer is an outcome;
 * only a bug throws.
 */
export function createReceiveOrder(deps: ReceiveOrderDeps) {
  const { logger, dataApi, wms, wmsHold } = deps;

  function checkOwnStock(intake: OrderIntake, { products, missingProductIds }: IntakeLookup): ProductNotFound | InsufficientInventory | undefined {
    if (missingProductIds.length > 0) return productNotFound(missingProductIds, 'in inventory');
    const shortages = findShortages(intake.demands, new Map(products.map((p) => [p.productId, p.availableQuantity])));
    return shortages.length > 0 ? insufficientInventory(shortages, 'There is') : undefined;
  }

  async function checkWms(intake: OrderIntake, deadline: Deadline): Promise<ProductNotFound | InsufficientInventory | WmsUnavailable | undefined> {
    const { orderId } = intake.order;
    const held = await wmsHold.remainingSeconds();
    if (held !== null) {
      return { kind: 'wms_unavailable', retryAfterSeconds: held, detail: `WMS calls are on hold after repeated failures; retry in ${held} s.` };
    }
    const reserve = Math.min(MAX_COMMIT_RESERVE_MS, Math.floor(deadline.remainingMs() / 4));
    const wmsDeadline: Deadline = { remainingMs: () => Math.max(0, deadline.remainingMs() - reserve) };
    const results = await Promise.allSettled(intake.demands.map((d) => wms.checkInventory(d.productId, { deadline: wmsDeadline })));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    for (const failure of failures) {
      if (!(failure instanceof WmsUnavailableError)) throw failure;
      logger.warn(failure.message, { event: 'wms.check.failed', orderId, productId: failure.productId });
    }
    // Only the WMS's own failures start the hold: a check our load ran out of time for says nothing
    // about the WMS, and a hold would refuse every order for a minute.
    const wmsFailed = failures.some((f) => (f as WmsUnavailableError).wmsFailed);
    const retryAfterSeconds = wmsFailed ? await wmsHold.start() : DEADLINE_RETRY_AFTER_SECONDS;
    const answers = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ demand: intake.demands[i]!, inventory: r.value }] : []));
    // A definite answer (unknown product, too little stock) wins over a failure: a retry cannot fix the order.
    const unknown = answers.filter((a) => a.inventory === null).map((a) => a.demand.productId);
    if (unknown.length > 0) return productNotFound(unknown, 'known to the WMS');
    const stock = new Map(answers.map((a) => [a.demand.productId, a.inventory!.availableQuantity]));
    const shortages = findShortages(answers.map((a) => a.demand), stock);
    if (shortages.length > 0) return insufficientInventory(shortages, 'The warehouse has');
    if (failures.length > 0) {
      const reasons = failures.map((f) => (f as Error).message).join('; ');
      return { kind: 'wms_unavailable', retryAfterSeconds, detail: `The WMS could not confirm stock (${reasons}); retry in ${retryAfterSeconds} s.` };
    }
    return undefined;
  }

  /**
   * What the database says of an order a check refused: it may have been accepted before (a
   * redelivery is replayed, another delivery of the same id is 409), and our own stock's refusal
   * comes before the WMS's. Asked only after a refusal: an order that passes every check costs the
   * data-api one call, the commit, which applies the same rules under its row locks.
   */
  async function refusalByDatabase(intake: OrderIntake, { deadline, webhookId }: Delivery): Promise<IntakeResult | undefined> {
    const known = await dataApi.lookup(
      intake.order.orderId,
      intake.demands.map((d) => d.productId),
      { deadline },
    );
    const existing = known.existingOrder;
    if (existing) return existing.webhookId === webhookId ? { kind: 'replayed' } : { kind: 'already_exists' };
    return checkOwnStock(intake, known);
  }

  async function receive(intake: OrderIntake, delivery: Delivery): Promise<IntakeResult> {
    const { deadline, webhookId } = delivery;
    // An order of tips, custom items or gift cards only draws on no stock: nothing to ask the WMS.
    if (intake.demands.length > 0) {
      const refused = await checkWms(intake, deadline);
      if (refused) return (await refusalByDatabase(intake, delivery)) ?? refused;
    }

    const committed = await dataApi.commitOrder(
      { order: { ...intake.order, webhookId, eventId: delivery.eventId }, lines: intake.demands, nonStockLines: intake.nonStockLines },
      { deadline },
    );
    switch (committed.kind) {
      case 'committed':
        return { kind: 'accepted', products: intake.demands.length, nonStockLines: intake.nonStockLines.length };
      case 'already_exists':
        // A redelivery, or a concurrent delivery of the same webhook that committed first.
        return committed.existingWebhookId === webhookId ? { kind: 'replayed' } : { kind: 'already_exists' };
      default:
        return committed;
    }
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

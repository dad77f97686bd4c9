/**
 * In-memory stand-ins for everything the intake use case (`createReceiveOrder`) depends on, so its
 * unit tests need no running service: a data-api holding orders and our stock, a WMS scripted per
 * product, the WMS hold, and a logger that records what it was told.
 *
 * Every use of the DataApiClient's methods stays in this file: tests speak in scenario terms ("a
 * known order", "our stock of product X is N"), so a change of that interface changes only this file.
 */
import type { Deadline, Logger, Problem, ShopifyId } from '@oms/common';
import {
  type CommitRequest,
  type DataApiClient,
  DataApiRefusedError,
  DataApiUnavailableError,
  type ExistingOrder,
  type ProductInfo,
} from '../../services/order-manage-api/src/clients/data-api.js';
import { type WmsClient, type WmsInventory, WmsUnavailableError } from '../../services/order-manage-api/src/clients/wms.js';
import type { WmsHold } from '../../services/order-manage-api/src/clients/wms-hold.js';
import { type Demand, findShortages, type NonStockLine, type OrderIntake } from '../../services/order-manage-api/src/domain/order.js';
import { type CommitOutcome, insufficientInventory, productNotFound } from '../../services/order-manage-api/src/domain/outcome.js';
import type { Delivery, ReceiveOrderDeps } from '../../services/order-manage-api/src/use-cases/receive-order.js';

/** A deadline whose successive readings are these (the last one repeats): time passing, step by step. */
export function deadlineReading(...readings: number[]): Deadline {
  let next = 0;
  return { remainingMs: () => readings[Math.min(next++, readings.length - 1)]! };
}

export interface OrderSpec {
  orderId?: ShopifyId;
  /** Products and quantities, one demand each. */
  lines?: Array<{ productId: ShopifyId; quantity: number }>;
  /** How many lines hold no stock (tips, custom items, gift cards). */
  nonStockLines?: number;
}

/** A validated order, as `validateOrder` hands it to the use case. */
export function anOrder({ orderId = '820982911946154508', lines = [], nonStockLines = 0 }: OrderSpec = {}): OrderIntake {
  const demands: Demand[] = lines.map(({ productId, quantity }) => ({
    productId,
    sku: `SKU-${productId}`,
    title: `Product ${productId}`,
    quantity,
    price: '10.00',
  }));
  const nonStock: NonStockLine[] = Array.from({ length: nonStockLines }, (_, i) => ({
    lineItemId: String(13_000_000_000_001 + i),
    sku: '',
    title: `Tip ${i + 1}`,
    quantity: 1,
    price: '2.00',
  }));
  return {
    order: {
      orderId,
      orderNumber: 1001,
      name: '#1001',
      customerId: '9000000000001',
      currency: 'USD',
      totalPrice: '99.00',
      financialStatus: 'paid',
      createdAt: '2026-11-24T08:45:58-05:00',
    },
    demands,
    nonStockLines: nonStock,
  };
}

export interface DeliverySpec {
  webhookId?: string;
  eventId?: string | null;
  /** Milliseconds left before the answer deadline, one per reading (see deadlineReading). */
  remainingMs?: number[];
}

export function aDelivery({ webhookId = 'webhook-1', eventId = 'event-1', remainingMs = [4000] }: DeliverySpec = {}): Delivery {
  return { webhookId, eventId, deadline: deadlineReading(...remainingMs) };
}

export interface LogEntry {
  level: string;
  message: string;
  meta: unknown;
}

type WmsScript =
  | { answer: 'stock'; quantity: number }
  | { answer: 'unknown' }
  | { answer: 'fails'; wmsFailed: boolean; attempts: number; cause: string }
  | { answer: 'throws'; error: Error };

/** One world per test: arrange it with the scenario methods, run the use case on `deps`, read what happened. */
export class IntakeWorld {
  private readonly orders = new Map<ShopifyId, ExistingOrder>();
  private readonly ourStock = new Map<ShopifyId, number>();
  private readonly wmsScripts = new Map<ShopifyId, WmsScript>();
  private commitAnswer: CommitOutcome | undefined;
  private dataApiFailure: Error | undefined;
  private commitFailure: Error | undefined;
  private holdRemaining: number | null = null;
  private holdSeconds = 60;

  /** Each lookup of the order and our stock of its products, in the order made. */
  readonly lookups: Array<{ orderId: ShopifyId; productIds: ShopifyId[] }> = [];
  /** The deadline each data-api call was given. */
  readonly dataApiDeadlines: Array<Deadline | undefined> = [];
  /** Every commit the data-api was asked for. */
  readonly commits: CommitRequest[] = [];
  /** Each WMS check: the product and the milliseconds its deadline had left when the check began (undefined: no deadline). */
  readonly wmsChecks: Array<{ productId: ShopifyId; deadlineMs: number | undefined }> = [];
  /** How many times the WMS hold was started. */
  holdStarts = 0;
  readonly log: LogEntry[] = [];

  // --- the data-api: known orders, our stock, the commit ---

  /** The data-api already holds this order, received under this webhook id. */
  knownOrder(orderId: ShopifyId, webhookId: string): this {
    this.orders.set(orderId, { orderId, webhookId, status: 'committed', receivedAt: '2026-11-24T08:45:58.000Z' });
    return this;
  }

  /** Our inventory holds this product with this quantity available. */
  stock(productId: ShopifyId, quantity: number): this {
    this.ourStock.set(productId, quantity);
    return this;
  }

  /** The data-api answers the commit with this outcome, whatever it holds (by default it applies its rules). */
  commitAnswers(outcome: CommitOutcome): this {
    this.commitAnswer = outcome;
    return this;
  }

  /** The data-api refuses the commit with a 4xx of its own. */
  dataApiRefusesTheCommit(problem: Problem): this {
    this.commitFailure = new DataApiRefusedError(problem);
    return this;
  }

  /** Every data-api call fails: unreachable, timed out or 5xx. */
  dataApiUnavailable(message: string): this {
    this.dataApiFailure = new DataApiUnavailableError(message);
    return this;
  }

  // --- the WMS and its hold ---

  /** The WMS knows this product and has this much of it. */
  wmsStock(productId: ShopifyId, quantity: number): this {
    this.wmsScripts.set(productId, { answer: 'stock', quantity });
    return this;
  }

  /** The WMS does not know this product (its 404). */
  wmsDoesNotKnow(productId: ShopifyId): this {
    this.wmsScripts.set(productId, { answer: 'unknown' });
    return this;
  }

  /**
   * The check of this product fails: `wmsFailed` true when the WMS itself failed (timeouts, 5xx),
   * false when the answer deadline cut the check short.
   */
  wmsFails(productId: ShopifyId, { wmsFailed, attempts = 3, cause = 'answered 503' }: { wmsFailed: boolean; attempts?: number; cause?: string }): this {
    this.wmsScripts.set(productId, { answer: 'fails', wmsFailed, attempts, cause });
    return this;
  }

  /** The check of this product throws something that is no WMS failure: a bug. */
  wmsThrows(productId: ShopifyId, error: Error): this {
    this.wmsScripts.set(productId, { answer: 'throws', error });
    return this;
  }

  /** A WMS hold is running with this many seconds left. */
  holdRunning(seconds: number): this {
    this.holdRemaining = seconds;
    return this;
  }

  /** Starting the hold tells callers to wait this many seconds (a fresh hold's TTL, or what a running one has left). */
  holdStartsFor(seconds: number): this {
    this.holdSeconds = seconds;
    return this;
  }

  // --- what was asked ---

  /** Product ids the WMS was asked about, in the order asked. */
  get wmsAsked(): ShopifyId[] {
    return this.wmsChecks.map((c) => c.productId);
  }

  /** What our inventory holds of this product now (commits decrement it). */
  stockOf(productId: ShopifyId): number | undefined {
    return this.ourStock.get(productId);
  }

  warnings(): Array<Omit<LogEntry, 'level'>> {
    return this.log.filter((e) => e.level === 'warn').map(({ message, meta }) => ({ message, meta }));
  }

  // --- the in-memory dependencies ---

  private dataApiCall(deadline: Deadline | undefined): void {
    this.dataApiDeadlines.push(deadline);
    if (this.dataApiFailure) throw this.dataApiFailure;
  }

  /** The data-api's commit: a known order first, then unknown products, then shortages, as its locked transaction checks them. */
  private commitByTheRules({ order, lines }: CommitRequest): CommitOutcome {
    const known = this.orders.get(order.orderId);
    if (known) return { kind: 'already_exists', existingWebhookId: known.webhookId };
    const missing = lines.filter((l) => !this.ourStock.has(l.productId)).map((l) => l.productId);
    if (missing.length > 0) return productNotFound(missing, 'in inventory');
    const shortages = findShortages(lines, this.ourStock);
    if (shortages.length > 0) return insufficientInventory(shortages, 'There is');
    for (const line of lines) this.ourStock.set(line.productId, this.ourStock.get(line.productId)! - line.quantity);
    return { kind: 'committed' };
  }

  private readonly dataApi: DataApiClient = {
    lookup: async (orderId, productIds, options) => {
      this.dataApiCall(options?.deadline);
      this.lookups.push({ orderId, productIds: [...productIds] });
      const products: ProductInfo[] = productIds
        .filter((id) => this.ourStock.has(id))
        .map((id) => ({ productId: id, sku: `SKU-${id}`, title: `Product ${id}`, price: '10.00', currency: 'USD', availableQuantity: this.ourStock.get(id)! }));
      return {
        existingOrder: this.orders.get(orderId) ?? null,
        products,
        missingProductIds: productIds.filter((id) => !this.ourStock.has(id)),
      };
    },
    commitOrder: async (request, options) => {
      this.dataApiCall(options?.deadline);
      this.commits.push(structuredClone(request));
      if (this.commitFailure) throw this.commitFailure;
      const outcome = this.commitAnswer ?? this.commitByTheRules(request);
      if (outcome.kind === 'committed') this.knownOrder(request.order.orderId, request.order.webhookId);
      return outcome;
    },
    ping: async () => undefined,
  };

  private readonly wms: WmsClient = {
    checkInventory: async (productId, options) => {
      this.wmsChecks.push({ productId, deadlineMs: options?.deadline?.remainingMs() });
      const script = this.wmsScripts.get(productId) ?? { answer: 'unknown' };
      switch (script.answer) {
        case 'stock':
          return { productId, availableQuantity: script.quantity } satisfies WmsInventory;
        case 'unknown':
          return null;
        case 'fails':
          throw new WmsUnavailableError(productId, script.attempts, script.wmsFailed, new Error(script.cause));
        case 'throws':
          throw script.error;
      }
    },
  };

  private readonly wmsHold: WmsHold = {
    remainingSeconds: async () => this.holdRemaining,
    start: async () => {
      this.holdStarts++;
      this.holdRemaining ??= this.holdSeconds;
      return this.holdSeconds;
    },
  };

  private readonly logger = Object.fromEntries(
    ['error', 'warn', 'info', 'debug'].map((level) => [
      level,
      (message: string, meta?: unknown) => {
        this.log.push({ level, message, meta });
      },
    ]),
  ) as unknown as Logger;

  /** What `createReceiveOrder` is built with. */
  get deps(): ReceiveOrderDeps {
    return { logger: this.logger, dataApi: this.dataApi, wms: this.wms, wmsHold: this.wmsHold };
  }
}

/**
 * In-memory stand-ins for everything the intake use case (`createReceiveOrder`) depends on, so its
 * unit tests need no running service: a data-api holding orders and our variants with their stock,
 * a WMS scripted per SKU, the WMS hold, and a logger that records what it was told.
 *
 * Every use of the DataApiClient's methods stays in this file: tests speak in scenario terms ("a
 * known order", "our stock of variant X is N"), so a change of that interface changes only this file.
 */
import type { Deadline, Logger, Problem, ShopifyId } from '@oms/common';
import {
  type CommitRequest,
  type DataApiClient,
  DataApiRefusedError,
  DataApiUnavailableError,
  type ExistingOrder,
  type Resolution,
} from '../../services/order-manage-api/src/clients/data-api.js';
import { type WmsClient, type WmsInventory, WmsUnavailableError } from '../../services/order-manage-api/src/clients/wms.js';
import type { WmsHold } from '../../services/order-manage-api/src/clients/wms-hold.js';
import type { OrderIntake, OrderLine, Shortage } from '../../services/order-manage-api/src/domain/order.js';
import { type CommitOutcome, insufficientInventory, productNotFound } from '../../services/order-manage-api/src/domain/outcome.js';
import type { Delivery, ReceiveOrderDeps } from '../../services/order-manage-api/src/use-cases/receive-order.js';

/** The warehouse's Shopify location (SHOPIFY_LOCATION_ID) the world's use case is built with. */
export const WAREHOUSE_LOCATION = '65432109876';

/** A deadline whose successive readings are these (the last one repeats): time passing, step by step. */
export function deadlineReading(...readings: number[]): Deadline {
  let next = 0;
  return { remainingMs: () => readings[Math.min(next++, readings.length - 1)]! };
}

/** A variant of the catalogue: its id, its product and the SKU the inventory (and the WMS) know it by. */
export interface Variant {
  productId: ShopifyId;
  variantId: ShopifyId;
  sku: string;
}

/** A line item of the order as Shopify sent it. */
export interface LineSpec {
  productId: ShopifyId;
  /** null: a deleted variant, found by its SKU among its product's variants. */
  variantId: ShopifyId | null;
  sku: string;
  quantity: number;
  lineItemId?: ShopifyId;
  /** Default true; false for a line validation found to hold no stock (a gift card, a line that ships nothing). */
  holdsStock?: boolean;
}

/** The line of `variant`, as Shopify sends it: `lineOf(TSHIRT_S, 2)`, `lineOf(TSHIRT_S, 1, { variantId: null })`. */
export const lineOf = (variant: Variant, quantity: number, extra: Partial<LineSpec> = {}): LineSpec => ({ ...variant, quantity, ...extra });

export interface OrderSpec {
  orderId?: ShopifyId;
  lines?: LineSpec[];
  /** How many lines without a product follow them (tips, custom items). */
  nonStockLines?: number;
  /** A point-of-sale order's shop location; null (the default) for an online order. */
  locationId?: ShopifyId | null;
}

/** Line item ids: the stock lines' first, then the non-stock lines'. */
export const lineItemId = (i: number): ShopifyId => String(12_000_000_000_001 + i);

/** A validated order, as `validateOrder` hands it to the use case. */
export function anOrder({ orderId = '820982911946154508', lines = [], nonStockLines = 0, locationId = null }: OrderSpec = {}): OrderIntake {
  const stockLines: OrderLine[] = lines.map((l, i) => ({
    lineItemId: l.lineItemId ?? lineItemId(i),
    productId: l.productId,
    variantId: l.variantId,
    sku: l.sku,
    title: `Variant ${l.variantId ?? l.sku}`,
    quantity: l.quantity,
    price: '10.00',
    holdsStock: l.holdsStock ?? true,
  }));
  const tips: OrderLine[] = Array.from({ length: nonStockLines }, (_, i) => ({
    lineItemId: lineItemId(lines.length + i),
    productId: null,
    variantId: null,
    sku: '',
    title: `Tip ${i + 1}`,
    quantity: 1,
    price: '2.00',
    holdsStock: false,
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
      locationId,
    },
    lines: [...stockLines, ...tips],
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

/** A line as the data-api's resolve was asked about it. */
export interface ResolveAsked {
  lineItemId: ShopifyId;
  productId: ShopifyId;
  variantId: ShopifyId | null;
  sku: string;
}

type WmsScript =
  | { answer: 'stock'; quantity: number }
  | { answer: 'unknown' }
  | { answer: 'fails'; wmsFailed: boolean; attempts: number; cause: string }
  | { answer: 'throws'; error: Error };

/** One world per test: arrange it with the scenario methods, run the use case on `deps`, read what happened. */
export class IntakeWorld {
  private readonly orders = new Map<ShopifyId, ExistingOrder>();
  private readonly variants = new Map<ShopifyId, Variant & { stock: number }>();
  private readonly wmsScripts = new Map<string, WmsScript>();
  private commitAnswer: CommitOutcome | undefined;
  private dataApiFailure: Error | undefined;
  private commitFailure: Error | undefined;
  private holdRemaining: number | null = null;
  private holdSeconds = 60;

  /** Each resolve of the order and its stock lines, in the order made. */
  readonly resolves: Array<{ orderId: ShopifyId; lines: ResolveAsked[] }> = [];
  /** The deadline each data-api call was given. */
  readonly dataApiDeadlines: Array<Deadline | undefined> = [];
  /** Every commit the data-api was asked for. */
  readonly commits: CommitRequest[] = [];
  /** Each WMS check: the SKU and the milliseconds its deadline had left when the check began (undefined: no deadline). */
  readonly wmsChecks: Array<{ sku: string; deadlineMs: number | undefined }> = [];
  /** How many times the WMS hold was started. */
  holdStarts = 0;
  readonly log: LogEntry[] = [];

  // --- the data-api: known orders, our variants and their stock, the commit ---

  /** The data-api already holds this order, received under this webhook id and event id. */
  knownOrder(orderId: ShopifyId, webhookId: string, eventId: string | null = null): this {
    this.orders.set(orderId, { orderId, webhookId, eventId, status: 'accepted', receivedAt: '2026-11-24T08:45:58.000Z' });
    return this;
  }

  /** Our inventory holds this variant with this quantity available. */
  stock(variant: Variant, quantity: number): this {
    this.variants.set(variant.variantId, { ...variant, stock: quantity });
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

  // --- the WMS (by SKU) and its hold ---

  /** The WMS knows this SKU and has this much of it. */
  wmsStock(sku: string, quantity: number): this {
    this.wmsScripts.set(sku, { answer: 'stock', quantity });
    return this;
  }

  /** The WMS does not know this SKU (its 404). */
  wmsDoesNotKnow(sku: string): this {
    this.wmsScripts.set(sku, { answer: 'unknown' });
    return this;
  }

  /**
   * The check of this SKU fails: `wmsFailed` true when the WMS itself failed (timeouts, 5xx),
   * false when the answer deadline cut the check short.
   */
  wmsFails(
    sku: string,
    { wmsFailed, attempts = 3, cause = 'answered 503' }: { wmsFailed: boolean; attempts?: number; cause?: string },
  ): this {
    this.wmsScripts.set(sku, { answer: 'fails', wmsFailed, attempts, cause });
    return this;
  }

  /** The check of this SKU throws something that is no WMS failure: a bug. */
  wmsThrows(sku: string, error: Error): this {
    this.wmsScripts.set(sku, { answer: 'throws', error });
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

  /** SKUs the WMS was asked about, in the order asked. */
  get wmsAsked(): string[] {
    return this.wmsChecks.map((c) => c.sku);
  }

  /** What our inventory holds of this variant now (commits decrement it). */
  stockOf(variant: Variant): number | undefined {
    return this.variants.get(variant.variantId)?.stock;
  }

  warnings(): Array<Omit<LogEntry, 'level'>> {
    return this.log.filter((e) => e.level === 'warn').map(({ message, meta }) => ({ message, meta }));
  }

  // --- the in-memory dependencies ---

  private dataApiCall(deadline: Deadline | undefined): void {
    this.dataApiDeadlines.push(deadline);
    if (this.dataApiFailure) throw this.dataApiFailure;
  }

  /** docs/spec.md section 2.1, as the data-api's resolve applies it: by variant id; without one, by SKU among the product's variants. */
  private variantOf(line: { productId: ShopifyId; variantId: ShopifyId | null; sku: string }) {
    if (line.variantId !== null) return this.variants.get(line.variantId);
    return [...this.variants.values()].find((v) => v.productId === line.productId && v.sku === line.sku);
  }

  /** The data-api's commit: a known order first, then variants gone, then shortages of the summed lines, as its locked transaction checks them. */
  private commitByTheRules({ order, lines }: CommitRequest): CommitOutcome {
    const known = this.orders.get(order.orderId);
    if (known) return { kind: 'already_exists', existingWebhookId: known.webhookId, existingEventId: known.eventId };
    const reserving = lines.filter((l) => l.variantId !== null);
    const gone = reserving.filter((l) => !this.variants.has(l.variantId!));
    if (gone.length > 0)
      return productNotFound(
        gone.map((l) => ({ productId: l.productId!, variantId: l.variantId, sku: l.sku })),
        'in inventory',
      );
    const demand = new Map<ShopifyId, number>();
    for (const l of reserving) demand.set(l.variantId!, (demand.get(l.variantId!) ?? 0) + l.quantity);
    const shortages: Shortage[] = [...demand]
      .map(([variantId, requested]) => ({ variant: this.variants.get(variantId)!, requested }))
      .filter(({ variant, requested }) => variant.stock < requested)
      .map(({ variant, requested }) => ({ variantId: variant.variantId, sku: variant.sku, requested, available: variant.stock }));
    if (shortages.length > 0) return insufficientInventory(shortages, 'There is');
    for (const [variantId, requested] of demand) this.variants.get(variantId)!.stock -= requested;
    return { kind: 'committed' };
  }

  private readonly dataApi: DataApiClient = {
    resolve: async (orderId, lines, options) => {
      this.dataApiCall(options?.deadline);
      const asked = lines.map(({ lineItemId, productId, variantId, sku }) => ({ lineItemId, productId, variantId, sku }));
      this.resolves.push({ orderId, lines: asked });
      const resolution: Resolution = { existingOrder: this.orders.get(orderId) ?? null, resolved: [], unresolved: [] };
      for (const line of asked) {
        const variant = this.variantOf(line);
        if (!variant) resolution.unresolved.push(line);
        else {
          const { variantId, productId, sku, stock } = variant;
          resolution.resolved.push({ lineItemId: line.lineItemId, variantId, productId, sku, availableQuantity: stock });
        }
      }
      return resolution;
    },
    commitOrder: async (request, options) => {
      this.dataApiCall(options?.deadline);
      this.commits.push(structuredClone(request));
      if (this.commitFailure) throw this.commitFailure;
      const outcome = this.commitAnswer ?? this.commitByTheRules(request);
      if (outcome.kind === 'committed') this.knownOrder(request.order.orderId, request.order.webhookId, request.order.eventId);
      return outcome;
    },
    ping: async () => undefined,
  };

  private readonly wms: WmsClient = {
    checkInventory: async (sku, options) => {
      this.wmsChecks.push({ sku, deadlineMs: options?.deadline?.remainingMs() });
      const script = this.wmsScripts.get(sku) ?? { answer: 'unknown' };
      switch (script.answer) {
        case 'stock':
          return { sku, availableQuantity: script.quantity } satisfies WmsInventory;
        case 'unknown':
          return null;
        case 'fails':
          throw new WmsUnavailableError(sku, script.attempts, script.wmsFailed, new Error(script.cause));
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
    return { logger: this.logger, dataApi: this.dataApi, wms: this.wms, wmsHold: this.wmsHold, warehouseLocationId: WAREHOUSE_LOCATION };
  }
}

/**
 * The catalogue import (docs/spec.md section 10, docs/operations.md "Catalogue import"): reads every
 * product variant with its inventory item from Shopify, every SKU's stock from the WMS list and the
 * variants the database knows, decides what to skip and which row each variant is, and sends the
 * rest in pages to order-manage-data-api (`POST /internal/catalogue/variants`), one transaction
 * each. `ops/catalogue.ts` is its command line.
 */
import { compareShopifyIds, httpRequest, isShopifyId, isTimeout, ORDER_LIMITS, type ShopifyId } from '@oms/common';
import type { WmsListClient } from '../services/order-manage-api/src/clients/wms.js';
import type { ShopifyClient } from '../services/order-stream-process/src/clients/shopify.js';
import { StockUnavailableError, type StockSource } from '../services/order-stream-process/src/clients/stock.js';

// ---- Shopify's catalogue ----

/** Shopify's own maximum for a connection page. */
export const MAX_SHOPIFY_PAGE = 250;

export const CATALOGUE_QUERY = `query CatalogueVariants($first: Int!, $cursor: String) {
  productVariants(first: $first, after: $cursor) {
    pageInfo { hasNextPage endCursor }
    nodes { id sku price title product { id title } inventoryItem { id tracked } }
  }
}`;

/** One variant as Shopify lists it; ids already out of their gids (null when a gid is unreadable). */
export interface ShopifyVariant {
  gid: string;
  variantId: ShopifyId | null;
  productId: ShopifyId | null;
  productTitle: string;
  variantTitle: string;
  sku: string | null;
  price: string | null;
  inventoryItemId: ShopifyId | null;
  tracked: boolean;
}

interface VariantNode {
  id?: unknown;
  sku?: unknown;
  price?: unknown;
  title?: unknown;
  product?: { id?: unknown; title?: unknown } | null;
  inventoryItem?: { id?: unknown; tracked?: unknown } | null;
}

/** The numeric id of a gid of this type (`gid://shopify/ProductVariant/123`), exact above 2^53. */
export function idOfGid(gid: unknown, type: string): ShopifyId | null {
  if (typeof gid !== 'string') return null;
  const match = new RegExp(`^gid://shopify/${type}/(\\d+)$`).exec(gid);
  return match && isShopifyId(match[1]) ? match[1] : null;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

function readVariant(node: VariantNode): ShopifyVariant {
  return {
    gid: text(node.id),
    variantId: idOfGid(node.id, 'ProductVariant'),
    productId: idOfGid(node.product?.id, 'Product'),
    productTitle: text(node.product?.title),
    variantTitle: text(node.title),
    sku: typeof node.sku === 'string' ? node.sku : null,
    price: typeof node.price === 'string' ? node.price : typeof node.price === 'number' ? String(node.price) : null,
    inventoryItemId: idOfGid(node.inventoryItem?.id, 'InventoryItem'),
    tracked: node.inventoryItem?.tracked === true,
  };
}

/** Every variant of the shop, page by page, through the client's rate budget (it waits on throttleStatus). */
export async function readShopifyCatalogue(
  shopify: ShopifyClient,
  pageSize: number,
  onPage?: (read: number) => void,
): Promise<{ variants: ShopifyVariant[]; pages: number }> {
  const variants: ShopifyVariant[] = [];
  let cursor: string | null = null;
  let pages = 0;
  for (;;) {
    const data = (await shopify.query(
      { query: CATALOGUE_QUERY, variables: { first: pageSize, cursor } },
      { logMeta: { operation: 'catalogue.read' } },
    )) as {
      productVariants?: { pageInfo?: { hasNextPage?: unknown; endCursor?: unknown }; nodes?: unknown };
    };
    const connection = data.productVariants;
    if (!connection || !Array.isArray(connection.nodes)) throw new Error('Shopify answered productVariants without nodes');
    pages += 1;
    for (const node of connection.nodes as VariantNode[]) variants.push(readVariant(node ?? {}));
    onPage?.(variants.length);
    const next = connection.pageInfo?.endCursor;
    if (connection.pageInfo?.hasNextPage !== true) break;
    if (typeof next !== 'string' || next === cursor)
      throw new Error(`Shopify said another page follows but gave no new cursor (after ${variants.length} variants)`);
    cursor = next;
  }
  return { variants, pages };
}

// ---- the WMS list ----

/** The WMS's availableQuantity of every SKU it holds. */
export async function readWmsStock(wms: WmsListClient, limit: number): Promise<{ stock: Map<string, number>; pages: number }> {
  const stock = new Map<string, number>();
  let cursor: string | null = null;
  let pages = 0;
  const seen = new Set<string>();
  do {
    const page = await wms.listInventory({ cursor, limit });
    pages += 1;
    // A SKU listed twice counts once, at its first figure (as the WMS sync reads the list).
    for (const item of page.items) if (!stock.has(item.sku)) stock.set(item.sku, item.availableQuantity);
    cursor = page.nextCursor;
    if (cursor !== null) {
      if (seen.has(cursor)) throw new Error(`the WMS list gave cursor ${cursor} twice: it would never end`);
      seen.add(cursor);
    }
  } while (cursor !== null);
  return { stock, pages };
}

// ---- the plan ----

/**
 * Why a variant is left out (docs/operations.md): decided here, where the whole catalogue and the
 * WMS list are known (`sku_taken` and `inventory_item_taken` are the data-api's, under its locks).
 */
export type SkipReason = 'no_sku' | 'duplicate_sku' | 'untracked' | 'unknown_to_wms' | 'invalid' | 'sku_taken' | 'inventory_item_taken';

export const SKIP_REASONS: Record<SkipReason, string> = {
  no_sku: 'no SKU in Shopify: the warehouse knows items by SKU',
  duplicate_sku: 'another variant of the catalogue has the same SKU',
  untracked: 'Shopify does not track its inventory',
  unknown_to_wms: 'the WMS does not list its SKU',
  invalid: 'Shopify or the WMS answered something this system cannot store',
  sku_taken: 'another variant of the database holds its SKU',
  inventory_item_taken: 'another variant of the database holds its inventory item',
};

export interface Skip {
  variantId: ShopifyId | null;
  gid: string;
  sku: string | null;
  reason: SkipReason;
  detail: string;
}

/** What the data-api takes for one variant (services/order-manage-data-api/src/routes/catalogue.ts). */
export interface PageVariant {
  variantId: ShopifyId;
  replacesVariantId: ShopifyId | null;
  productId: ShopifyId;
  sku: string;
  title: string;
  price: string;
  inventoryItemId: ShopifyId;
  available: number;
}

export interface KnownVariant {
  variantId: ShopifyId;
  sku: string;
  inventoryItemId: ShopifyId;
}

export interface Plan {
  skips: Skip[];
  pages: PageVariant[][];
  /** Variants of the database that Shopify's catalogue does not list (by id, nor taken over by SKU): left as they are. */
  notInCatalogue: number;
  products: number;
}

const MONEY = /^\d{1,10}(\.\d{1,2})?$/;
const DEFAULT_TITLE = 'Default Title';

/** The name a line item of the variant carries: "Product - Variant", or the product alone for its single default variant. */
export function titleOf(v: Pick<ShopifyVariant, 'productTitle' | 'variantTitle'>): string {
  const variant = v.variantTitle.trim() === DEFAULT_TITLE ? '' : v.variantTitle.trim();
  const product = v.productTitle.trim();
  const title = product && variant ? `${product} - ${variant}` : product || variant;
  return title.slice(0, ORDER_LIMITS.maxTitleLength);
}

function invalidity(v: ShopifyVariant): string | undefined {
  if (v.variantId === null) return `variant id ${JSON.stringify(v.gid)} is not a ProductVariant gid with a 64-bit id`;
  if (v.productId === null) return 'its product id is not a Product gid with a 64-bit id';
  if (v.inventoryItemId === null) return 'it has no inventory item with a 64-bit id';
  if (v.price === null || !MONEY.test(v.price))
    return `price ${JSON.stringify(v.price)} is not a decimal with at most 10 digits and 2 decimals`;
  if ((v.sku ?? '').length > ORDER_LIMITS.maxShortTextLength) return `its SKU is longer than ${ORDER_LIMITS.maxShortTextLength} characters`;
  if (/\p{Cc}/u.test(v.sku ?? '')) return 'its SKU holds a control character';
  if (!titleOf(v)) return 'it has no title';
  return undefined;
}

/** Smallest-id-first union-find over the catalogue's kept variants: variants whose rows trade a SKU or an item share a page. */
function groups(count: number, links: Array<[number, number]>): number[][] {
  const parent = Array.from({ length: count }, (_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  for (const [a, b] of links) {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < count; i++) {
    const root = find(i);
    const members = byRoot.get(root);
    if (members) members.push(i);
    else byRoot.set(root, [i]);
  }
  return [...byRoot.values()];
}

/**
 * Pure: the skips and the pages. A variant without a SKU, sharing its SKU with another variant of
 * the catalogue, untracked, unknown to the WMS or unreadable is skipped (the first reason that
 * applies). Each other variant is the database's row of its own id; else the row holding its SKU
 * when Shopify no longer lists that row's id (a variant re-created in Shopify keeps its ledger);
 * else new, with the WMS's figure as its stock. Variants whose rows trade SKUs or inventory items
 * go in one page, so its one transaction can swap them.
 */
export function planImport(
  catalogue: readonly ShopifyVariant[],
  wms: ReadonlyMap<string, number>,
  known: readonly KnownVariant[],
  pageSize: number,
): Plan {
  const skips: Skip[] = [];
  const skip = (v: ShopifyVariant, reason: SkipReason, detail: string) =>
    skips.push({ variantId: v.variantId, gid: v.gid, sku: v.sku, reason, detail });

  const skuCount = new Map<string, ShopifyVariant[]>();
  for (const v of catalogue) {
    const sku = v.sku?.trim();
    if (!sku) continue;
    const same = skuCount.get(v.sku!);
    if (same) same.push(v);
    else skuCount.set(v.sku!, [v]);
  }
  const catalogueIds = new Set(catalogue.flatMap((v) => (v.variantId ? [v.variantId] : [])));

  const kept: PageVariant[] = [];
  for (const v of catalogue) {
    const bad = invalidity(v);
    if (!v.sku?.trim()) skip(v, 'no_sku', SKIP_REASONS.no_sku);
    else if (skuCount.get(v.sku)!.length > 1) {
      const others = skuCount
        .get(v.sku)!
        .filter((o) => o !== v)
        .map((o) => o.variantId ?? o.gid);
      skip(v, 'duplicate_sku', `SKU ${v.sku} is also the SKU of variant ${others.join(', ')}`);
    } else if (!v.tracked) skip(v, 'untracked', SKIP_REASONS.untracked);
    else if (bad) skip(v, 'invalid', bad);
    else if (!wms.has(v.sku)) skip(v, 'unknown_to_wms', `the WMS does not list SKU ${v.sku}`);
    else if (wms.get(v.sku)! < 0) skip(v, 'invalid', `the WMS lists SKU ${v.sku} at ${wms.get(v.sku)}, below zero`);
    else {
      kept.push({
        variantId: v.variantId!,
        replacesVariantId: null,
        productId: v.productId!,
        sku: v.sku,
        title: titleOf(v),
        price: v.price!,
        inventoryItemId: v.inventoryItemId!,
        available: wms.get(v.sku)!,
      });
    }
  }
  kept.sort((a, b) => compareShopifyIds(a.variantId, b.variantId));

  const byId = new Map(known.map((k) => [k.variantId, k]));
  const bySku = new Map(known.map((k) => [k.sku, k]));
  const byItem = new Map(known.map((k) => [k.inventoryItemId, k]));
  /** Which kept variant each row of the database becomes. */
  const rowOwner = new Map<ShopifyId, number>();
  kept.forEach((v, i) => {
    let row = byId.get(v.variantId);
    if (!row) {
      const holder = bySku.get(v.sku);
      if (holder && !catalogueIds.has(holder.variantId)) {
        row = holder;
        v.replacesVariantId = holder.variantId;
      }
    }
    if (row) rowOwner.set(row.variantId, i);
  });
  const links: Array<[number, number]> = [];
  kept.forEach((v, i) => {
    for (const holder of [bySku.get(v.sku), byItem.get(v.inventoryItemId)]) {
      const owner = holder ? rowOwner.get(holder.variantId) : undefined;
      if (owner !== undefined && owner !== i) links.push([i, owner]);
    }
  });

  const pages: PageVariant[][] = [];
  let current: PageVariant[] = [];
  for (const group of groups(kept.length, links)) {
    if (current.length > 0 && current.length + group.length > pageSize) {
      pages.push(current);
      current = [];
    }
    current.push(...group.map((i) => kept[i]!));
  }
  if (current.length > 0) pages.push(current);

  const taken = new Set([...rowOwner.keys()]);
  const notInCatalogue = known.filter((k) => !catalogueIds.has(k.variantId) && !taken.has(k.variantId)).length;
  const products = new Set(catalogue.map((v) => v.productId ?? v.gid)).size;
  return { skips, pages, notInCatalogue, products };
}

// ---- the data-api ----

export interface FieldChange {
  field: 'variantId' | 'productId' | 'sku' | 'title' | 'price' | 'inventoryItemId';
  from: string;
  to: string;
}

export type VariantResult =
  | { variantId: ShopifyId; sku: string; outcome: 'added'; available: number; movementId: string | null }
  | { variantId: ShopifyId; sku: string; outcome: 'refreshed'; changes: FieldChange[] }
  | { variantId: ShopifyId; sku: string; outcome: 'unchanged' }
  | {
      variantId: ShopifyId;
      sku: string;
      outcome: 'skipped';
      reason: 'sku_taken' | 'inventory_item_taken';
      detail: string;
      heldBy: ShopifyId;
    };

export interface DataApiOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  /** Attempts for a 503, a timeout or a refused connection: the page is safe to send again (default 5). */
  attempts?: number;
}

export interface PageRequest {
  locationId: ShopifyId;
  currency: string;
  reference: string;
  dryRun: boolean;
  variants: PageVariant[];
}

/**
 * One page to `POST /internal/catalogue/variants`. Sending a page again is harmless (what it added
 * is then unchanged), so a 503 or a lost connection is retried, after the Retry-After it names.
 */
export async function sendPage(options: DataApiOptions, page: PageRequest): Promise<VariantResult[]> {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/internal/catalogue/variants`;
  const attempts = options.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    let failure: string;
    let waitMs = Math.min(10_000, 1_000 * 2 ** (attempt - 1));
    let answer;
    try {
      answer = await httpRequest(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(page),
        timeoutMs: options.timeoutMs,
      });
    } catch (err) {
      // No answer (refused, reset, timed out): the page may or may not be written; sending it again is safe.
      answer = undefined;
      failure = isTimeout(err)
        ? `no answer within ${options.timeoutMs} ms`
        : `cannot connect (${(err as { code?: string }).code ?? (err as Error).message})`;
    }
    if (answer?.status === 200) {
      const body = JSON.parse(answer.text) as { results?: VariantResult[] };
      if (!Array.isArray(body.results) || body.results.length !== page.variants.length)
        throw new Error('the data-api answered a page without a result per variant');
      return body.results;
    }
    if (answer) {
      if (answer.status !== 503)
        throw new Error(`POST /internal/catalogue/variants answered ${answer.status}: ${answer.text.slice(0, 500)}`);
      failure = `503: ${answer.text.slice(0, 200)}`;
      const retryAfter = Number(answer.headers['retry-after']);
      if (Number.isFinite(retryAfter) && retryAfter >= 0) waitMs = Math.max(waitMs, retryAfter * 1000);
    }
    if (attempt >= attempts) throw new Error(`POST /internal/catalogue/variants failed ${attempt} times, last: ${failure!}`);
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

/** Every variant the database holds (through the data-api's GET /internal/inventory). */
export async function readKnownVariants(stock: StockSource): Promise<KnownVariant[]> {
  const known: KnownVariant[] = [];
  for await (const page of stock.pages({ pageSize: 500 })) {
    for (const item of page) known.push({ variantId: item.variantId, sku: item.sku, inventoryItemId: item.inventoryItemId });
  }
  return known;
}

/**
 * Runs `step` again when the data-api could not be read (a restart, a deploy): every step of the
 * import is safe to repeat. Waits 2, 4, 6, 8 s between its 5 attempts.
 */
export async function whileDataApiComesBack<T>(step: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof StockUnavailableError) || attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 2_000 * attempt));
    }
  }
}

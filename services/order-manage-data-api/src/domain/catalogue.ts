/**
 * The catalogue import's rules for one page that need no database (docs/spec.md section 10): which row of
 * the inventory each variant of Shopify's catalogue is, what a refresh changes, and which variant
 * cannot be written because a row the page does not move holds its SKU or inventory item.
 */
import type { ShopifyId } from '@oms/common';

/** A variant of Shopify's catalogue as the import sends it: already past the tool's skips. */
export interface CatalogueVariantInput {
  variantId: ShopifyId;
  /**
   * The row this variant takes over when it is not known by its own id: the row holding its SKU whose
   * variant id Shopify no longer lists (a variant re-created in Shopify). Only the tool, which read
   * the whole catalogue, can tell; the page checks the row still holds the SKU.
   */
  replacesVariantId: ShopifyId | null;
  productId: ShopifyId;
  sku: string;
  title: string;
  /** Decimal string, at most 2 decimals. */
  price: string;
  inventoryItemId: ShopifyId;
  /** The WMS's availableQuantity: a new variant's stock. A known variant's stock is never touched. */
  available: number;
}

/** An inventory row as the page reads it under its lock. */
export interface InventoryRowView {
  variantId: ShopifyId;
  productId: ShopifyId;
  sku: string;
  title: string;
  /** numeric(12,2) as text: "24.90". */
  price: string;
  inventoryItemId: ShopifyId;
}

export type RefreshedField = 'variantId' | 'productId' | 'sku' | 'title' | 'price' | 'inventoryItemId';

export interface FieldChange {
  field: RefreshedField;
  from: string;
  to: string;
}

export type SkipReason = 'sku_taken' | 'inventory_item_taken';

export type PlannedVariant =
  | { outcome: 'added'; variant: CatalogueVariantInput }
  | { outcome: 'refreshed'; variant: CatalogueVariantInput; row: InventoryRowView; changes: FieldChange[] }
  | { outcome: 'unchanged'; variant: CatalogueVariantInput; row: InventoryRowView }
  | { outcome: 'skipped'; variant: CatalogueVariantInput; reason: SkipReason; detail: string; heldBy: ShopifyId };

/** "24.9", "024.90" and "24.90" are one price: the canonical numeric(12,2) text. */
export function canonicalPrice(price: string): string {
  const [whole = '0', fraction = ''] = price.split('.');
  return `${BigInt(whole)}.${fraction.padEnd(2, '0')}`;
}

function changesOf(row: InventoryRowView, v: CatalogueVariantInput): FieldChange[] {
  const wanted: Array<[RefreshedField, string, string]> = [
    ['variantId', row.variantId, v.variantId],
    ['productId', row.productId, v.productId],
    ['sku', row.sku, v.sku],
    ['title', row.title, v.title],
    ['price', canonicalPrice(row.price), canonicalPrice(v.price)],
    ['inventoryItemId', row.inventoryItemId, v.inventoryItemId],
  ];
  return wanted.filter(([, from, to]) => from !== to).map(([field, from, to]) => ({ field, from, to }));
}

/**
 * Pure: what the page does with each variant, given the rows it locked (every row holding one of the
 * page's variant ids, replaced ids, SKUs or inventory items).
 *
 * A variant is the row of its own id; else the row it replaces (still holding its SKU); else new.
 * Its SKU and inventory item must be free once the page is written: held by no row, by its own row,
 * or by a row this page moves to another value (a swap within the page). A variant whose SKU or
 * item stays with another row is skipped, naming that row; that may strand a variant that counted
 * on it moving, so the check runs until nothing changes.
 */
export function planPage(variants: readonly CatalogueVariantInput[], rows: readonly InventoryRowView[]): PlannedVariant[] {
  const byId = new Map(rows.map((r) => [r.variantId, r]));
  const bySku = new Map(rows.map((r) => [r.sku, r]));
  const byItem = new Map(rows.map((r) => [r.inventoryItemId, r]));
  const pageIds = new Set(variants.map((v) => v.variantId));

  const taken = new Set<InventoryRowView>();
  const targets = variants.map((v) => {
    let row = byId.get(v.variantId);
    if (!row && v.replacesVariantId !== null && !pageIds.has(v.replacesVariantId)) {
      const replaced = byId.get(v.replacesVariantId);
      if (replaced && replaced.sku === v.sku && !taken.has(replaced)) row = replaced;
    }
    if (row) taken.add(row);
    return row;
  });

  const skipped = new Map<number, { reason: SkipReason; detail: string; heldBy: ShopifyId }>();
  /** The rows the page moves (targets of variants not skipped): their old SKU and item are freed. */
  const moving = () => new Set(targets.filter((row, i): row is InventoryRowView => row !== undefined && !skipped.has(i)));
  for (let changed = true; changed;) {
    changed = false;
    const moved = moving();
    variants.forEach((v, i) => {
      if (skipped.has(i)) return;
      const own = targets[i];
      const skuHolder = bySku.get(v.sku);
      if (skuHolder && skuHolder !== own && !moved.has(skuHolder)) {
        skipped.set(i, {
          reason: 'sku_taken',
          detail: `SKU ${v.sku} belongs to variant ${skuHolder.variantId} in the database, which Shopify's catalogue does not list with it`,
          heldBy: skuHolder.variantId,
        });
        changed = true;
        return;
      }
      const itemHolder = byItem.get(v.inventoryItemId);
      if (itemHolder && itemHolder !== own && !moved.has(itemHolder)) {
        skipped.set(i, {
          reason: 'inventory_item_taken',
          detail: `inventory item ${v.inventoryItemId} belongs to variant ${itemHolder.variantId} in the database`,
          heldBy: itemHolder.variantId,
        });
        changed = true;
      }
    });
  }

  return variants.map((variant, i): PlannedVariant => {
    const skip = skipped.get(i);
    if (skip) return { outcome: 'skipped', variant, ...skip };
    const row = targets[i];
    if (!row) return { outcome: 'added', variant };
    const changes = changesOf(row, variant);
    return changes.length === 0 ? { outcome: 'unchanged', variant, row } : { outcome: 'refreshed', variant, row, changes };
  });
}

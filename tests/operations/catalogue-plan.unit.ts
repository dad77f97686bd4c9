import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idOfGid, planImport, type ShopifyVariant, titleOf } from '../../ops/catalogue-import.js';
import {
  canonicalPrice,
  type CatalogueVariantInput,
  type InventoryRowView,
  planPage,
} from '../../services/order-manage-data-api/src/domain/catalogue.js';

/** The catalogue import's rules that need no database (docs/spec.md section 10): the tool's plan and a page's. */

const variant = (n: number, over: Partial<ShopifyVariant> = {}): ShopifyVariant => ({
  gid: `gid://shopify/ProductVariant/${n}`,
  variantId: String(n),
  productId: '7000',
  productTitle: 'Shirt',
  variantTitle: `Size ${n}`,
  sku: `SKU-${n}`,
  price: '10.00',
  inventoryItemId: String(90_000 + n),
  tracked: true,
  ...over,
});

const wms = (...skus: string[]) => new Map(skus.map((s, i) => [s, 10 + i]));

describe('the tool: what it skips, which row each variant is, how it pages', () => {
  it('skips for the first reason that applies: no SKU, a SKU shared in the catalogue, untracked, unreadable, unknown to the WMS', () => {
    const plan = planImport(
      [
        variant(1, { sku: null }),
        variant(2, { sku: '   ' }),
        variant(3, { sku: 'TWIN', tracked: false }),
        variant(4, { sku: 'TWIN' }),
        variant(5, { tracked: false }),
        variant(6, { price: '1.999' }),
        variant(7),
        variant(8, { variantId: null, gid: 'gid://shopify/ProductVariant/abc' }),
        variant(9),
      ],
      wms('TWIN', 'SKU-5', 'SKU-6', 'SKU-8', 'SKU-9'),
      [],
      250,
    );
    assert.deepEqual(
      plan.skips.map((s) => [s.gid.split('/').at(-1), s.reason]),
      [
        ['1', 'no_sku'],
        ['2', 'no_sku'],
        ['3', 'duplicate_sku'],
        ['4', 'duplicate_sku'],
        ['5', 'untracked'],
        ['6', 'invalid'],
        ['7', 'unknown_to_wms'],
        ['abc', 'invalid'],
      ],
    );
    assert.deepEqual(
      plan.pages.flat().map((v) => [v.variantId, v.sku, v.available]),
      [['9', 'SKU-9', 14]],
    );
  });

  it('a variant re-created in Shopify takes over the row of its SKU only when Shopify no longer lists that row', () => {
    const known = [
      { variantId: '50', sku: 'SKU-1', inventoryItemId: '150' },
      { variantId: '2', sku: 'SKU-OLD', inventoryItemId: '90002' },
      { variantId: '60', sku: 'SKU-3', inventoryItemId: '160' },
    ];
    // Variant 3's SKU is held by row 60, which the catalogue still lists (under another SKU): no take-over.
    const plan = planImport(
      [variant(1), variant(2), variant(3), variant(60, { sku: 'SKU-60' })],
      wms('SKU-1', 'SKU-2', 'SKU-3', 'SKU-60'),
      known,
      250,
    );
    assert.deepEqual(
      plan.pages.flat().map((v) => [v.variantId, v.replacesVariantId]),
      [
        ['1', '50'],
        ['2', null],
        ['3', null],
        ['60', null],
      ],
    );
    assert.equal(plan.notInCatalogue, 0, 'row 50 is variant 1 now');
  });

  it('puts variants whose rows trade SKUs in one page, however small the pages', () => {
    const known = [
      { variantId: '1', sku: 'SKU-2', inventoryItemId: '90001' },
      { variantId: '2', sku: 'SKU-1', inventoryItemId: '90002' },
    ];
    const plan = planImport([variant(1), variant(2), variant(3), variant(4)], wms('SKU-1', 'SKU-2', 'SKU-3', 'SKU-4'), known, 1);
    assert.deepEqual(
      plan.pages.map((p) => p.map((v) => v.variantId)),
      [['1', '2'], ['3'], ['4']],
    );
  });

  it('names a variant as Shopify names its line item, reads ids exactly above 2^53', () => {
    assert.equal(titleOf({ productTitle: 'Mug', variantTitle: 'Default Title' }), 'Mug');
    assert.equal(titleOf({ productTitle: 'Shirt', variantTitle: 'Red / M' }), 'Shirt - Red / M');
    assert.equal(idOfGid('gid://shopify/ProductVariant/9007199254740993', 'ProductVariant'), '9007199254740993');
    assert.equal(idOfGid('gid://shopify/Product/9007199254740993', 'ProductVariant'), null);
    assert.equal(idOfGid('gid://shopify/ProductVariant/9223372036854775808', 'ProductVariant'), null, 'not below 2^63');
  });
});

const input = (id: string, sku: string, over: Partial<CatalogueVariantInput> = {}): CatalogueVariantInput => ({
  variantId: id,
  replacesVariantId: null,
  productId: '7000',
  sku,
  title: `T ${id}`,
  price: '10.00',
  inventoryItemId: `9${id}`,
  available: 5,
  ...over,
});
const row = (id: string, sku: string, over: Partial<InventoryRowView> = {}): InventoryRowView => ({
  variantId: id,
  productId: '7000',
  sku,
  title: `T ${id}`,
  price: '10.00',
  inventoryItemId: `9${id}`,
  ...over,
});

describe('a page: added, refreshed, unchanged or skipped, under the locks', () => {
  it('a row equal to the catalogue is unchanged (a price written another way too); a differing one is refreshed field by field', () => {
    const planned = planPage(
      [input('1', 'A', { price: '10.0' }), input('2', 'B', { title: 'New', price: '12.50' }), input('3', 'C')],
      [row('1', 'A'), row('2', 'B')],
    );
    assert.deepEqual(
      planned.map((p) => [p.variant.variantId, p.outcome, p.outcome === 'refreshed' ? p.changes : undefined]),
      [
        ['1', 'unchanged', undefined],
        [
          '2',
          'refreshed',
          [
            { field: 'title', from: 'T 2', to: 'New' },
            { field: 'price', from: '10.00', to: '12.50' },
          ],
        ],
        ['3', 'added', undefined],
      ],
    );
    assert.deepEqual(['0.5', '007.10', '12', '3.40'].map(canonicalPrice), ['0.50', '7.10', '12.00', '3.40']);
  });

  it('two rows trading SKUs are both refreshed; a SKU or item a row keeps is skipped, and so is a variant that counted on it moving', () => {
    const swap = planPage([input('1', 'B'), input('2', 'A')], [row('1', 'A'), row('2', 'B')]);
    assert.deepEqual(
      swap.map((p) => [p.variant.variantId, p.outcome]),
      [
        ['1', 'refreshed'],
        ['2', 'refreshed'],
      ],
    );

    // Row 9 (not in the page) keeps SKU X: variant 1 is skipped; row 1 then keeps SKU A, so variant 2 is skipped too.
    const stranded = planPage(
      [input('1', 'X'), input('2', 'A'), input('3', 'C', { inventoryItemId: '99' })],
      [row('1', 'A'), row('9', 'X')],
    );
    assert.deepEqual(
      stranded.map((p) => [p.variant.variantId, p.outcome, p.outcome === 'skipped' ? [p.reason, p.heldBy] : undefined]),
      [
        ['1', 'skipped', ['sku_taken', '9']],
        ['2', 'skipped', ['sku_taken', '1']],
        ['3', 'skipped', ['inventory_item_taken', '9']],
      ],
    );
  });

  it('takes over the row it replaces only while that row still holds its SKU', () => {
    const [taken] = planPage([input('2', 'A', { replacesVariantId: '1', title: 'T 1' })], [row('1', 'A')]);
    assert.equal(taken!.outcome, 'refreshed');
    assert.deepEqual(taken!.outcome === 'refreshed' && taken!.changes.map((c) => c.field), ['variantId', 'inventoryItemId']);
    const [moved] = planPage([input('2', 'A', { replacesVariantId: '1' })], [row('1', 'Z')]);
    assert.equal(moved!.outcome, 'added');
  });
});

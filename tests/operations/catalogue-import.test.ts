import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeDb, createTestProduct, type TestProduct } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { setShopifyLevels, shopifyAvailable, shopifyLevels } from '../support/shopify-stand-in.js';
import { stackEnv } from '../support/stack-env.js';
import {
  bigId,
  type CatalogueProductFixture,
  ledgerMismatches,
  putShopifyCatalogue,
  readLedger,
  readVariantEvents,
  readVariants,
  removeVariants,
  privateWmsKey,
  runCatalogue,
  stubWmsList,
} from './catalogue-support.js';

/**
 * `npm run catalogue -- import` through the running stack (docs/spec.md section 10): Shopify's catalogue
 * at the stand-in, the WMS list stubbed with this file's SKUs, the data-api writing the pages. One
 * shop, built once, imported dry, then for real, then again.
 */

const shop = () => stackEnv().SHOPIFY_LOCATION_ID;
/** Shopify's figure for every item before the import: never the system's. */
const SHOPIFY_BEFORE = 50;

interface Fixture {
  /** This run's mark in SKUs and titles. */
  tag: string;
  /** New variants of one product, ids above 2^53: one with stock at the WMS, one with none. */
  added: { productId: string; withStock: { id: string; sku: string; item: string }; empty: { id: string; sku: string; item: string } };
  /** Known by its id: the catalogue renames it, reprices it and moves it to another product. */
  renamed: TestProduct;
  renamedProductId: string;
  /** Known by its SKU only: deleted and re-created in Shopify, with a new variant id and inventory item. */
  recreated: TestProduct;
  recreatedAs: { id: string; item: string };
  /** A row of the database the catalogue lists untracked, under a new SKU: its old SKU stays its own. */
  untrackedRow: TestProduct;
  /** A row of the database Shopify no longer lists: its inventory item stays its own. */
  goneRow: TestProduct;
  skipped: { noSku: { id: string; sku: null; item: string } } & Record<
    'duplicateA' | 'duplicateB' | 'unknownToWms' | 'invalidPrice' | 'skuTaken' | 'itemTaken',
    { id: string; sku: string; item: string }
  >;
}

let fixture: Fixture;
/** The WMS list stub answers this key only: the import runs with it, nobody else sees the stub. */
const wmsKey = privateWmsKey();
const importing = (...args: string[]) => runCatalogue(['import', ...args], { env: { WMS_API_KEY: wmsKey } });
const cleanups: Array<() => Promise<void>> = [];

function newVariant(sku: string): { id: string; sku: string; item: string };
function newVariant(sku: null): { id: string; sku: null; item: string };
function newVariant(sku: string | null) {
  return { id: bigId(), sku, item: bigId() };
}

async function buildShop(): Promise<Fixture> {
  const location = Number(shop());
  const renamed = await createTestProduct({ availableQuantity: 5, locationId: location, price: '10.00' });
  const recreated = await createTestProduct({ availableQuantity: 9, locationId: location });
  const untrackedRow = await createTestProduct({ availableQuantity: 4, locationId: location });
  const goneRow = await createTestProduct({ availableQuantity: 2, locationId: location });
  const tag = bigId().slice(-8);
  const f: Fixture = {
    tag,
    added: { productId: bigId(), withStock: newVariant(`CAT-${tag}-A`), empty: newVariant(`CAT-${tag}-B`) },
    renamed,
    renamedProductId: bigId(),
    recreated,
    recreatedAs: { id: bigId(), item: bigId() },
    untrackedRow,
    goneRow,
    skipped: {
      noSku: newVariant(null),
      duplicateA: newVariant(`CAT-${tag}-DUP`),
      duplicateB: newVariant(`CAT-${tag}-DUP`),
      unknownToWms: newVariant(`CAT-${tag}-NOWMS`),
      invalidPrice: newVariant(`CAT-${tag}-PRICE`),
      // The SKU the untracked row still holds in the database.
      skuTaken: newVariant(untrackedRow.sku),
      itemTaken: { id: bigId(), sku: `CAT-${tag}-ITEM`, item: String(goneRow.inventoryItemId) },
    },
  };
  const s = f.skipped;
  const catalogue: CatalogueProductFixture[] = [
    {
      id: f.added.productId,
      title: `Catalogue test jacket ${tag}`,
      variants: [
        {
          id: f.added.withStock.id,
          sku: f.added.withStock.sku,
          price: '129.90',
          title: 'Red / M',
          inventoryItemId: f.added.withStock.item,
        },
        { id: f.added.empty.id, sku: f.added.empty.sku, price: '129.90', title: 'Red / L', inventoryItemId: f.added.empty.item },
      ],
    },
    {
      id: f.renamedProductId,
      title: `Catalogue test shirt ${tag}`,
      variants: [
        {
          id: String(renamed.variantId),
          sku: renamed.sku,
          price: '12.50',
          title: 'Blue',
          inventoryItemId: String(renamed.inventoryItemId),
        },
      ],
    },
    {
      id: String(recreated.productId),
      title: recreated.title,
      variants: [
        { id: f.recreatedAs.id, sku: recreated.sku, price: recreated.price, title: 'Default Title', inventoryItemId: f.recreatedAs.item },
      ],
    },
    {
      id: String(untrackedRow.productId),
      title: untrackedRow.title,
      variants: [
        {
          id: String(untrackedRow.variantId),
          sku: `${untrackedRow.sku}-NEW`,
          price: '10.00',
          inventoryItemId: String(untrackedRow.inventoryItemId),
          tracked: false,
        },
      ],
    },
    {
      id: bigId(),
      title: `Catalogue test oddities ${tag}`,
      variants: [
        { id: s.noSku.id, sku: null, price: '5.00', title: 'No SKU', inventoryItemId: s.noSku.item },
        { id: s.duplicateA.id, sku: s.duplicateA.sku, price: '5.00', title: 'Twin A', inventoryItemId: s.duplicateA.item },
        { id: s.duplicateB.id, sku: s.duplicateB.sku, price: '5.00', title: 'Twin B', inventoryItemId: s.duplicateB.item },
        {
          id: s.unknownToWms.id,
          sku: s.unknownToWms.sku,
          price: '5.00',
          title: 'Not in the warehouse',
          inventoryItemId: s.unknownToWms.item,
        },
        { id: s.invalidPrice.id, sku: s.invalidPrice.sku, price: '5.005', title: 'Three decimals', inventoryItemId: s.invalidPrice.item },
        { id: s.skuTaken.id, sku: s.skuTaken.sku, price: '5.00', title: 'Old SKU', inventoryItemId: s.skuTaken.item },
        { id: s.itemTaken.id, sku: s.itemTaken.sku, price: '5.00', title: 'Old item', inventoryItemId: s.itemTaken.item },
      ],
    },
  ];
  await putShopifyCatalogue(catalogue);
  const inWms: string[] = [
    f.added.withStock.sku,
    f.added.empty.sku,
    renamed.sku,
    recreated.sku,
    untrackedRow.sku,
    `${untrackedRow.sku}-NEW`,
    goneRow.sku,
  ];
  const figures: Record<string, number> = { [f.added.withStock.sku]: 7, [f.added.empty.sku]: 0 };
  const wms = [...inWms, s.duplicateA.sku, s.invalidPrice.sku, s.itemTaken.sku].map((sku) => ({
    sku,
    availableQuantity: figures[sku] ?? 30,
  }));
  // Two pages, to prove the import follows the WMS list's cursor.
  cleanups.push(await stubWmsList(wms, { apiKey: wmsKey, pageSize: 6 }));
  // Shopify's own figures, never the system's: the import must not take them for its own.
  const items = [
    f.added.withStock.item,
    f.added.empty.item,
    f.recreatedAs.item,
    ...Object.values(s)
      .map((v) => v.item)
      .filter((i) => i !== String(goneRow.inventoryItemId)),
  ];
  await setShopifyLevels(items.map((inventoryItemId) => ({ inventoryItemId, locationId: shop(), available: SHOPIFY_BEFORE })));
  cleanups.push(() =>
    removeVariants([
      f.added.withStock.id,
      f.added.empty.id,
      String(renamed.variantId),
      f.recreatedAs.id,
      String(recreated.variantId),
      String(untrackedRow.variantId),
      String(goneRow.variantId),
      ...Object.values(s).map((v) => v.id),
    ]),
  );
  return f;
}

const ours = (f: Fixture) => [
  f.added.withStock.id,
  f.added.empty.id,
  String(f.renamed.variantId),
  f.recreatedAs.id,
  String(f.recreated.variantId),
];

function assertSkipLines(stdout: string, f: Fixture): void {
  const s = f.skipped;
  const line = (id: string, rest: string) => assert.match(stdout, new RegExp(`^skipped {4}variant ${id} ${rest}`, 'm'));
  line(s.noSku.id, '\\(no SKU\\): no_sku ');
  line(s.duplicateA.id, `${s.duplicateA.sku}: duplicate_sku .*also the SKU of variant ${s.duplicateB.id}`);
  line(s.duplicateB.id, `${s.duplicateB.sku}: duplicate_sku .*also the SKU of variant ${s.duplicateA.id}`);
  line(String(f.untrackedRow.variantId), `${f.untrackedRow.sku}-NEW: untracked \\(Shopify does not track its inventory\\)`);
  line(s.unknownToWms.id, `${s.unknownToWms.sku}: unknown_to_wms .*the WMS does not list SKU ${s.unknownToWms.sku}`);
  line(s.invalidPrice.id, `${s.invalidPrice.sku}: invalid .*price "5.005"`);
  line(s.skuTaken.id, `${s.skuTaken.sku}: sku_taken .*belongs to variant ${f.untrackedRow.variantId} in the database`);
  line(
    s.itemTaken.id,
    `${s.itemTaken.sku}: inventory_item_taken .*inventory item ${s.itemTaken.item} belongs to variant ${f.goneRow.variantId}`,
  );
  assert.match(
    stdout,
    /skipped \(no_sku 1, duplicate_sku 2, untracked 1, unknown_to_wms 1, invalid 1, sku_taken 1, inventory_item_taken 1\)/,
  );
}

before(async () => {
  fixture = await buildShop();
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await putShopifyCatalogue([]).catch(() => undefined);
  await closeDb();
});

describe('npm run catalogue -- import fills the inventory from Shopify and the WMS (docs/spec.md section 10)', () => {
  it('--dry-run reports what it would add, refresh and skip, and writes nothing, neither to the database nor to Shopify', async () => {
    const f = fixture;
    const rowsBefore = await readVariants(ours(f));
    const ledgerBefore = await readLedger(ours(f));

    const run = await importing('--dry-run');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^catalogue import --dry-run \(nothing is written\)/);
    assert.match(
      run.stdout,
      new RegExp(`^added {6}variant ${f.added.withStock.id} ${f.added.withStock.sku}: 7 in stock from the WMS$`, 'm'),
    );
    assert.match(run.stdout, new RegExp(`^added {6}variant ${f.added.empty.id} ${f.added.empty.sku}: 0 in stock from the WMS$`, 'm'));
    assert.match(run.stdout, new RegExp(`^refreshed {2}variant ${f.renamed.variantId} ${f.renamed.sku}: productId`, 'm'));
    assert.match(
      run.stdout,
      new RegExp(
        `^refreshed {2}variant ${f.recreatedAs.id} ${f.recreated.sku}: variantId "${f.recreated.variantId}" → "${f.recreatedAs.id}"`,
        'm',
      ),
    );
    assertSkipLines(run.stdout, f);
    assert.match(run.stdout, /^2 added, 2 refreshed, 0 unchanged, 8 skipped .*\(dry run: nothing written\)$/m);

    assert.deepEqual(await readVariants(ours(f)), rowsBefore, 'no row added or changed, not even updated_at');
    assert.deepEqual(await readLedger(ours(f)), ledgerBefore, 'no movement');
    for (const item of [f.added.withStock.item, f.added.empty.item, f.recreatedAs.item]) {
      assert.deepEqual(
        (await shopifyLevels(item)).map((l) => l.history.map((h) => h.cause)),
        [['seed']],
        `Shopify's level of item ${item} untouched`,
      );
    }
  });

  it('adds new variants with their WMS stock as one import movement each, refreshes known ones without touching their stock, and brings Shopify to the database', async () => {
    const f = fixture;
    const recreatedLedger = await readLedger([String(f.recreated.variantId)]);
    const renamedLedger = await readLedger([String(f.renamed.variantId)]);

    const run = await importing();
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^2 added, 2 refreshed, 0 unchanged, 8 skipped /m);
    assertSkipLines(run.stdout, f);

    const rows = await readVariants([...ours(f), String(f.untrackedRow.variantId), String(f.goneRow.variantId)]);
    const withStock = rows.get(f.added.withStock.id);
    assert.deepEqual(
      withStock && { ...withStock, updatedAt: undefined },
      {
        variantId: f.added.withStock.id,
        productId: f.added.productId,
        sku: f.added.withStock.sku,
        title: `Catalogue test jacket ${f.tag} - Red / M`,
        price: '129.90',
        currency: 'USD',
        inventoryItemId: f.added.withStock.item,
        locationId: shop(),
        availableQuantity: 7,
        version: 1,
        updatedAt: undefined,
      },
      'ids kept exactly above 2^53, the title as Shopify names the line item, the warehouse location',
    );
    assert.deepEqual(
      (await readLedger([f.added.withStock.id])).map((m) => [m.delta, m.reason, m.idempotencyKey]),
      [[7, 'import', `import:${f.added.withStock.id}`]],
    );
    const empty = rows.get(f.added.empty.id);
    assert.deepEqual([empty?.availableQuantity, empty?.version], [0, 0], 'a variant the WMS holds none of is added at 0');
    assert.deepEqual(await readLedger([f.added.empty.id]), [], 'no movement of 0');

    const [event] = await readVariantEvents([f.added.withStock.id]);
    assert.equal(event?.reason, 'import');
    assert.equal(event?.shopifyKnows, false);
    assert.equal(event?.orderId, null);
    assert.equal(event?.variantId, f.added.withStock.id);
    assert.equal(event?.productId, f.added.productId);
    assert.equal(event?.inventoryItemId, f.added.withStock.item);
    assert.equal(event?.locationId, shop());
    assert.equal(event?.delta, 7);
    assert.equal(event?.availableAfter, 7);

    const renamed = rows.get(String(f.renamed.variantId));
    assert.deepEqual(renamed && [renamed.productId, renamed.title, renamed.price, renamed.availableQuantity], [
      f.renamedProductId,
      `Catalogue test shirt ${f.tag} - Blue`,
      '12.50',
      5,
    ]);
    assert.deepEqual(await readLedger([String(f.renamed.variantId)]), renamedLedger, 'a refresh moves no stock');

    assert.equal(rows.get(String(f.recreated.variantId)), undefined, 'the re-created variant is no longer under its old id');
    const recreated = rows.get(f.recreatedAs.id);
    assert.deepEqual(recreated && [recreated.sku, recreated.inventoryItemId, recreated.availableQuantity], [
      f.recreated.sku,
      f.recreatedAs.item,
      9,
    ]);
    assert.deepEqual(
      (await readLedger([f.recreatedAs.id])).map((m) => [m.id, m.delta, m.reason]),
      recreatedLedger.map((m) => [m.id, m.delta, m.reason]),
      'its ledger follows it to the new id',
    );
    const untracked = rows.get(String(f.untrackedRow.variantId));
    assert.equal(untracked?.sku, f.untrackedRow.sku, 'a skipped variant is not refreshed');
    assert.deepEqual(await ledgerMismatches([...ours(f), String(f.untrackedRow.variantId)]), []);

    // Shopify ends at the database's figure: through the import event's compare-and-set for the one with stock,
    // through the import's own compare-and-set for the one added at 0 and for the re-created variant's new item.
    for (const [item, figure] of [
      [f.added.withStock.item, 7],
      [f.added.empty.item, 0],
      [f.recreatedAs.item, 9],
    ] as const) {
      await eventually(async () => assert.equal(await shopifyAvailable(item, shop()), figure, `item ${item}`), 60_000, 250);
      const [level] = await shopifyLevels(item);
      assert.deepEqual(
        level?.history.map((h) => [h.cause, h.available]),
        [
          ['seed', SHOPIFY_BEFORE],
          ['set', figure],
        ],
      );
    }
    assert.equal(
      await shopifyAvailable(f.skipped.unknownToWms.item, shop()),
      SHOPIFY_BEFORE,
      'a skipped variant is not touched at Shopify',
    );
  });

  it('a second run changes nothing: no movement, no event, not even updated_at', async () => {
    const f = fixture;
    const ids = ours(f).filter((id) => id !== String(f.recreated.variantId));
    const rowsBefore = await readVariants(ids);
    const ledgerBefore = await readLedger(ids);
    const eventsBefore = await readVariantEvents(ids);

    const run = await importing();
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^0 added, 0 refreshed, 4 unchanged, 8 skipped /m);
    assert.doesNotMatch(run.stdout, /^(added|refreshed|shopify) /m);
    assertSkipLines(run.stdout, f);
    assert.deepEqual(await readVariants(ids), rowsBefore);
    assert.deepEqual(await readLedger(ids), ledgerBefore);
    assert.equal((await readVariantEvents(ids)).length, eventsBefore.length);
  });

  it('two variants that trade SKUs in Shopify trade them in the database, each keeping its stock and its ledger', async () => {
    const location = Number(shop());
    const [a, b] = [
      await createTestProduct({ availableQuantity: 3, locationId: location }),
      await createTestProduct({ availableQuantity: 8, locationId: location }),
    ];
    const ids = [String(a.variantId), String(b.variantId)];
    cleanups.push(() => removeVariants(ids));
    const ledger = await readLedger(ids);
    const as = (v: TestProduct, sku: string): CatalogueProductFixture => ({
      id: String(v.productId),
      title: v.title,
      variants: [{ id: String(v.variantId), sku, price: v.price, title: 'Default Title', inventoryItemId: String(v.inventoryItemId) }],
    });
    await putShopifyCatalogue([as(a, b.sku), as(b, a.sku)]);
    const key = privateWmsKey();
    cleanups.push(
      await stubWmsList(
        [a, b].map((v) => ({ sku: v.sku, availableQuantity: 1 })),
        { apiKey: key },
      ),
    );

    const run = await runCatalogue(['import'], { env: { WMS_API_KEY: key } });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, new RegExp(`^refreshed {2}variant ${a.variantId} ${b.sku}: sku "${a.sku}" → "${b.sku}"$`, 'm'));
    assert.match(run.stdout, new RegExp(`^refreshed {2}variant ${b.variantId} ${a.sku}: sku "${b.sku}" → "${a.sku}"$`, 'm'));
    assert.match(run.stdout, /^0 added, 2 refreshed, 0 unchanged, 0 skipped;/m);
    const rows = await readVariants(ids);
    assert.deepEqual(
      ids.map((id) => [rows.get(id)?.sku, rows.get(id)?.availableQuantity]),
      [
        [b.sku, 3],
        [a.sku, 8],
      ],
    );
    assert.deepEqual(await readLedger(ids), ledger, 'no movement');
  });
});

/**
 * `npm run stock` through the running stack (docs/spec.md sections 8, 10), as the person on call runs it:
 * `adjust` calls the adjustments endpoint and says what happened; `sync-wms` reads the WMS list (a
 * stub of the test's own, answered only to its own key, listing only its own SKUs) and brings each
 * differing variant to the WMS's figure with one `wms_sync` movement, which Shopify then follows.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { closeDb, createTestProduct, dbPool, readInventory, readMovements, type TestProduct } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { removeShopifyRequests, shopifyRequests } from '../support/shopify.js';
import { shopifyAvailable, shopifyLevels } from '../support/shopify-stand-in.js';
import { outboxEventsOf, runStock, stubWmsList, wmsListRequests } from './stock-support.js';

after(closeDb);

async function variant(t: { after: (fn: () => Promise<void>) => void }, availableQuantity: number): Promise<TestProduct> {
  const v = await createTestProduct({ availableQuantity });
  t.after(() => removeShopifyRequests([v.inventoryItemId]));
  return v;
}

const ledger = async (v: TestProduct) => (await readMovements(v.variantId)).map((m) => [m.reason, m.delta]);

describe('npm run stock -- adjust: one adjustment through the API', () => {
  it('adjusts a SKU and prints the movement; the same key again prints that it was already done and changes nothing', async (t) => {
    const v = await variant(t, 10);
    const key = `test-cli-${randomUUID()}`;
    const args = ['adjust', '--sku', v.sku, '--delta', '5', '--reason', 'restock', '--key', key];

    const run = await runStock(args);
    assert.equal(run.code, 0, run.stderr);
    const [movement] = (await readMovements(v.variantId)).slice(1);
    assert.match(
      run.stdout,
      new RegExp(
        `^adjusted  variant ${v.variantId} ${v.sku}: \\+5 restock → available 15 \\(movement ${movement!.id}, key ${key}\\)$`,
        'm',
      ),
    );
    assert.match(run.stdout, /Shopify follows through the stream/);
    assert.deepEqual(await ledger(v), [
      ['import', 10],
      ['restock', 5],
    ]);
    await eventually(async () => assert.equal(await shopifyAvailable(v.inventoryItemId, v.locationId), 15));

    const again = await runStock(args);
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stdout,
      new RegExp(
        `^already done  variant ${v.variantId} ${v.sku}: \\+5 restock → available 15 \\(movement ${movement!.id}, key ${key}\\); .*nothing changed now$`,
        'm',
      ),
    );
    assert.deepEqual(await ledger(v), [
      ['import', 10],
      ['restock', 5],
    ]);
  });

  it('sets a count with --set and says so when the figure is already right', async (t) => {
    const v = await variant(t, 10);
    const set = await runStock(['adjust', '--sku', v.sku, '--set', '7', '--reason', 'correction', '--key', `test-cli-${randomUUID()}`]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, new RegExp(`^adjusted  variant ${v.variantId} ${v.sku}: -3 correction → available 7 `, 'm'));

    const same = await runStock(['adjust', '--sku', v.sku, '--set=7', '--reason', 'correction', '--key', `test-cli-${randomUUID()}`]);
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, new RegExp(`^unchanged  variant ${v.variantId} ${v.sku} already holds 7: nothing written`, 'm'));
    assert.deepEqual(await ledger(v), [
      ['import', 10],
      ['correction', -3],
    ]);
  });

  it('exits 1 with the reason when the API refuses: a reused key, less than zero, an unknown SKU', async (t) => {
    const v = await variant(t, 3);
    const key = `test-cli-${randomUUID()}`;
    assert.equal((await runStock(['adjust', '--sku', v.sku, '--delta', '2', '--reason', 'restock', '--key', key])).code, 0);

    const reused = await runStock(['adjust', '--sku', v.sku, '--delta', '3', '--reason', 'restock', '--key', key]);
    assert.equal(reused.code, 1);
    assert.match(reused.stderr, /refused {2}409 IDEMPOTENCY_KEY_REUSED: /);
    assert.match(reused.stderr, /pick a new key/);

    const short = await runStock([
      'adjust',
      '--sku',
      v.sku,
      '--delta',
      '-6',
      '--reason',
      'correction',
      '--key',
      `test-cli-${randomUUID()}`,
    ]);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /refused {2}422 INSUFFICIENT_INVENTORY: /);
    assert.match(short.stderr, new RegExp(`variant ${v.variantId} ${v.sku}: holds 5, asked to take 6`));

    const unknown = await runStock([
      'adjust',
      '--sku',
      `NO-SUCH-${randomUUID()}`,
      '--delta',
      '1',
      '--reason',
      'restock',
      '--key',
      `test-cli-${randomUUID()}`,
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /refused {2}404 VARIANT_NOT_FOUND: /);
    assert.deepEqual(await ledger(v), [
      ['import', 3],
      ['restock', 2],
    ]);
  });

  it('exits 64 with a usage message, calling nothing, for a mistake on the command line', async (t) => {
    const v = await variant(t, 3);
    const cases: Array<[string[], RegExp]> = [
      [['adjust', '--delta', '1', '--reason', 'restock', '--key', 'k'], /exactly one of --sku or --variant/],
      [['adjust', '--sku', v.sku, '--reason', 'restock', '--key', 'k'], /exactly one of --delta or --set/],
      [['adjust', '--sku', v.sku, '--delta', '1', '--set', '2', '--reason', 'restock', '--key', 'k'], /exactly one of --delta or --set/],
      [['adjust', '--sku', v.sku, '--delta', 'five', '--reason', 'restock', '--key', 'k'], /--delta five: must be a whole number/],
      [['adjust', '--sku', v.sku, '--delta', '0', '--reason', 'restock', '--key', 'k'], /--delta 0 changes nothing/],
      [['adjust', '--sku', v.sku, '--set', '-1', '--reason', 'restock', '--key', 'k'], /--set must be 0 or more/],
      [['adjust', '--sku', v.sku, '--delta', '1', '--reason', 'sale', '--key', 'k'], /--reason must be restock .* or correction/],
      [['adjust', '--sku', v.sku, '--delta', '1', '--reason', 'restock'], /--key is required/],
      [['adjust', '--sku', v.sku, '--delta', '1', '--reason', 'restock', '--key', 'k', '--force'], /unknown option --force/],
      [['restock'], /unknown command "restock"/],
    ];
    for (const [args, message] of cases) {
      const run = await runStock(args);
      assert.equal(run.code, 64, args.join(' '));
      assert.match(run.stderr, message, args.join(' '));
      assert.match(run.stderr, /usage: npm run stock -- adjust/);
    }
    assert.deepEqual(await ledger(v), [['import', 3]]);
  });
});

describe('npm run stock -- sync-wms: every variant to the WMS figure as wms_sync movements', () => {
  it('--dry-run prints the differences, unknown SKUs and unlisted variants and writes nothing; a real run writes one wms_sync movement per differing variant and Shopify follows', async (t) => {
    const up = await variant(t, 10);
    const down = await variant(t, 10);
    const equal = await variant(t, 5);
    const absent = await variant(t, 8);
    const unknownSku = `TEST-NOT-IN-INVENTORY-${randomUUID()}`;
    // Two pages: the command follows nextCursor.
    const wms = await stubWmsList([
      [
        { sku: up.sku, availableQuantity: 14 },
        { sku: unknownSku, availableQuantity: 30 },
      ],
      [
        { sku: down.sku, availableQuantity: 7 },
        { sku: equal.sku, availableQuantity: 5 },
      ],
    ]);
    t.after(() => wms.remove());
    const asTheWms = { WMS_API_KEY: wms.key };
    const before = { up: await ledger(up), down: await ledger(down), events: (await outboxEventsOf(up.variantId)).length };

    const dry = await runStock(['sync-wms', '--dry-run', '--page-size', '2'], asTheWms);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^sync-wms --dry-run \(nothing is written\)/m);
    assert.match(dry.stdout, new RegExp(`^would set  variant ${up.variantId} ${up.sku}: ours 10, WMS 14 \\(\\+4\\)$`, 'm'));
    assert.match(dry.stdout, new RegExp(`^would set  variant ${down.variantId} ${down.sku}: ours 10, WMS 7 \\(-3\\)$`, 'm'));
    assert.doesNotMatch(dry.stdout, new RegExp(equal.sku));
    assert.match(dry.stdout, new RegExp(`^unknown    SKU ${unknownSku}: the WMS lists it, the inventory does not hold it`, 'm'));
    assert.match(
      dry.stdout,
      /^4 listed by the WMS in 2 page\(s\): 2 differ \(nothing written\), 1 already equal, 1 unknown SKU\(s\), \d+ variant\(s\) not listed/m,
    );
    assert.deepEqual(await wmsListRequests(wms.key), ['/api/v1/inventory?limit=2', '/api/v1/inventory?cursor=page-2&limit=2']);
    assert.deepEqual({ up: await ledger(up), down: await ledger(down), events: (await outboxEventsOf(up.variantId)).length }, before);

    const real = await runStock(['sync-wms'], asTheWms);
    assert.equal(real.code, 0, real.stderr);
    const runId = /\(run (wms-[^)]+)\)/.exec(real.stdout)?.[1];
    assert.ok(runId, real.stdout);
    const [upMove] = (await readMovements(up.variantId)).slice(1);
    const [downMove] = (await readMovements(down.variantId)).slice(1);
    assert.match(
      real.stdout,
      new RegExp(`^set        variant ${up.variantId} ${up.sku}: 10 → 14 \\(\\+4\\), movement ${upMove!.id}$`, 'm'),
    );
    assert.match(
      real.stdout,
      new RegExp(`^set        variant ${down.variantId} ${down.sku}: 10 → 7 \\(-3\\), movement ${downMove!.id}$`, 'm'),
    );
    assert.match(real.stdout, /: 2 brought to the WMS figure, 1 already equal, 1 unknown SKU\(s\)/);
    assert.deepEqual(
      [upMove, downMove].map((m) => [m!.reason, m!.delta, m!.reference, m!.idempotencyKey, m!.availableAfter]),
      [
        ['wms_sync', 4, runId, `wms_sync:${runId}:${up.variantId}`, 14],
        ['wms_sync', -3, runId, `wms_sync:${runId}:${down.variantId}`, 7],
      ],
    );
    assert.deepEqual(await ledger(equal), [['import', 5]], 'already equal: no movement');
    assert.deepEqual(await ledger(absent), [['import', 8]], 'not listed by the WMS: left alone');
    const { rows } = await dbPool().query('SELECT 1 FROM inventory WHERE sku = $1', [unknownSku]);
    assert.equal(rows.length, 0, 'an unknown SKU is reported, never inserted');
    const [event] = (await outboxEventsOf(up.variantId)).slice(-1);
    assert.deepEqual(
      [event!.reason, event!.delta, event!.reference, event!.shopifyKnows, event!.orderId],
      ['wms_sync', 4, runId, false, null],
    );

    await eventually(async () => {
      assert.equal(await shopifyAvailable(up.inventoryItemId, up.locationId), 14);
      assert.equal(await shopifyAvailable(down.inventoryItemId, down.locationId), 7);
    });
    const [upLevel] = await shopifyLevels(up.inventoryItemId);
    assert.deepEqual(
      upLevel!.history.map((h) => [h.cause, h.available]),
      [
        ['seed', 10],
        ['adjust', 14],
      ],
    );
    assert.deepEqual(
      await shopifyRequests([equal.inventoryItemId, absent.inventoryItemId]),
      [],
      'Shopify is not called for variants that did not move',
    );

    const rerun = await runStock(['sync-wms'], asTheWms);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(rerun.stdout, /: 0 brought to the WMS figure, 3 already equal, 1 unknown SKU\(s\)/);
    assert.equal((await readInventory(up.variantId))?.availableQuantity, 14);
    assert.equal((await readMovements(up.variantId)).length, 2, 'a second run finds nothing to change');
  });

  it('exits 1 naming the failure when the WMS list cannot be read, and writes nothing', async (t) => {
    const v = await variant(t, 4);
    // A WMS that does not answer: a port nothing listens on.
    const run = await runStock(['sync-wms'], { WMS_BASE_URL: 'http://127.0.0.1:9', WMS_TIMEOUT_MS: '500' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^stock failed: WMS list page \(first\) failed 3 attempts: cannot connect/m);
    assert.deepEqual(await ledger(v), [['import', 4]]);
  });
});

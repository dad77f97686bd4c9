import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { DEMO_CATALOGUE, DEMO_LOCATION_ID } from '../../db/catalogue.js';
import { REPO_ROOT } from '../support/stack-env.js';

it("the README's catalogue table lists every demo variant with its product, SKU, price, stock and inventory item", () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const rows = readme.split('\n').filter((l) => /^\| \d{14} \|/.test(l));
  assert.equal(rows.length, DEMO_CATALOGUE.length, 'one row per variant');
  for (const v of DEMO_CATALOGUE) {
    const row = rows.find((r) => r.startsWith(`| ${v.variantId} |`));
    assert.ok(row, `a row for ${v.sku}`);
    const cells = row.split('|').map((c) => c.trim());
    assert.deepEqual(cells.slice(1, 8), [
      String(v.variantId),
      String(v.productId),
      `\`${v.sku}\``,
      v.title,
      v.price,
      String(v.availableQuantity),
      String(v.inventoryItemId),
    ]);
  }
  assert.match(readme, new RegExp(`Shopify location\\s+\`${DEMO_LOCATION_ID}\``), 'the README names the demo location');
});

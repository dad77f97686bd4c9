import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { DEMO_CATALOGUE } from '../../db/catalogue.js';
import { REPO_ROOT } from '../support/stack-env.js';

it("the README's catalogue table lists every demo product with its price and stock", () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const rows = readme.split('\n').filter((l) => /^\| \d{13} \|/.test(l));
  assert.equal(rows.length, DEMO_CATALOGUE.length);
  for (const p of DEMO_CATALOGUE) {
    const row = rows.find((r) => r.startsWith(`| ${p.productId} |`));
    assert.ok(row, `a row for ${p.sku}`);
    const cells = row.split('|').map((c) => c.trim());
    assert.deepEqual(cells.slice(1, 7), [String(p.productId), `\`${p.sku}\``, p.title, p.price, String(p.availableQuantity), String(p.inventoryItemId)]);
  }
});

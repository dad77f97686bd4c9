/**
 * `npm run order -- send [file]` (docs/spec.md 8, README "First order") against the running stack:
 * the demo order is accepted with new ids on every run and its printed command shows its trail
 * through every service's log; a file is sent byte for byte (ids above 2^53 arrive exact), with new
 * delivery ids each time. The demo catalogue's stock the demo orders take is put back afterwards
 * through the adjustment API, so that the database and Shopify stay as the test found them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { closeDb, dbPool, readMovements, readOrderDetails } from '../support/db.js';
import { eventually } from '../support/eventually.js';
import { setShopifyLevels } from '../support/shopify-stand-in.js';
import { REPO_ROOT, stackEnv, stackLogsDir } from '../support/stack-env.js';
import { stubWmsInventory } from '../support/wiremock.js';
import { runCommand } from './command.js';

after(closeDb);

const TSHIRT_S = '45123456790001';
const TSHIRT_M = '45123456790002';

/** The order id and the answer `npm run order` printed. */
function printed(stdout: string): { orderId: string; status: number; body: unknown; trail: string } {
  const orderId = /^ {2}order (\d+),/m.exec(stdout)?.[1];
  const status = /^→ HTTP (\d{3})/m.exec(stdout)?.[1];
  const body = /^→ HTTP \d{3}.*\n(.*)$/m.exec(stdout)?.[1];
  const trail = stdout.trim().split('\n').at(-1) ?? '';
  assert.ok(orderId && status && body, `the command printed the order id and the answer:\n${stdout}`);
  return { orderId, status: Number(status), body: JSON.parse(body), trail };
}

/** Runs the printed command as the person reading it would, from the repository's root. */
function shell(command: string): Promise<string> {
  return new Promise((resolve) => execFile('sh', ['-c', command], { cwd: REPO_ROOT }, (_err, stdout) => resolve(stdout)));
}

/** Puts back what a demo order took, as a restock through the adjustment API (its event brings Shopify along). */
async function putBack(orderId: string, variantId: string, quantity: number): Promise<void> {
  const env = stackEnv();
  const res = await fetch(`${env.DATA_API_URL}/api/inventory/adjustments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${env.INTERNAL_API_TOKEN}` },
    body: JSON.stringify({ variantId, delta: quantity, reason: 'restock', key: `test-order-command:${orderId}:${variantId}` }),
  });
  assert.ok(res.status === 201 || res.status === 200, `putting back ${quantity} of ${variantId}: ${res.status} ${await res.text()}`);
}

describe('npm run order -- send sends the demo order', () => {
  it('is accepted (201): a T-shirt in two sizes, each size reserved by its own movement, and the printed command shows a SUCCESS line from every service', async (t) => {
    const run = await runCommand('order', ['send']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const { orderId, status, body, trail } = printed(run.stdout);
    t.after(async () => {
      await putBack(orderId, TSHIRT_S, 1);
      await putBack(orderId, TSHIRT_M, 2);
    });
    assert.equal(status, 201);
    assert.deepEqual(body, { status: 'success', message: 'Order received and processed', order_id: orderId });

    const lines = await readOrderDetails(orderId);
    assert.deepEqual(
      lines.map((l) => [String(l.variantId), l.sku, l.quantity, l.reserved, l.price]),
      [
        [TSHIRT_S, 'TSHIRT-BLK-S', 1, 1, '24.90'],
        [TSHIRT_M, 'TSHIRT-BLK-M', 2, 2, '24.90'],
      ],
    );
    for (const [variantId, delta] of [
      [TSHIRT_S, -1],
      [TSHIRT_M, -2],
    ] as const) {
      const movements = (await readMovements(variantId)).filter((m) => m.reference === orderId);
      assert.deepEqual(
        movements.map((m) => [m.reason, m.delta]),
        [['order', delta]],
        `variant ${variantId}`,
      );
    }

    // The README's command with this order's id (`.stack/logs` for the default stack).
    const logs = path.relative(REPO_ROOT, stackLogsDir());
    assert.equal(trail, `grep -hE '"orderId":"?${orderId}"?[,}]' ${logs}/order-*.log | grep '"msg":"SUCCESS'`);
    const events = await eventually(
      async () => {
        const found = (await shell(trail))
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { service: string; event: string; orderId: string; sku?: string });
        const seen = found.map((l) => `${l.service} ${l.event}${l.sku ? ` ${l.sku}` : ''}`).sort();
        assert.deepEqual(seen, [
          'order-manage-api order.accepted',
          'order-manage-data-api inventory.event.published',
          'order-manage-data-api order.committed',
          'order-stream-process shopify.inventory.updated TSHIRT-BLK-M',
          'order-stream-process shopify.inventory.updated TSHIRT-BLK-S',
        ]);
        return found;
      },
      60_000,
      500,
    );
    assert.ok(events.every((e) => e.orderId === orderId));
  });

  it('is a new order every time: another order id and other line item ids, accepted again', async (t) => {
    const first = await runCommand('order', ['send']);
    const second = await runCommand('order', ['send']);
    const a = printed(first.stdout);
    const b = printed(second.stdout);
    t.after(async () => {
      for (const { orderId } of [a, b]) {
        await putBack(orderId, TSHIRT_S, 1);
        await putBack(orderId, TSHIRT_M, 2);
      }
    });
    assert.deepEqual([first.code, a.status, second.code, b.status], [0, 201, 0, 201]);
    assert.notEqual(a.orderId, b.orderId);
    const ids = async (orderId: string) => (await readOrderDetails(orderId)).map((l) => l.lineItemId);
    const [idsA, idsB] = [await ids(a.orderId), await ids(b.orderId)];
    assert.equal(idsA.length, 2);
    assert.equal(idsB.length, 2);
    assert.deepEqual(
      idsA.filter((id) => idsB.includes(id)),
      [],
      'no line item id is reused',
    );
  });
});

describe('npm run order -- send <file> sends the file byte for byte', () => {
  /** Shopify's "Send test notification" body in wire form: ids above 2^53 that JSON.parse would round. */
  const FIXTURE = 'tests/fixtures/shopify/09-shopify-test-notification-wire-exact-ids.json';
  const ORDER_ID = '820982911946154508';
  const VARIANT = { variantId: '808950810', productId: '632910392', sku: 'IPOD2008PINK' };

  /** Forgets an earlier delivery of this order and the variant (Shopify's real ids, shared with tests/e2e). */
  async function forget(): Promise<void> {
    const db = dbPool();
    const { rows } = await db.query<{ order_id: string }>(
      `SELECT order_id::text FROM orders WHERE order_id = $1::bigint UNION SELECT order_id::text FROM order_detail WHERE variant_id = $2::bigint`,
      [ORDER_ID, VARIANT.variantId],
    );
    const orders = rows.map((r) => r.order_id);
    await db.query('DELETE FROM outbox_event WHERE order_id = ANY($1::bigint[])', [orders]);
    await db.query('DELETE FROM orders WHERE order_id = ANY($1::bigint[])', [orders]);
    await db.query('DELETE FROM inventory WHERE variant_id = $1::bigint', [VARIANT.variantId]);
  }

  it('is accepted with its exact ids, and sent again (new webhook and event ids) is refused as another delivery of an existing order (409)', async (t) => {
    await forget();
    t.after(forget);
    const inventoryItemId = String(2n ** 60n + BigInt(randomInt(1, 2 ** 47)));
    const location = stackEnv().SHOPIFY_LOCATION_ID;
    await dbPool().query(
      `INSERT INTO inventory (variant_id, product_id, sku, title, price, currency, shopify_inventory_item_id, shopify_location_id)
       VALUES ($1, $2, $3, 'IPod Nano - 8GB, pink', '199.00', 'USD', $4, $5)`,
      [VARIANT.variantId, VARIANT.productId, VARIANT.sku, inventoryItemId, location],
    );
    await dbPool().query(
      `INSERT INTO inventory_movement (variant_id, delta, reason, reference, idempotency_key) VALUES ($1, 100, 'import', 'order-command-test', $2)`,
      [VARIANT.variantId, `test-import:${VARIANT.variantId}:${randomUUID()}`],
    );
    await setShopifyLevels([{ inventoryItemId, locationId: location, available: 100 }]);
    const removeStub = await stubWmsInventory(VARIANT.sku, { availableQuantity: 100 });
    t.after(removeStub);

    const run = await runCommand('order', ['send', FIXTURE]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const sent = printed(run.stdout);
    assert.equal(sent.orderId, ORDER_ID, 'the id the tool read from the file, exactly');
    assert.equal(sent.status, 201);
    assert.deepEqual(sent.body, { status: 'success', message: 'Order received and processed', order_id: ORDER_ID });
    assert.deepEqual(
      (await readOrderDetails(ORDER_ID)).map((l) => [l.lineItemId, String(l.variantId), l.quantity]),
      [
        ['141249953214522974', VARIANT.variantId, 1],
        ['866550311766439020', VARIANT.variantId, 1],
      ],
      'the line item ids above 2^53 arrived as the file writes them: the body was not re-serialised',
    );

    const again = await runCommand('order', ['send', FIXTURE]);
    assert.equal(again.code, 1, again.stdout + again.stderr);
    const refused = printed(again.stdout);
    assert.equal(refused.status, 409);
    assert.equal((refused.body as { code: string }).code, 'ORDER_ALREADY_EXISTS');
    assert.match(again.stdout, /a refused order writes no SUCCESS line/);
  });

  it('names a file that does not exist with a usage error', async () => {
    const run = await runCommand('order', ['send', 'tests/fixtures/shopify/no-such-order.json']);
    assert.equal(run.code, 64);
    assert.match(run.stderr, /tests\/fixtures\/shopify\/no-such-order.json: no such file/);
  });
});

/**
 * `npm run order -- send [file]` (docs/spec.md section 8): sends one `orders/create` delivery to the
 * running system as Shopify would, signed with its webhook secret, and prints the answer and the
 * command that shows the order's trail through the logs (README, "Following one order").
 *
 * Without a file it sends the demo order: the demo catalogue's black T-shirt in two sizes (S × 1,
 * M × 2), with a new order id and new line item ids on every run. With a file (a fixture such as
 * `tests/fixtures/shopify/09-….json`, or a body saved from Shopify) it sends the file's bytes
 * unchanged. Headers as Shopify sends them, with a new X-Shopify-Webhook-Id and X-Shopify-Event-Id
 * each time. Settings: ORDER_API_URL, SHOPIFY_WEBHOOK_SECRET (the first one while two are being
 * rotated), SHOPIFY_API_VERSION and SHOPIFY_SHOP_DOMAIN, from the environment or the running local
 * stack's `.stack/env`. Exit code 0 when the system answered 2xx, 1 otherwise, 64 on a usage mistake.
 */
import { createHmac, randomInt, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { httpRequest, isTimeout, parseJsonWithExactIds } from '@oms/common';
import { DEMO_CATALOGUE } from '../db/catalogue.js';
import { required, toolEnv, UsageError, runCommands } from './stack-env.js';

const USAGE = 'usage: npm run order -- send [file]   (without a file: the demo order, a T-shirt in two sizes)';
const REPO_ROOT = path.resolve(import.meta.dirname, '..');
const WEBHOOK_PATH = '/api/shopify/webhooks/orders';
const DEMO_SHOP_DOMAIN = 'demo-merchant.myshopify.com';

/** The demo order's lines: the black T-shirt, S × 1 and M × 2 (README, "Demo catalogue"). */
const DEMO_LINES: Array<[sku: string, quantity: number]> = [
  ['TSHIRT-BLK-S', 1],
  ['TSHIRT-BLK-M', 2],
];

/**
 * A new orders/create body shaped as Shopify sends it (snake_case, ids as JSON numbers; the order
 * id above 2^53 as Shopify's own test notifications have, so it is written from a bigint).
 */
function demoOrder(): { raw: string; orderId: string; lines: number } {
  const orderId = BigInt(Date.now()) * 10_000n + BigInt(randomInt(0, 10_000));
  const orderNumber = 1001 + Number(orderId % 900_000n);
  const createdAt = new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00');
  const lineItems = DEMO_LINES.map(([sku, quantity], i) => {
    const variant = DEMO_CATALOGUE.find((v) => v.sku === sku);
    if (!variant) throw new Error(`the demo catalogue has no ${sku} (db/catalogue.ts)`);
    return {
      id: `@@${orderId * 10n + BigInt(i + 1)}@@`,
      admin_graphql_api_id: `gid://shopify/LineItem/${orderId * 10n + BigInt(i + 1)}`,
      product_id: variant.productId,
      variant_id: variant.variantId,
      sku,
      title: 'Organic cotton T-shirt',
      variant_title: `Black / ${sku.slice(-1)}`,
      name: variant.title,
      vendor: 'Demo Merchant',
      quantity,
      current_quantity: quantity,
      fulfillable_quantity: quantity,
      fulfillment_service: 'manual',
      fulfillment_status: null,
      gift_card: false,
      requires_shipping: true,
      taxable: true,
      grams: 180,
      price: variant.price,
      price_set: {
        shop_money: { amount: variant.price, currency_code: variant.currency },
        presentment_money: { amount: variant.price, currency_code: variant.currency },
      },
      product_exists: true,
      total_discount: '0.00',
      properties: [],
      tax_lines: [],
      discount_allocations: [],
    };
  });
  const cents = lineItems.reduce((sum, l) => sum + Math.round(Number(l.price) * 100) * l.quantity, 0);
  const total = (cents / 100).toFixed(2);
  const body = {
    id: `@@${orderId}@@`,
    admin_graphql_api_id: `gid://shopify/Order/${orderId}`,
    name: `#${orderNumber}`,
    order_number: orderNumber,
    number: orderNumber - 1000,
    created_at: createdAt,
    updated_at: createdAt,
    processed_at: createdAt,
    currency: 'USD',
    presentment_currency: 'USD',
    subtotal_price: total,
    total_line_items_price: total,
    total_price: total,
    current_total_price: total,
    total_tax: '0.00',
    total_discounts: '0.00',
    taxes_included: false,
    financial_status: 'paid',
    fulfillment_status: null,
    confirmed: true,
    test: true,
    source_name: 'web',
    location_id: null,
    email: 'jane.doe@example.com',
    contact_email: 'jane.doe@example.com',
    customer: { id: 9_000_000_000_001, email: 'jane.doe@example.com', first_name: 'Jane', last_name: 'Doe', currency: 'USD' },
    line_items: lineItems,
    shipping_lines: [],
    note: 'Sent by npm run order -- send',
  };
  // The ids go into the text as integers, exactly: JSON.stringify has no bigint.
  const raw = JSON.stringify(body).replace(/"@@(\d+)@@"/g, '$1');
  return { raw, orderId: String(orderId), lines: lineItems.length };
}

/** A body from a file, its bytes unchanged; its order id read from the text exactly (ids above 2^53). */
function orderFromFile(file: string): { raw: Buffer; orderId: string | undefined; lines: number | undefined } {
  const resolved = path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
  if (!existsSync(resolved)) throw new UsageError(`${file}: no such file`);
  const raw = readFileSync(resolved);
  let parsed: unknown;
  try {
    parsed = parseJsonWithExactIds(raw.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const order = typeof parsed === 'object' && parsed !== null ? (parsed as { id?: unknown; line_items?: unknown }) : {};
  const id = typeof order.id === 'bigint' || typeof order.id === 'number' || typeof order.id === 'string' ? String(order.id) : undefined;
  return { raw, orderId: id, lines: Array.isArray(order.line_items) ? order.line_items.length : undefined };
}

/** Where the local stack's services write their logs (the env file's directory, as tests/support finds it). */
function stackLogsDir(): string {
  const stackDir = process.env.STACK_ENV_FILE
    ? path.dirname(path.resolve(process.env.STACK_ENV_FILE))
    : path.resolve(REPO_ROOT, process.env.STACK_DIR || '.stack');
  return path.join(stackDir, 'logs');
}

/** The README's command that shows one order's SUCCESS lines from every service. */
function trailCommand(orderId: string, logsDir: string | undefined): string {
  const match = `'"orderId":"?${orderId}"?[,}]'`;
  if (logsDir === undefined) {
    return (
      'docker compose logs --no-log-prefix order-manage-api order-manage-data-api order-stream-process \\\n' +
      `  | grep -E ${match} | grep '"msg":"SUCCESS'`
    );
  }
  return `grep -hE ${match} ${logsDir}/order-*.log | grep '"msg":"SUCCESS'`;
}

async function send(args: string[]): Promise<number> {
  if (args.length > 1 || args.some((a) => a.startsWith('--')))
    throw new UsageError(`unexpected argument "${args.find((a) => a.startsWith('--')) ?? args[1]}"`);
  const env = toolEnv();
  const apiUrl = required(env, 'ORDER_API_URL').replace(/\/+$/, '');
  const secret = required(env, 'SHOPIFY_WEBHOOK_SECRET').split(',')[0]!.trim();
  const order = args[0] === undefined ? demoOrder() : orderFromFile(args[0]);
  const raw = typeof order.raw === 'string' ? Buffer.from(order.raw, 'utf8') : order.raw;
  const url = `${apiUrl}${WEBHOOK_PATH}`;
  const headers = {
    'content-type': 'application/json',
    'x-shopify-topic': 'orders/create',
    'x-shopify-hmac-sha256': createHmac('sha256', secret).update(raw).digest('base64'),
    'x-shopify-webhook-id': randomUUID(),
    'x-shopify-event-id': randomUUID(),
    'x-shopify-shop-domain': env('SHOPIFY_SHOP_DOMAIN') || DEMO_SHOP_DOMAIN,
    'x-shopify-api-version': env('SHOPIFY_API_VERSION') || '2026-10',
    'x-shopify-triggered-at': new Date().toISOString(),
  };
  const what =
    args[0] === undefined ? 'the demo order (T-shirt TSHIRT-BLK-S × 1, TSHIRT-BLK-M × 2)' : `${args[0]} (${raw.length} bytes, unchanged)`;
  console.log(`POST ${url}: orders/create, ${what}`);
  console.log(
    `  order ${order.orderId ?? '(no id in the body)'}${order.lines === undefined ? '' : `, ${order.lines} line item(s)`}, X-Shopify-Webhook-Id ${headers['x-shopify-webhook-id']}`,
  );

  let answer;
  try {
    // Shopify waits 5 s for an answer; the system answers within 4.
    // The bytes as they are (a Buffer: undici sends it unchanged), never re-encoded.
    answer = await httpRequest(url, { method: 'POST', headers, body: raw as unknown as string, timeoutMs: 10_000 });
  } catch (err) {
    const why = isTimeout(err)
      ? 'no answer within 10 s'
      : err instanceof Error
        ? ((err.cause as Error | undefined)?.message ?? err.message)
        : String(err);
    console.error(`order-manage-api at ${apiUrl} did not answer (${why}): is the system running (npm start)?`);
    return 1;
  }
  const shown = ['idempotent-replayed', 'retry-after', 'x-order-refused'].flatMap((name) => {
    const value = answer.headers[name];
    return value === undefined ? [] : [`${name}: ${Array.isArray(value) ? value.join(', ') : value}`];
  });
  console.log(`\n→ HTTP ${answer.status}${shown.length ? `  (${shown.join('; ')})` : ''}`);
  console.log(answer.text);

  if (order.orderId !== undefined) {
    const logsDir = stackLogsDir();
    const shownDir = existsSync(logsDir)
      ? path.relative(process.cwd(), logsDir).startsWith('..')
        ? logsDir
        : path.relative(process.cwd(), logsDir) || '.'
      : undefined;
    const ok = answer.status >= 200 && answer.status < 300;
    console.log(
      ok
        ? `\nIts trail through the logs (api, data-api and, per variant, the stream processor each write a SUCCESS line within seconds):`
        : '\nIts trail through the logs (a refused order writes no SUCCESS line; drop the last grep to see why):',
    );
    console.log(trailCommand(order.orderId, shownDir));
  }
  return answer.status >= 200 && answer.status < 300 ? 0 : 1;
}

runCommands('order', USAGE, { send });

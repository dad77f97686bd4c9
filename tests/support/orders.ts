import { randomInt } from 'node:crypto';
import { randomOrderId } from './db.js';

export { randomOrderId };

export interface OrderLine {
  productId: number;
  /** Shopify's variant id; omitted sends null, as for a deleted variant (then the SKU finds it). */
  variantId?: number | null;
  quantity: number;
  /** Default `TEST-<variant id>` (a test variant's SKU), else `TEST-<product id>`. */
  sku?: string;
  /** Unit price as a decimal string, default "10.00". */
  price?: string;
  title?: string;
}

export interface ShopifyCustomer {
  id: number;
  email?: string;
  first_name?: string;
  last_name?: string;
}

export interface BuildOrderOptions {
  orderId?: number;
  lines: OrderLine[];
  /** null is a guest checkout, as Shopify sends it; omitted gives a random customer. */
  customer?: ShopifyCustomer | null;
  currency?: string;
  financialStatus?: string;
  /** A point-of-sale order's shop location; omitted is an online order. */
  locationId?: number;
}

/** The order line of a test variant: `lineOf(variant, 2)`. */
export function lineOf(
  variant: { variantId: number; productId: number; sku: string },
  quantity: number,
  extra: Partial<OrderLine> = {},
): OrderLine {
  return { productId: variant.productId, variantId: variant.variantId, sku: variant.sku, quantity, ...extra };
}

const cents = (price: string) => Math.round(Number(price) * 100);
const money = (c: number) => (c / 100).toFixed(2);

/**
 * An orders/create body shaped like Shopify's Order resource (snake_case, with many fields the
 * intake ignores), so tests prove the service copes with what Shopify really sends.
 */
export function buildShopifyOrder(options: BuildOrderOptions): Record<string, unknown> & { id: number } {
  const id = options.orderId ?? randomOrderId();
  const orderNumber = 1000 + (id % 1_000_000);
  const currency = options.currency ?? 'USD';
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, '-05:00');
  const customer =
    options.customer === undefined
      ? { id: 9_000_000_000_000 + randomInt(1, 2 ** 40), email: 'jane.doe@example.com', first_name: 'Jane', last_name: 'Doe' }
      : options.customer;
  const lineItems = options.lines.map((line, i) => {
    const price = line.price ?? '10.00';
    return {
      id: 13_000_000_000_000 + id * 10 + i,
      admin_graphql_api_id: `gid://shopify/LineItem/${13_000_000_000_000 + i}`,
      product_id: line.productId,
      variant_id: line.variantId ?? null,
      sku: line.sku ?? `TEST-${line.variantId ?? line.productId}`,
      title: line.title ?? `Test product ${line.productId}`,
      variant_title: null,
      vendor: 'Demo Merchant',
      name: line.title ?? `Test product ${line.productId}`,
      quantity: line.quantity,
      current_quantity: line.quantity,
      fulfillable_quantity: line.quantity,
      fulfillment_service: 'manual',
      fulfillment_status: null,
      gift_card: false,
      grams: 250,
      price,
      price_set: { shop_money: { amount: price, currency_code: currency }, presentment_money: { amount: price, currency_code: currency } },
      product_exists: true,
      requires_shipping: true,
      taxable: true,
      total_discount: '0.00',
      properties: [],
      tax_lines: [],
      discount_allocations: [],
      duties: [],
    };
  });
  const subtotal = options.lines.reduce((sum, l) => sum + cents(l.price ?? '10.00') * l.quantity, 0);
  return {
    id,
    admin_graphql_api_id: `gid://shopify/Order/${id}`,
    app_id: 580111,
    browser_ip: '203.0.113.7',
    buyer_accepts_marketing: false,
    cancel_reason: null,
    cancelled_at: null,
    cart_token: null,
    checkout_id: id + 1,
    checkout_token: 'c1f6a7e2b1d84f0e9a3b5c7d9e1f2a3b',
    confirmed: true,
    contact_email: customer ? 'jane.doe@example.com' : null,
    created_at: now,
    currency,
    current_subtotal_price: money(subtotal),
    current_total_discounts: '0.00',
    current_total_price: money(subtotal),
    current_total_tax: '0.00',
    customer_locale: 'en',
    discount_codes: [],
    email: customer ? 'jane.doe@example.com' : '',
    estimated_taxes: false,
    financial_status: options.financialStatus ?? 'paid',
    fulfillment_status: null,
    landing_site: '/',
    name: `#${orderNumber}`,
    note: null,
    note_attributes: [],
    number: orderNumber - 1000,
    order_number: orderNumber,
    order_status_url: `https://demo-merchant.myshopify.com/orders/${id}/authenticate`,
    payment_gateway_names: ['bogus'],
    phone: null,
    presentment_currency: currency,
    processed_at: now,
    source_name: 'web',
    subtotal_price: money(subtotal),
    tags: '',
    tax_lines: [],
    taxes_included: false,
    test: true,
    token: 'b1946ac92492d2347c6235b4d2611184',
    total_discounts: '0.00',
    total_line_items_price: money(subtotal),
    total_price: money(subtotal),
    total_tax: '0.00',
    total_weight: 250 * options.lines.length,
    updated_at: now,
    user_id: null,
    billing_address: null,
    customer: customer
      ? { ...customer, admin_graphql_api_id: `gid://shopify/Customer/${customer.id}`, state: 'enabled', verified_email: true, tags: '' }
      : null,
    line_items: lineItems,
    location_id: options.locationId ?? null,
    fulfillments: [],
    refunds: [],
    shipping_address: null,
    shipping_lines: [],
  };
}

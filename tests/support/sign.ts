import { createHmac, randomUUID } from 'node:crypto';

export function signBody(rawBody: string | Buffer, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('base64');
}

/** The headers Shopify sends with an orders/create delivery, signed over exactly `rawBody`. */
export function shopifyHeaders(rawBody: string, secret: string, overrides: Partial<Record<string, string>> = {}): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-shopify-topic': 'orders/create',
    'x-shopify-hmac-sha256': signBody(rawBody, secret),
    'x-shopify-webhook-id': randomUUID(),
    'x-shopify-event-id': randomUUID(),
    'x-shopify-shop-domain': 'demo-merchant.myshopify.com',
    'x-shopify-api-version': '2026-10',
    'x-shopify-triggered-at': new Date().toISOString(),
    ...Object.fromEntries(Object.entries(overrides).filter((e): e is [string, string] => e[1] !== undefined)),
  };
}

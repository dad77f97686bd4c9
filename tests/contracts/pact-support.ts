import { rmSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../support/stack-env.js';

/** Where consumer tests write pacts and provider verifications read them. */
export const PACT_DIR = path.join(REPO_ROOT, 'contracts', 'pacts');

export const DATA_API = 'order-manage-data-api';
export const ORDER_API = 'order-manage-api';
export const STREAM_PROCESS = 'order-stream-process';

export const pactFile = (consumer: string, provider: string) => path.join(PACT_DIR, `${consumer}-${provider}.json`);

/**
 * Pact merges new interactions into an existing file, so an interaction a consumer no longer
 * declares would linger and keep being verified: each consumer run starts from no file.
 */
export function removePact(consumer: string, provider: string): void {
  rmSync(pactFile(consumer, provider), { force: true });
}

/**
 * The consumer's test token. The provider verification's request filter swaps exactly this value
 * for the provider's real token, and leaves any other (a wrong token) as the consumer sent it.
 */
export const CONSUMER_TOKEN = 'pact-consumer-token';

/** An id as the services write it: a positive integer below 2^63 as a decimal string. */
export const SHOPIFY_ID_PATTERN = /^[1-9][0-9]{0,18}$/;

/**
 * Examples that make the pact readable; the provider states supply the real ids at verification.
 * Ids are decimal strings, as the services write them; the order id is Shopify's own test
 * notification's, above 2^53, where a JSON number would already be rounded.
 */
export const EXAMPLE = {
  orderId: '820982911946154508',
  /** Another order, never accepted. */
  newOrderId: '5912345678902',
  webhookId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
  eventId: '7e4b6a1c-2f0d-4c3b-9f7a-5d8e1c2b3a40',
  lineItemId: '866550311766439020',
  otherLineItemId: '141249953214522974',
  productId: '7523456789001',
  variantId: '45123456790002',
  sku: 'TSHIRT-BLK-M',
  otherVariantId: '45123456790003',
  otherSku: 'TSHIRT-BLK-L',
  missingProductId: '8100000000099',
  missingVariantId: '41100000000099',
  missingSku: 'TSHIRT-BLK-XXL',
  inventoryItemId: '44123456780002',
  locationId: '65432109876',
  movementId: '1201',
  correlationId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
} as const;

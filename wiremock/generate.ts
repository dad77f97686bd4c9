/**
 * Writes WireMock's default mappings from the demo catalogue (db/catalogue.ts), so the WMS stand-in
 * and the database always agree: `npx tsx wiremock/generate.ts`. The output is committed; a test
 * fails when it drifts from the catalogue.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEMO_CATALOGUE, type CatalogueVariant } from '../db/catalogue.js';

export const MAPPINGS_DIR = path.join(import.meta.dirname, 'mappings');

/** Fixed priorities: a test's own stub (WireMock's default priority is 5) wins over the catch-alls. */
export const PRIORITY = { product: 5, missingAuth: 8, catchAll: 10 } as const;

export interface Mapping {
  id: string;
  name: string;
  priority: number;
  request: Record<string, unknown>;
  response: Record<string, unknown>;
}

/** Stable ids derived from the mapping's name: regenerating changes nothing, and tests can find them. */
export function mappingId(name: string): string {
  const h = createHash('sha256').update(`wiremock-default:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function wmsLocationId(variant: CatalogueVariant): string {
  return `LOC-${variant.locationId}`;
}

/** The WMS's item: docs/spec.md section 3's shape, the same in the per-SKU answer and in the list. */
function wmsItem(variant: CatalogueVariant) {
  return {
    sku: variant.sku,
    availableQuantity: variant.availableQuantity,
    reservedQuantity: 0,
    totalQuantity: variant.availableQuantity,
    locationId: wmsLocationId(variant),
    lastUpdated: '{{now}}',
  };
}

const INVENTORY_PATH = '/api/v1/inventory';

function wmsInventory(variant: CatalogueVariant): Mapping {
  return {
    id: mappingId(`wms-inventory-${variant.sku}`),
    name: `WMS: inventory of ${variant.sku}`,
    priority: PRIORITY.product,
    request: {
      method: 'GET',
      urlPath: `${INVENTORY_PATH}/${encodeURIComponent(variant.sku)}`,
      headers: { Authorization: { matches: 'Bearer .+' } },
    },
    response: {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      jsonBody: wmsItem(variant),
      transformers: ['response-template'],
    },
  };
}

/** Every SKU the warehouse holds, on one page (the demo's few fit any page size the system asks for). */
function wmsInventoryList(): Mapping {
  return {
    id: mappingId('wms-inventory-list'),
    name: 'WMS: the list of every SKU',
    priority: PRIORITY.product,
    request: { method: 'GET', urlPath: INVENTORY_PATH, headers: { Authorization: { matches: 'Bearer .+' } } },
    response: {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      jsonBody: { items: DEMO_CATALOGUE.map(wmsItem), nextCursor: null },
      transformers: ['response-template'],
    },
  };
}

function wmsMissingAuth(): Mapping {
  return {
    id: mappingId('wms-missing-auth'),
    name: 'WMS: no bearer token',
    priority: PRIORITY.missingAuth,
    request: { method: 'GET', urlPathPattern: `${INVENTORY_PATH}(/.*)?`, headers: { Authorization: { absent: true } } },
    response: {
      status: 401,
      headers: { 'Content-Type': 'application/json' },
      jsonBody: { error: 'unauthorized', message: 'Missing bearer token' },
    },
  };
}

function wmsUnknownSku(): Mapping {
  return {
    id: mappingId('wms-unknown-sku'),
    name: 'WMS: any other SKU is unknown',
    priority: PRIORITY.catchAll,
    request: { method: 'GET', urlPathPattern: `${INVENTORY_PATH}/[^/]+` },
    response: {
      status: 404,
      headers: { 'Content-Type': 'application/json' },
      jsonBody: { error: 'not_found', message: 'SKU {{request.pathSegments.[3]}} is not stocked in this warehouse' },
      transformers: ['response-template'],
    },
  };
}

const GRAPHQL_PATH = '/admin/api/[^/]+/graphql\\.json';

/** The name wiremock/extension's ShopifyLeakyBucket registers under. */
export const SHOPIFY_LEAKY_BUCKET = 'shopify-leaky-bucket';

/**
 * Shopify itself, behind every test's own stub: the extension (wiremock/extension, `standIn`)
 * keeps the shop's state (inventory levels, catalogue, webhook subscriptions, idempotency keys),
 * answers the GraphQL operations the system sends from it, and spends the store's leaky bucket by
 * operation (THROTTLED once it is dry, applying nothing). Tests drive the shop through
 * /__admin/shopify/ (docs/shopify-stand-in.md) and force failures with stubs of a lower priority.
 */
function shopifyStandIn(): Mapping {
  return {
    id: mappingId('shopify-stand-in'),
    name: 'Shopify: the stand-in keeps the shop and answers GraphQL from it (wiremock/extension)',
    priority: PRIORITY.catchAll,
    request: {
      method: 'POST',
      urlPathPattern: GRAPHQL_PATH,
      headers: { 'X-Shopify-Access-Token': { matches: '.+' } },
    },
    response: {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      transformers: [SHOPIFY_LEAKY_BUCKET],
      transformerParameters: { standIn: true },
    },
  };
}

function shopifyMissingToken(): Mapping {
  return {
    id: mappingId('shopify-missing-token'),
    name: 'Shopify: no access token',
    priority: PRIORITY.missingAuth,
    request: {
      method: 'POST',
      urlPathPattern: GRAPHQL_PATH,
      headers: { 'X-Shopify-Access-Token': { absent: true } },
    },
    response: {
      status: 401,
      headers: { 'Content-Type': 'application/json' },
      jsonBody: { errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' },
    },
  };
}

/** File name → mapping, in a stable order. */
export function defaultMappings(): Map<string, Mapping> {
  const files = new Map<string, Mapping>();
  for (const variant of DEMO_CATALOGUE) files.set(`wms-inventory-${variant.sku.toLowerCase()}.json`, wmsInventory(variant));
  files.set('wms-inventory-list.json', wmsInventoryList());
  files.set('wms-missing-auth.json', wmsMissingAuth());
  files.set('wms-unknown-sku.json', wmsUnknownSku());
  files.set('shopify-stand-in.json', shopifyStandIn());
  files.set('shopify-missing-token.json', shopifyMissingToken());
  return files;
}

function main(): void {
  mkdirSync(MAPPINGS_DIR, { recursive: true });
  const files = defaultMappings();
  for (const stale of readdirSync(MAPPINGS_DIR)) {
    if (stale.endsWith('.json') && !files.has(stale)) rmSync(path.join(MAPPINGS_DIR, stale));
  }
  for (const [file, mapping] of files) writeFileSync(path.join(MAPPINGS_DIR, file), `${JSON.stringify(mapping, null, 2)}\n`);
  console.log(`wrote ${files.size} mappings to ${path.relative(process.cwd(), MAPPINGS_DIR) || MAPPINGS_DIR}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) main();

/**
 * Writes WireMock's default mappings from the demo catalogue (db/catalogue.ts), so the WMS stand-in
 * and the database always agree: `npx tsx wiremock/generate.ts`. The output is committed; a test
 * fails when it drifts from the catalogue.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEMO_CATALOGUE, type CatalogueProduct } from '../db/catalogue.js';

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

export function wmsLocationId(product: CatalogueProduct): string {
  return `LOC-${product.locationId}`;
}

function wmsInventory(product: CatalogueProduct): Mapping {
  const name = `wms-inventory-${product.productId}`;
  return {
    id: mappingId(name),
    name: `WMS: inventory of ${product.sku}`,
    priority: PRIORITY.product,
    request: {
      method: 'GET',
      urlPath: `/api/v1/products/${product.productId}/inventory`,
      headers: { Authorization: { matches: 'Bearer .+' } },
    },
    response: {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      jsonBody: {
        productId: product.productId,
        sku: product.sku,
        availableQuantity: product.availableQuantity,
        reservedQuantity: 0,
        totalQuantity: product.availableQuantity,
        locationId: wmsLocationId(product),
        lastUpdated: '{{now}}',
      },
      transformers: ['response-template'],
    },
  };
}

const INVENTORY_PATH = '/api/v1/products/[^/]+/inventory';

function wmsMissingAuth(): Mapping {
  return {
    id: mappingId('wms-missing-auth'),
    name: 'WMS: no bearer token',
    priority: PRIORITY.missingAuth,
    request: { method: 'GET', urlPathPattern: INVENTORY_PATH, headers: { Authorization: { absent: true } } },
    response: {
      status: 401,
      headers: { 'Content-Type': 'application/json' },
      jsonBody: { error: 'unauthorized', message: 'Missing bearer token' },
    },
  };
}

function wmsUnknownProduct(): Mapping {
  return {
    id: mappingId('wms-unknown-product'),
    name: 'WMS: any other product is unknown',
    priority: PRIORITY.catchAll,
    request: { method: 'GET', urlPathPattern: INVENTORY_PATH },
    response: {
      status: 404,
      headers: { 'Content-Type': 'application/json' },
      jsonBody: { error: 'not_found', message: 'Product {{request.pathSegments.[3]}} is not stocked in this warehouse' },
      transformers: ['response-template'],
    },
  };
}

const GRAPHQL_PATH = '/admin/api/[^/]+/graphql\\.json';

/** The name wiremock/extension's ShopifyLeakyBucket registers under. */
export const SHOPIFY_LEAKY_BUCKET = 'shopify-leaky-bucket';

function shopifyInventorySet(): Mapping {
  return {
    id: mappingId('shopify-inventory-set-quantities'),
    name: 'Shopify: inventorySetQuantities succeeds',
    priority: PRIORITY.catchAll,
    request: {
      method: 'POST',
      urlPathPattern: GRAPHQL_PATH,
      headers: { 'X-Shopify-Access-Token': { matches: '.+' } },
    },
    response: {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      jsonBody: {
        data: {
          inventorySetQuantities: {
            inventoryAdjustmentGroup: {
              createdAt: '{{now}}',
              reason: 'correction',
              referenceDocumentUri: null,
              changes: [],
            },
            userErrors: [],
          },
        },
      },
      // The extension (wiremock/extension) spends the store's leaky bucket on each call and adds
      // `extensions.cost` with the real figures, or answers THROTTLED once the bucket is dry.
      transformers: ['response-template', SHOPIFY_LEAKY_BUCKET],
    },
  };
}

/** The operation reconciliation sends (services/order-stream-process/src/reconcile.ts). */
export const RECONCILE_QUERY_NAME = 'ReconcileAvailableQuantities';

/**
 * Shopify's available quantity of each asked inventory item, as the demo store holds it after
 * `npm run db:seed`: the catalogue's figure for a catalogue item, and `null` (Shopify knows no such
 * item) for any other. Answered in the order asked, as `nodes` does. Tests stub drift per item above it.
 */
function shopifyAvailableQuantities(): Mapping {
  const node = (quantity: number) => `{"id":"{{id}}","inventoryLevel":{"quantities":[{"name":"available","quantity":${quantity} }]}}`;
  const branches = DEMO_CATALOGUE.map(
    (p, i) => `{{${i === 0 ? '#' : 'else '}eq id 'gid://shopify/InventoryItem/${p.inventoryItemId}'}}${node(p.availableQuantity)}`,
  ).join('');
  return {
    id: mappingId('shopify-available-quantities'),
    name: 'Shopify: available quantities of the demo catalogue (reconciliation)',
    priority: PRIORITY.product,
    request: {
      method: 'POST',
      urlPathPattern: GRAPHQL_PATH,
      headers: { 'X-Shopify-Access-Token': { matches: '.+' } },
      bodyPatterns: [{ contains: `query ${RECONCILE_QUERY_NAME}` }],
    },
    response: {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      body:
        `{"data":{"nodes":[{{#each (jsonPath request.body '$.variables.ids') as |id|}}{{#unless @first}},{{/unless}}` +
        `${branches}{{else}}null{{/eq}}{{/each}}]}}`,
      transformers: ['response-template', SHOPIFY_LEAKY_BUCKET],
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
  for (const product of DEMO_CATALOGUE) files.set(`wms-inventory-${product.sku.toLowerCase()}.json`, wmsInventory(product));
  files.set('wms-missing-auth.json', wmsMissingAuth());
  files.set('wms-unknown-product.json', wmsUnknownProduct());
  files.set('shopify-inventory-set-quantities.json', shopifyInventorySet());
  files.set('shopify-available-quantities.json', shopifyAvailableQuantities());
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

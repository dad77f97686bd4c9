import pg from 'pg';

interface Level {
  inventoryItemId: string;
  locationId: string;
  available: number;
}

async function standIn(wiremockUrl: string, method: 'GET' | 'PUT', body?: unknown): Promise<{ levels: Level[] }> {
  const res = await fetch(`${wiremockUrl}/__admin/shopify/inventory-levels`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} /__admin/shopify/inventory-levels answered ${res.status}: ${text.slice(0, 200)}`);
  return text ? (JSON.parse(text) as { levels: Level[] }) : { levels: [] };
}

/**
 * The Shopify stand-in keeps its levels in memory: a freshly started one knows no item. It is given
 * the database's figure for every item it does not know yet, as a store that was in sync when the
 * stack started; an item it already holds keeps its own figure (Shopify's own moves stay its own).
 */
export async function seedShopifyLevels(databaseUrl: string, wiremockUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  let rows: Level[];
  try {
    const result = await client.query<Level>(
      `SELECT shopify_inventory_item_id::text AS "inventoryItemId", shopify_location_id::text AS "locationId",
              available_quantity AS available
         FROM inventory ORDER BY variant_id`,
    );
    rows = result.rows;
  } finally {
    await client.end();
  }
  const known = new Set((await standIn(wiremockUrl, 'GET')).levels.map((l) => `${l.inventoryItemId}@${l.locationId}`));
  const missing = rows.filter((r) => !known.has(`${r.inventoryItemId}@${r.locationId}`));
  if (missing.length > 0) await standIn(wiremockUrl, 'PUT', { levels: missing });
  return missing.length;
}

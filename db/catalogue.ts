/**
 * The demo catalogue: what `npm run db:seed` loads, what WireMock's WMS answers for, and what the
 * Shopify stand-in holds at start. One entry per variant, the unit of stock (docs/spec.md section 1):
 * the T-shirt comes in three sizes, three stock-keeping units. Ids are shaped like Shopify's
 * (64-bit integers). A few variants have little stock so that scenario 3.7 (not enough) is natural.
 */
export interface CatalogueVariant {
  variantId: number;
  productId: number;
  sku: string;
  title: string;
  price: string;
  currency: string;
  availableQuantity: number;
  inventoryItemId: number;
  locationId: number;
}

export const DEMO_LOCATION_ID = 65_432_109_876;

const TSHIRT = 7_523_456_789_001;

const rows: Array<[productId: number, sku: string, title: string, price: string, available: number]> = [
  [TSHIRT, 'TSHIRT-BLK-S', 'Organic cotton T-shirt, black, S', '24.90', 80],
  [TSHIRT, 'TSHIRT-BLK-M', 'Organic cotton T-shirt, black, M', '24.90', 120],
  [TSHIRT, 'TSHIRT-BLK-L', 'Organic cotton T-shirt, black, L', '24.90', 90],
  [7_523_456_789_002, 'TSHIRT-WHT-L', 'Organic cotton T-shirt, white, L', '24.90', 95],
  [7_523_456_789_003, 'HOODIE-GRY-M', 'Heavyweight hoodie, grey, M', '69.00', 60],
  [7_523_456_789_004, 'CAP-NVY-OS', 'Baseball cap, navy', '19.50', 200],
  [7_523_456_789_005, 'SOCKS-3PK', 'Merino socks, 3 pack', '18.00', 300],
  [7_523_456_789_006, 'MUG-CERAMIC-350', 'Ceramic mug, 350 ml', '12.00', 150],
  [7_523_456_789_007, 'BOTTLE-STEEL-750', 'Steel water bottle, 750 ml', '29.95', 80],
  [7_523_456_789_008, 'TOTE-CANVAS', 'Canvas tote bag', '15.00', 250],
  [7_523_456_789_009, 'NOTEBOOK-A5', 'Dot-grid notebook, A5', '9.90', 400],
  [7_523_456_789_010, 'JACKET-RAIN-L', 'Rain jacket, L (limited run)', '149.00', 3],
  [7_523_456_789_011, 'SNEAKER-WHT-42', 'Leather sneaker, white, EU 42 (last pairs)', '119.00', 2],
  [7_523_456_789_012, 'WATCH-FIELD-38', 'Field watch, 38 mm (final unit)', '249.00', 1],
];

export const DEMO_CATALOGUE: CatalogueVariant[] = rows.map(([productId, sku, title, price, availableQuantity], i) => ({
  variantId: 45_123_456_790_001 + i,
  productId,
  sku,
  title,
  price,
  currency: 'USD',
  availableQuantity,
  inventoryItemId: 44_123_456_780_001 + i,
  locationId: DEMO_LOCATION_ID,
}));

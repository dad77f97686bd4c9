/**
 * Shopify ids are 64-bit integers, and Shopify issues ids above 2^53, where a double can no longer
 * hold them (820982911946154508 reads back as 820982911946154500). So an id is never a JS number
 * here: it is read from the JSON source text, checked, and carried as its canonical decimal string,
 * the form every JSON this system writes uses and the form PostgreSQL takes for a bigint parameter.
 */
export type ShopifyId = string;

export const MAX_SHOPIFY_ID = 2n ** 63n - 1n;

export const SHOPIFY_ID_RULE = 'must be a positive integer below 2^63';

const CANONICAL_DECIMAL = /^[1-9]\d{0,18}$/;

export function isShopifyId(value: unknown): value is ShopifyId {
  return typeof value === 'string' && CANONICAL_DECIMAL.test(value) && BigInt(value) <= MAX_SHOPIFY_ID;
}

/** Numeric order of two canonical ids without parsing them: a shorter decimal is the smaller number. */
export function compareShopifyIds(a: ShopifyId, b: ShopifyId): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** Node 22+ passes every reviver call a context, with the source text for a primitive. */
type SourceReviver = (key: string, value: unknown, context: { source?: string }) => unknown;

const INTEGER_LITERAL = /^-?\d+$/;
const isIdKey = (key: string) => key === 'id' || key.endsWith('_id');

/**
 * JSON.parse, except that an integer at an id key (`id`, `*_id`) becomes a bigint read from its
 * source text (Node 22+), so no id ever passes through a double. Any other number, and an id written
 * as a fraction or exponent, is left as JSON.parse reads it, for the schema to refuse.
 */
export function parseJsonWithExactIds(text: string): unknown {
  // Only a number's source text can match: a string's keeps its quotes, an object or array has none.
  const reviver: SourceReviver = (key, value, context) =>
    isIdKey(key) && INTEGER_LITERAL.test(String(context.source)) ? BigInt(context.source!) : value;
  return (JSON.parse as (text: string, reviver: SourceReviver) => unknown)(text, reviver);
}

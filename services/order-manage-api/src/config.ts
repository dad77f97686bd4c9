import { httpServerSettings, logLevel, port, positiveInt, secret, shopifyIdString, url, withoutDemoPassword } from '@oms/common';
import { z } from 'zod';
import { DEFAULT_VARIANT_CACHE_MAX_ENTRIES, DEFAULT_VARIANT_CACHE_TTL_MS } from './domain/variant-cache.js';

export const SERVICE = 'order-manage-api';

/** Shopify gives up on a delivery after 5 s; answering within 4 s leaves room for the network. */
export const DEFAULT_WEBHOOK_DEADLINE_MS = 4000;

/** An empty value is an unset one: a ConfigMap or a compose file can list a key and leave it blank. */
const blankIsUnset = <S extends z.ZodTypeAny>(schema: S) => z.preprocess((v) => (v === '' ? undefined : v), schema);

/** WEBHOOK_REFUSAL_STATUS (docs/spec.md section 2.1): how a refusal of an identifiable order is answered. */
export const REFUSAL_STATUSES = ['4xx', '200'] as const;
export type RefusalStatus = (typeof REFUSAL_STATUSES)[number];

/** Secrets at most in SHOPIFY_WEBHOOK_SECRET: the current one and, during a rotation, the other. */
const MAX_WEBHOOK_SECRETS = 2;
const SECRET_MIN_LENGTH = 8;

/**
 * SHOPIFY_WEBHOOK_SECRET: one secret, or two separated by a comma while one is being rotated
 * (docs/spec.md section 12). Each is at least as long as any other secret; no message quotes a value.
 */
const webhookSecrets = () =>
  secret()
    .transform((value) => value.split(',').map((part) => part.trim()))
    .check((ctx) => {
      const secrets = ctx.value;
      if (secrets.length > MAX_WEBHOOK_SECRETS) {
        ctx.issues.push({
          code: 'custom',
          input: '',
          message: `holds ${secrets.length} secrets: at most ${MAX_WEBHOOK_SECRETS}, separated by a comma, while one is being rotated`,
        });
      }
      secrets.forEach((part, i) => {
        if (part.length < SECRET_MIN_LENGTH) {
          const which = `secret ${i + 1} of ${secrets.length}`;
          ctx.issues.push({
            code: 'custom',
            input: '',
            message: part ? `${which} must be at least ${SECRET_MIN_LENGTH} characters` : `${which} is empty`,
          });
        }
      });
    });

/** `<shop>.myshopify.com`, the shop's permanent domain, as Shopify sends it in X-Shopify-Shop-Domain. */
const shopDomain = () =>
  z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/i, "must be the shop's <shop>.myshopify.com domain")
    .transform((value) => value.toLowerCase());

export const configSchema = z.object({
  PORT: port(8080),
  ...httpServerSettings,
  LOG_LEVEL: logLevel(),
  DATA_API_URL: url(),
  DATA_API_TIMEOUT_MS: positiveInt(4000),
  /** Reporting a refusal to the ledger happens after the answer, so it has a budget of its own. */
  REJECTION_RECORD_TIMEOUT_MS: positiveInt(2000),
  INTERNAL_API_TOKEN: secret(),
  REDIS_URL: withoutDemoPassword(url()),
  WMS_BASE_URL: url(),
  WMS_API_KEY: secret(1),
  WMS_TIMEOUT_MS: positiveInt(2000),
  WMS_HOLD_TTL_SECONDS: positiveInt(60),
  SHOPIFY_WEBHOOK_SECRET: webhookSecrets(),
  /** When set, a signed delivery from any other shop is 401 UNKNOWN_SHOP (docs/spec.md section 2). */
  SHOPIFY_SHOP_DOMAIN: blankIsUnset(shopDomain().optional()),
  /**
   * `4xx` (the default) answers a refused order as docs/spec.md section 2.1's table says; `200` answers a
   * refusal of an identifiable order with 200, the same problem body and X-Order-Refused, so that
   * Shopify keeps the subscription (docs/operations.md).
   */
  WEBHOOK_REFUSAL_STATUS: blankIsUnset(z.enum(REFUSAL_STATUSES, { error: `must be ${REFUSAL_STATUSES.join(' or ')}` }).default('4xx')),
  /** The warehouse's Shopify location: a point-of-sale order at any other location takes no warehouse stock. */
  SHOPIFY_LOCATION_ID: shopifyIdString('SHOPIFY_LOCATION_ID'),
  WEBHOOK_DEADLINE_MS: positiveInt(DEFAULT_WEBHOOK_DEADLINE_MS),
  /** How long a variant's product and SKU, as a resolve answered them, spare later orders the resolve; 0 turns that off (docs/design.md). */
  VARIANT_CACHE_TTL_MS: z.coerce.number().int().min(0).default(DEFAULT_VARIANT_CACHE_TTL_MS),
  VARIANT_CACHE_MAX_ENTRIES: positiveInt(DEFAULT_VARIANT_CACHE_MAX_ENTRIES),
  /**
   * How often the stock sync brings every variant to the WMS's figure (docs/spec.md section 10); 0, the
   * default, turns it off. One replica at a time runs it, through the Redis lock `wms:sync`.
   */
  WMS_SYNC_INTERVAL_MS: z.coerce.number().int().min(0).default(0),
  /** WMS list items per page of the sync (and so per data-api call). */
  WMS_SYNC_PAGE_SIZE: z.coerce.number().int().min(1).max(500).default(200),
});

export type Config = z.infer<typeof configSchema>;

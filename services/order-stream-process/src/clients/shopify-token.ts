import { httpRequest, isTimeout, type Logger } from '@oms/common';

/**
 * Where the Admin API access token comes from (docs/spec.md section 12): a static token
 * (SHOPIFY_ACCESS_TOKEN), or the client-credentials grant (SHOPIFY_CLIENT_ID and
 * SHOPIFY_CLIENT_SECRET), whose tokens expire (24 hours at Shopify) and are renewed here before they
 * do, and once when Shopify answers 401, so that no event ever reaches the DLQ for an expired token.
 */
export interface AccessTokenSource {
  readonly kind: 'static' | 'client_credentials';
  /** The token for the next call: the one held, or a new one when none is held or it is due for renewal. */
  token(signal?: AbortSignal): Promise<string>;
  /**
   * Shopify answered 401 to a call made with `token`. True when a call with `token()` may now succeed
   * (the token is dropped and the next `token()` obtains another; a token already replaced is not
   * renewed twice); false for a static token, which nothing here can replace.
   */
  rejected(token: string): boolean;
}

/** The grant could not give a token; `retryable` when another attempt may (a time-out, a 5xx, a 429). */
export class TokenGrantError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'TokenGrantError';
  }
}

/** A static Admin API token: used as it is; a 401 cannot be helped. */
export function staticAccessToken(token: string): AccessTokenSource {
  return { kind: 'static', token: async () => token, rejected: () => false };
}

export interface ClientCredentialsOptions {
  /** `https://<shop>.myshopify.com` (SHOPIFY_ADMIN_BASE_URL); the grant is `POST {baseUrl}/admin/oauth/access_token`. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  timeoutMs: number;
  logger: Logger;
  /** The share of a token's lifetime after which it is renewed (default 0.9: at 21.6 h of Shopify's 24). */
  renewAfter?: number;
  /** A failed renewal of a token still valid is tried again after this long at the soonest (default 1 s). */
  retryRenewalAfterMs?: number;
  now?: () => number;
}

interface Held {
  token: string;
  /** When to obtain the next one. */
  renewAt: number;
  /** When Shopify stops taking it (Infinity when the grant gave no expires_in). */
  expiresAt: number;
}

/** Pure: the grant's answer as a held token, or why it is not one. */
export function readGrant(status: number, text: string, obtainedAt: number, renewAfter: number): Held | TokenGrantError {
  if (status === 429 || status >= 500) return new TokenGrantError(`the token grant answered HTTP ${status}`, true);
  let body: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  if (status < 200 || status > 299) {
    const why =
      body && typeof body.error === 'string'
        ? `${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}`
        : text.slice(0, 200);
    return new TokenGrantError(
      `the token grant answered HTTP ${status} (${why}): check SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET`,
      false,
    );
  }
  if (!body || typeof body.access_token !== 'string' || body.access_token === '') {
    return new TokenGrantError('the token grant answered without an access_token', true);
  }
  const seconds =
    typeof body.expires_in === 'number' && Number.isFinite(body.expires_in) && body.expires_in > 0 ? body.expires_in : undefined;
  if (seconds === undefined) return { token: body.access_token, renewAt: Infinity, expiresAt: Infinity };
  return { token: body.access_token, renewAt: obtainedAt + seconds * 1000 * renewAfter, expiresAt: obtainedAt + seconds * 1000 };
}

/** One `POST /admin/oauth/access_token`: the token it gives, or the TokenGrantError it is. */
async function requestGrant(
  endpoint: string,
  options: ClientCredentialsOptions & { renewAfter: number; now: () => number },
): Promise<Held> {
  const { clientId, clientSecret, timeoutMs, logger, renewAfter, now } = options;
  const started = now();
  let answer;
  try {
    answer = await httpRequest(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ client_id: clientId, client_secret: clientSecret, grant_type: 'client_credentials' }),
      timeoutMs,
    });
  } catch (err) {
    const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    throw new TokenGrantError(
      isTimeout(err) ? `the token grant did not answer within ${timeoutMs} ms` : `the token grant failed: ${cause}`,
      true,
    );
  }
  const result = readGrant(answer.status, answer.text, started, renewAfter);
  if (result instanceof TokenGrantError) throw result;
  const lifetime = result.expiresAt === Infinity ? 'no expiry' : `expires in ${Math.round((result.expiresAt - started) / 1000)} s`;
  logger.info(`obtained a Shopify access token with the client-credentials grant (${lifetime})`, {
    event: 'shopify.token.obtained',
    expiresAt: result.expiresAt === Infinity ? null : new Date(result.expiresAt).toISOString(),
  });
  return result;
}

/**
 * Tokens from the client-credentials grant: obtained on first use, kept, renewed once `renewAfter`
 * of their lifetime has passed (one grant at a time, whoever asks), and dropped on a 401. A renewal
 * that fails while the token held is still valid keeps that token and is tried again later.
 */
export function clientCredentialsAccessToken(options: ClientCredentialsOptions): AccessTokenSource {
  const { logger, retryRenewalAfterMs = 1_000, now = Date.now } = options;
  const grantOptions = { ...options, renewAfter: options.renewAfter ?? 0.9, now };
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/admin/oauth/access_token`;
  let held: Held | undefined;
  let inFlight: Promise<Held> | undefined;

  /** One grant at a time: every caller waiting meanwhile gets its token. */
  function renew(): Promise<Held> {
    inFlight ??= requestGrant(endpoint, grantOptions)
      .then((fresh) => {
        held = fresh;
        return fresh;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  return {
    kind: 'client_credentials',
    async token(signal) {
      signal?.throwIfAborted();
      const current = held;
      const at = now();
      if (current && at < current.renewAt) return current.token;
      if (current && at < current.expiresAt) {
        // Due for renewal but still valid: a failed renewal must not fail the call.
        try {
          return (await renew()).token;
        } catch (err) {
          logger.warn(
            `could not renew the Shopify access token, using the one held until it expires: ${err instanceof Error ? err.message : String(err)}`,
            {
              event: 'shopify.token.renewal_failed',
            },
          );
          if (held === current) current.renewAt = Math.min(current.expiresAt, now() + retryRenewalAfterMs);
          return current.token;
        }
      }
      return (await renew()).token;
    },
    rejected(token) {
      if (held?.token === token) {
        held = undefined;
        logger.warn('Shopify refused the access token (401): obtaining a new one', { event: 'shopify.token.rejected' });
      }
      return true;
    },
  };
}

/** The token settings of a service or a tool: a static token, or the grant's client id and secret. */
export type ShopifyCredentials = { accessToken: string } | { clientId: string; clientSecret: string };

/**
 * Reads the credentials from variables (docs/spec.md 12): SHOPIFY_ACCESS_TOKEN, or SHOPIFY_CLIENT_ID
 * with SHOPIFY_CLIENT_SECRET, never both. Throws naming what is missing or too much.
 */
export function shopifyCredentials(get: (name: string) => string | undefined): ShopifyCredentials {
  const accessToken = get('SHOPIFY_ACCESS_TOKEN') || undefined;
  const clientId = get('SHOPIFY_CLIENT_ID') || undefined;
  const clientSecret = get('SHOPIFY_CLIENT_SECRET') || undefined;
  const problem = credentialsProblem({ accessToken, clientId, clientSecret });
  if (problem) throw new Error(problem.message);
  return clientId && clientSecret ? { clientId, clientSecret } : { accessToken: accessToken! };
}

/** Pure: what is wrong with these settings, and which variable to name; undefined when they are usable. */
export function credentialsProblem(values: {
  accessToken?: string;
  clientId?: string;
  clientSecret?: string;
}): { variable: string; message: string } | undefined {
  const { accessToken, clientId, clientSecret } = values;
  if (accessToken && (clientId || clientSecret)) {
    return {
      variable: clientId ? 'SHOPIFY_CLIENT_ID' : 'SHOPIFY_CLIENT_SECRET',
      message:
        'set either SHOPIFY_ACCESS_TOKEN (a static token) or SHOPIFY_CLIENT_ID with SHOPIFY_CLIENT_SECRET (the client-credentials grant), not both',
    };
  }
  if (clientId && !clientSecret)
    return { variable: 'SHOPIFY_CLIENT_SECRET', message: 'SHOPIFY_CLIENT_SECRET is required with SHOPIFY_CLIENT_ID' };
  if (clientSecret && !clientId)
    return { variable: 'SHOPIFY_CLIENT_ID', message: 'SHOPIFY_CLIENT_ID is required with SHOPIFY_CLIENT_SECRET' };
  if (!accessToken && !clientId) {
    return {
      variable: 'SHOPIFY_ACCESS_TOKEN',
      message: 'set SHOPIFY_ACCESS_TOKEN, or SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET for the client-credentials grant',
    };
  }
  return undefined;
}

/** The token source for these credentials. */
export function accessTokenSource(
  credentials: ShopifyCredentials,
  options: Omit<ClientCredentialsOptions, 'clientId' | 'clientSecret'>,
): AccessTokenSource {
  return 'accessToken' in credentials
    ? staticAccessToken(credentials.accessToken)
    : clientCredentialsAccessToken({ ...options, ...credentials });
}

const CREDENTIAL_VARIABLES = ['SHOPIFY_ACCESS_TOKEN', 'SHOPIFY_CLIENT_ID', 'SHOPIFY_CLIENT_SECRET'];

/**
 * For the operations tools, which read the process environment over the local stack's env file one
 * variable at a time: credentials exported in the environment replace the file's as a whole, so that
 * exporting a client id and secret is not mixed with the stack's static token.
 */
export function toolShopifyCredentials(
  get: (name: string) => string | undefined,
  processEnv: NodeJS.ProcessEnv = process.env,
): ShopifyCredentials {
  const exported = CREDENTIAL_VARIABLES.some((name) => processEnv[name]);
  return shopifyCredentials(exported ? (name) => processEnv[name] : get);
}

import { z } from 'zod';

export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`${service}: invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The environment `parseConfig` is reading, while it reads it: the checks below that depend on
 * NODE_ENV (a variable no schema lists) look here, so a test's environment object is honoured
 * as the process's would be. Parsing is synchronous, so no other parse can interleave.
 */
let parsing: NodeJS.ProcessEnv | undefined;

/** Whether the environment being parsed (the process's outside `parseConfig`) says NODE_ENV=production. */
export function isProduction(): boolean {
  return (parsing ?? process.env).NODE_ENV === 'production';
}

/** Parses the environment once, naming every missing or malformed variable in one message, never a value. */
export function parseConfig<S extends z.ZodTypeAny>(service: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  parsing = env;
  let result: ReturnType<typeof schema.safeParse>;
  try {
    result = schema.safeParse(env);
  } finally {
    parsing = undefined;
  }
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      const value = issue.path.length ? env[String(issue.path[0])] : undefined;
      // A rule across variables (custom) names what it needs even of a variable left unset.
      if (value === undefined && issue.code !== 'custom') return `${name} is required but not set`;
      return `${name}: ${issue.message}`;
    });
    throw new ConfigError(service, problems);
  }
  return result.data;
}

/**
 * The local stack's and the manifests' demo credentials: `local-…` (local-webhook-secret,
 * local-internal-token, local-wms-key, …), Shopify's `shpat_local_…` demo token, and any
 * `replace-me` placeholder. A comma-separated list (two secrets during a rotation) is demo if any
 * of its parts is.
 */
export function isDemoSecret(value: string): boolean {
  return value.split(',').some((part) => {
    const p = part.trim().toLowerCase();
    return p.startsWith('local-') || p.startsWith('shpat_local_') || p.includes('replace-me');
  });
}

const DEMO_VALUES = "the local stack's local-… or shpat_local_… values, or a replace-me placeholder";
export const DEMO_SECRET_MESSAGE = `is a demo value (${DEMO_VALUES}), refused with NODE_ENV=production: set the real one`;
const DEMO_PASSWORD_MESSAGE = `carries a demo password (${DEMO_VALUES}), refused with NODE_ENV=production: set the real one`;

/** The password of a URL, or undefined when it has none or is no URL. */
function urlPassword(value: string): string | undefined {
  try {
    const password = new URL(value).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

export const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
export const url = () => z.string().url();
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
/** A credential: at least `minLength` characters, and never a demo value when NODE_ENV=production. */
export const secret = (minLength = 8) =>
  z
    .string()
    .min(minLength, `must be at least ${minLength} characters`)
    .refine((value) => !(isProduction() && isDemoSecret(value)), DEMO_SECRET_MESSAGE);
/** A URL that may carry a password (DATABASE_URL, REDIS_URL): a demo password is refused as `secret()` refuses a demo value. */
export const withoutDemoPassword = <S extends z.ZodType<string>>(schema: S) =>
  schema.refine((value) => {
    const password = urlPassword(value);
    return !(isProduction() && password !== undefined && isDemoSecret(password));
  }, DEMO_PASSWORD_MESSAGE);
export const logLevel = () => z.enum(['error', 'warn', 'info', 'debug']).default('info');

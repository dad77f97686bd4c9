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

/** Parses the environment once, naming every missing or malformed variable in one message. */
export function parseConfig<S extends z.ZodTypeAny>(
  service: string,
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      const value = issue.path.length ? env[String(issue.path[0])] : undefined;
      return value === undefined ? `${name} is required but not set` : `${name}: ${issue.message}`;
    });
    throw new ConfigError(service, problems);
  }
  return result.data;
}

export const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
export const url = () => z.string().url();
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
export const secret = () => z.string().min(8, 'must be at least 8 characters');
export const logLevel = () => z.enum(['error', 'warn', 'info', 'debug']).default('info');

import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { IHeaders, Kafka, KafkaConfig, LogEntry, logCreator, SASLOptions } from 'kafkajs';
import { z } from 'zod';
import { ConfigError, isProduction, secret } from './config.js';
import type { Logger } from './logger.js';

/** An empty value is an unset one: a ConfigMap can list every key and leave the unused ones blank. */
const optional = <S extends z.ZodTypeAny>(schema: S) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/**
 * How a service reaches Kafka beyond the broker list: TLS, and SASL over it. Spread into every
 * config schema of a service that talks to Kafka, with `kafkaSecurityRule` as its `superRefine`.
 */
export const kafkaSecuritySettings = {
  /** `true`: TLS to every broker, verified against the system's CAs or KAFKA_SSL_CA_FILE. */
  KAFKA_SSL: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((v) => v === 'true'),
  /** A PEM file of the CA(s) that signed the brokers' certificates (a private CA, Strimzi's cluster CA): replaces the system's CAs. */
  KAFKA_SSL_CA_FILE: optional(z.string()),
  KAFKA_SASL_MECHANISM: optional(z.enum(KAFKA_SASL_MECHANISMS, { error: `must be one of ${KAFKA_SASL_MECHANISMS.join(', ')}` })),
  KAFKA_SASL_USERNAME: optional(z.string()),
  KAFKA_SASL_PASSWORD: optional(secret(1)),
};

export interface KafkaSecurityConfig {
  KAFKA_SSL: boolean;
  KAFKA_SSL_CA_FILE?: string;
  KAFKA_SASL_MECHANISM?: (typeof KAFKA_SASL_MECHANISMS)[number];
  KAFKA_SASL_USERNAME?: string;
  KAFKA_SASL_PASSWORD?: string;
}

/**
 * The settings checked together: SASL needs a mechanism, a username and a password (all three or
 * none), a CA file needs TLS, and with NODE_ENV=production SASL needs TLS (PLAIN would send the
 * password in clear, and no mechanism encrypts what follows).
 */
export function kafkaSecurityRule(config: KafkaSecurityConfig, ctx: z.RefinementCtx): void {
  const problem = (variable: keyof KafkaSecurityConfig, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message });
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
  const sasl = mechanism !== undefined || username !== undefined || password !== undefined;
  if (sasl) {
    const set = [mechanism && 'KAFKA_SASL_MECHANISM', username && 'KAFKA_SASL_USERNAME', password && 'KAFKA_SASL_PASSWORD'].filter(Boolean);
    const given = `${set.join(' and ')} ${set.length > 1 ? 'are' : 'is'}`;
    if (mechanism === undefined) problem('KAFKA_SASL_MECHANISM', `must be set (${KAFKA_SASL_MECHANISMS.join(', ')}) when ${given}`);
    if (username === undefined) problem('KAFKA_SASL_USERNAME', `must be set when ${given} (username and password both or neither)`);
    if (password === undefined) problem('KAFKA_SASL_PASSWORD', `must be set when ${given} (username and password both or neither)`);
    if (!config.KAFKA_SSL && isProduction())
      problem('KAFKA_SSL', 'must be true when SASL is on with NODE_ENV=production (SASL without TLS is refused)');
  }
  if (config.KAFKA_SSL_CA_FILE !== undefined && !config.KAFKA_SSL) problem('KAFKA_SSL_CA_FILE', 'is set but KAFKA_SSL is not true');
}

/**
 * KafkaJS's `ssl` and `sasl` options from the settings: nothing for a plaintext broker, `ssl: true`
 * (the system's CAs) or `ssl: { ca }` (the CA file's), and SASL with the mechanism's credentials.
 * An unreadable CA file is a configuration error naming KAFKA_SSL_CA_FILE.
 */
export function kafkaSecurity(
  service: string,
  config: KafkaSecurityConfig,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const options: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (config.KAFKA_SSL) {
    if (config.KAFKA_SSL_CA_FILE === undefined) {
      options.ssl = true;
    } else {
      let ca: string;
      try {
        ca = readFile(config.KAFKA_SSL_CA_FILE);
      } catch (err) {
        throw new ConfigError(service, [`KAFKA_SSL_CA_FILE: cannot be read (${err instanceof Error ? err.message : String(err)})`]);
      }
      options.ssl = { ca: [ca] } satisfies ConnectionOptions;
    }
  }
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
  if (mechanism !== undefined && username !== undefined && password !== undefined) {
    options.sasl = { mechanism, username, password } as SASLOptions;
  }
  return options;
}

/**
 * KafkaJS logs every failed connection attempt at ERROR, which floods the log while a broker is
 * down: its lines go to debug, and each service logs one line of its own per outage.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      logger.debug(`kafkajs ${namespace}: ${message}`, { event: 'kafka.client', ...extra });
    };
}

/**
 * Readiness probe for Kafka, shared by every service that needs one: a metadata round trip through a long-lived admin client, reconnected
 * after a failure so a broker restart is noticed both ways.
 */
export function createKafkaHealthCheck(kafka: Kafka) {
  type Admin = ReturnType<Kafka['admin']>;
  let connected: Promise<Admin> | undefined;
  const drop = async (current: Promise<Admin> | undefined) => {
    if (connected === current) connected = undefined;
    const admin = await current?.catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
  };
  return {
    async check(): Promise<void> {
      if (!connected) {
        const admin = kafka.admin({ retry: { retries: 0 } });
        connected = admin.connect().then(() => admin);
      }
      const current = connected;
      try {
        await (await current).describeCluster();
      } catch (err) {
        await drop(current);
        throw err;
      }
    },
    async close(): Promise<void> {
      await drop(connected);
    },
  };
}

/** A Kafka header as text: the first value when it was sent more than once. */
export function kafkaHeaderText(value: IHeaders[string]): string | undefined {
  return (Array.isArray(value) ? value[0] : value)?.toString();
}

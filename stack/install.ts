import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runSync, which } from './proc.js';
import { REPO_ROOT } from './settings.js';

const KAFKA_POM = path.join(REPO_ROOT, 'stack', 'kafka', 'pom.xml');
const COMPLETE = '.complete';

export function requireJava(): string {
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : which('java');
  if (!java || !existsSync(java)) {
    throw new Error('Java 17 or newer is required for Kafka and WireMock: install it (Debian: apt-get install default-jre-headless).');
  }
  return java;
}

/**
 * Kafka's broker jars come from Maven Central through stack/kafka/pom.xml; ~/.m2 keeps them, so only
 * the first install downloads. A marker written last means an interrupted copy is redone.
 */
export function ensureKafkaLibs(libsDir: string): 'present' | 'installed' {
  if (existsSync(path.join(libsDir, COMPLETE))) return 'present';
  const mvn = which('mvn');
  if (!mvn) throw new Error('Apache Maven is required to fetch Kafka: install it (Debian: apt-get install maven).');
  rmSync(libsDir, { recursive: true, force: true });
  mkdirSync(libsDir, { recursive: true });
  runSync(mvn, ['-q', '-B', '-f', KAFKA_POM, 'dependency:copy-dependencies', `-DoutputDirectory=${libsDir}`], {
    what: 'mvn dependency:copy-dependencies (Kafka jars)',
    cwd: REPO_ROOT,
    timeout: 15 * 60_000,
  });
  if (!readdirSync(libsDir).some((f) => f.startsWith('kafka_'))) throw new Error(`no Kafka jar landed in ${libsDir}`);
  writeFileSync(path.join(libsDir, COMPLETE), `${new Date().toISOString()}\n`);
  return 'installed';
}

/** The `wiremock` npm package ships the standalone jar; `npm ci` has installed it. */
export function wiremockJar(): string {
  const dir = path.join(REPO_ROOT, 'node_modules', 'wiremock', 'build');
  const jar = existsSync(dir) ? readdirSync(dir).find((f) => /^wiremock-standalone-.*\.jar$/.test(f)) : undefined;
  if (!jar) throw new Error(`WireMock's jar is missing under ${dir}: run npm ci`);
  return path.join(dir, jar);
}

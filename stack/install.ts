import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runSync, which } from './proc.js';
import { REPO_ROOT } from './settings.js';

const KAFKA_POM = path.join(REPO_ROOT, 'stack', 'kafka', 'pom.xml');
const COMPLETE = '.complete';
const EXTENSION_DIR = path.join(REPO_ROOT, 'wiremock', 'extension');
/** The WireMock extension that gives the Shopify stand-in Shopify's rate limit (wiremock/extension). */
export const WIREMOCK_EXTENSION_CLASS = 'local.stack.wiremock.ShopifyLeakyBucket';
/** `wiremock.Run` with a request journal that costs the same per request whatever it holds (wiremock/extension). */
export const WIREMOCK_MAIN_CLASS = 'local.stack.wiremock.StandIn';

function requireMaven(what: string): string {
  const mvn = which('mvn');
  if (!mvn) throw new Error(`Apache Maven is required to ${what}: install it (Debian: apt-get install maven).`);
  return mvn;
}

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
  const mvn = requireMaven('fetch Kafka');
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

const STANDALONE_JAR = /^wiremock-standalone-(.+)\.jar$/;

/** The `wiremock` npm package ships the standalone jar; `npm ci` has installed it. */
export function wiremockJar(): string {
  const dir = path.join(REPO_ROOT, 'node_modules', 'wiremock', 'build');
  const jar = existsSync(dir) ? readdirSync(dir).find((f) => STANDALONE_JAR.test(f)) : undefined;
  if (!jar) throw new Error(`WireMock's jar is missing under ${dir}: run npm ci`);
  return path.join(dir, jar);
}

export function wiremockVersion(): string {
  return STANDALONE_JAR.exec(path.basename(wiremockJar()))![1]!;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/** What the extension jar is built from: its sources, its pom and the WireMock it compiles against. */
function extensionFingerprint(wiremockVersion: string): string {
  const hash = createHash('sha256').update(`wiremock ${wiremockVersion}\n`);
  for (const file of [path.join(EXTENSION_DIR, 'pom.xml'), ...filesUnder(path.join(EXTENSION_DIR, 'src'))]) {
    hash.update(`${path.relative(EXTENSION_DIR, file)}\n`).update(readFileSync(file));
  }
  return hash.digest('hex');
}

/**
 * Builds wiremock/extension with Maven (its unit tests included) against the same WireMock version
 * as the npm package's jar, once: the jar is rebuilt only when its sources or that version change.
 * Maven's downloads stay in ~/.m2, so later builds run offline.
 */
export function ensureWiremockExtension(): { jar: string; state: 'present' | 'built' } {
  const target = path.join(EXTENSION_DIR, 'target');
  const jar = path.join(target, 'shopify-leaky-bucket.jar');
  const stamp = path.join(target, '.built-from');
  const version = wiremockVersion();
  const fingerprint = extensionFingerprint(version);
  if (existsSync(jar) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === fingerprint) return { jar, state: 'present' };

  const mvn = requireMaven("build WireMock's Shopify rate-limit extension");
  const javac = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'javac') : which('javac');
  if (!javac || !existsSync(javac)) {
    throw new Error(
      "A JDK 17 or newer is required to build WireMock's Shopify rate-limit extension: install it (Debian: apt-get install default-jdk-headless).",
    );
  }
  rmSync(stamp, { force: true });
  runSync(mvn, ['-q', '-B', '-f', path.join(EXTENSION_DIR, 'pom.xml'), 'package', `-Dwiremock.version=${version}`], {
    what: "mvn package (WireMock's Shopify rate-limit extension)",
    cwd: REPO_ROOT,
    timeout: 15 * 60_000,
  });
  if (!existsSync(jar)) throw new Error(`mvn package left no ${jar}`);
  writeFileSync(stamp, `${fingerprint}\n`);
  return { jar, state: 'built' };
}

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ensureWiremockExtension, requireJava, WIREMOCK_EXTENSION_CLASS, WIREMOCK_MAIN_CLASS, wiremockJar } from '../install.js';
import { runningPid, startDetached, stopPid } from '../proc.js';
import { paths, REPO_ROOT, urls, type Settings } from '../settings.js';
import { httpOk } from '../wait.js';
import type { Component } from './types.js';

export const WIREMOCK_ROOT = path.join(REPO_ROOT, 'wiremock');

/**
 * WireMock 3.13's own request journal walks all of its entries twice for every request it serves,
 * so a request cost CPU in proportion to the bound. The stack runs WireMock through
 * `local.stack.wiremock.StandIn`, whose journal does the same in constant time (wiremock/extension),
 * and still bounds it: the bound holds a few seconds of the heaviest load, enough for tests, which
 * read their own requests within moments of making them, and memory stays flat over a long run.
 */
export const WIREMOCK_JOURNAL_ENTRIES = 1000;

interface Mapping {
  id: string;
}

function defaultMappings(): Mapping[] {
  const dir = path.join(WIREMOCK_ROOT, 'mappings');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Mapping);
}

/**
 * A WireMock this stack did not start (a developer's own) lacks the default mappings: they are
 * imported, never replacing a stub of the same id nor touching any other stub.
 */
async function ensureDefaultMappings(baseUrl: string): Promise<void> {
  const mappings = defaultMappings();
  const missing: Mapping[] = [];
  for (const mapping of mappings) {
    const res = await fetch(`${baseUrl}/__admin/mappings/${mapping.id}`, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    if (res.status === 404) missing.push(mapping);
  }
  if (!missing.length) return;
  const res = await fetch(`${baseUrl}/__admin/mappings/import`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mappings: missing, importOptions: { duplicatePolicy: 'IGNORE', deleteAllNotInImport: false } }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`importing WireMock's default mappings failed: HTTP ${res.status} ${await res.text()}`);
}

export function wiremockComponent(settings: Settings): Component {
  const pidFile = path.join(paths(settings).pids, 'wiremock.pid');
  const logFile = path.join(paths(settings).logs, 'wiremock.log');
  const baseUrl = urls(settings).wiremock;
  // Names this stack on the command line, so a recycled pid is never taken for our WireMock.
  const marker = `-Dlocal.stack.dir=${settings.stackDir}`;

  return {
    name: 'wiremock',
    url: baseUrl,
    logFile,
    deadlineMs: 60_000,
    ready: () => httpOk(`${baseUrl}/__admin/health`),
    pid: () => runningPid(pidFile, marker),
    async prepare() {
      requireJava();
      wiremockJar();
      ensureWiremockExtension();
    },
    async start() {
      return startDetached({
        name: 'wiremock',
        command: requireJava(),
        args: [
          // C1 only: a fixture serves short bursts, and C2's background compiling was most of its CPU.
          '-XX:TieredStopAtLevel=1',
          '-Xms64m',
          '-Xmx384m',
          marker,
          '-cp',
          [wiremockJar(), ensureWiremockExtension().jar].join(path.delimiter),
          WIREMOCK_MAIN_CLASS,
          '--extensions',
          WIREMOCK_EXTENSION_CLASS,
          '--port',
          String(settings.wiremockPort),
          '--bind-address',
          settings.host,
          '--root-dir',
          WIREMOCK_ROOT,
          '--disable-banner',
          // Each stubbed call would otherwise add lines to the log; the request journal keeps them.
          '--disable-request-logging',
          // Delayed responses (WMS time-out tests) must not hold a container thread each.
          '--async-response-enabled',
          'true',
          '--container-threads',
          '50',
          '--max-request-journal-entries',
          String(WIREMOCK_JOURNAL_ENTRIES),
        ],
        cwd: REPO_ROOT,
        env: process.env,
        logFile,
        pidFile,
      });
    },
    afterReady: () => ensureDefaultMappings(baseUrl),
    async stop() {
      const pid = runningPid(pidFile, marker);
      if (pid) await stopPid(pid, 10_000);
    },
  };
}

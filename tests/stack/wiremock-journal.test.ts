/**
 * WireMock walks its whole request journal on every request it serves, so an unbounded (or large)
 * journal makes the fixture's CPU cost grow through a long run and skew the benchmark. The stack
 * bounds it (stack/components/wiremock.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { WIREMOCK_JOURNAL_ENTRIES } from '../../stack/components/wiremock.js';
import { stackEnv } from '../support/stack-env.js';

const base = () => stackEnv().WIREMOCK_URL.replace(/\/+$/, '');

async function journal(): Promise<{ total: number; urls: string[] }> {
  const res = await fetch(`${base()}/__admin/requests`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { meta: { total: number }; requests: Array<{ request: { url: string } }> };
  return { total: body.meta.total, urls: body.requests.map((r) => r.request.url) };
}

describe("WireMock's request journal", () => {
  it(`keeps only the latest ${WIREMOCK_JOURNAL_ENTRIES} requests, so its cost stays flat over a long run`, async (t) => {
    const prefix = `/journal-bound-${randomUUID()}`;
    t.after(async () => {
      await fetch(`${base()}/__admin/requests/remove`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ urlPathPattern: `${prefix}/.*` }),
        signal: AbortSignal.timeout(10_000),
      });
    });

    const sent = WIREMOCK_JOURNAL_ENTRIES + 50;
    const send = async (i: number) => {
      const res = await fetch(`${base()}${prefix}/${i}`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
    };
    for (let i = 0; i < sent; i += 10) await Promise.all(Array.from({ length: Math.min(10, sent - i) }, (_, k) => send(i + k)));

    const { total, urls } = await journal();
    // WireMock trims after each request without a lock: concurrent requests may trim one too many.
    assert.ok(total <= WIREMOCK_JOURNAL_ENTRIES && total > WIREMOCK_JOURNAL_ENTRIES - 20, `the journal is full and no fuller (${total})`);
    assert.ok(!urls.includes(`${prefix}/0`), 'the oldest request was dropped');
    assert.ok(urls.includes(`${prefix}/${sent - 1}`), 'the latest request is kept');
  });
});

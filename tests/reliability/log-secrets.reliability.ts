/**
 * Issue 7: no secret in any log line. Files run in name order, so this runs after the suites that
 * drive the running stack (concurrency, faults, hostile input; e2e before them in `npm test`): the
 * logs then hold what they provoked, crashes, refusals, retries, bad tokens. The in-process
 * services of private-dependencies log to memory, not to these files.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Report } from '../e2e/support.js';
import { stackLogsDir } from '../support/stack-env.js';
import { stackEnv } from '../support/stack-env.js';

describe('secrets in the stack logs', () => {
  it('no line of .stack/logs/*.log holds the webhook secret, the Shopify access token, the WMS key or the internal token', () => {
    const env = stackEnv();
    const secrets = Object.entries({
      SHOPIFY_WEBHOOK_SECRET: env.SHOPIFY_WEBHOOK_SECRET,
      SHOPIFY_ACCESS_TOKEN: env.SHOPIFY_ACCESS_TOKEN ?? 'shpat_local_access_token',
      WMS_API_KEY: env.WMS_API_KEY ?? 'local-wms-key',
      INTERNAL_API_TOKEN: env.INTERNAL_API_TOKEN,
    });
    const dir = stackLogsDir();
    const files = readdirSync(dir).filter((f) => f.endsWith('.log'));
    for (const service of ['order-manage-api', 'order-manage-data-api', 'order-stream-process']) {
      assert.ok(files.includes(`${service}.log`), `${service}.log exists in ${dir}`);
    }
    let lines = 0;
    const leaks: string[] = [];
    for (const file of files) {
      for (const [n, line] of readFileSync(path.join(dir, file), 'utf8').split('\n').entries()) {
        lines++;
        for (const [name, value] of secrets) {
          if (value && line.includes(value)) leaks.push(`${file}:${n + 1} holds ${name}: ${line.slice(0, 200)}`);
        }
      }
    }
    assert.ok(lines > 100, `the logs hold the suites' traffic (${lines} lines)`);
    assert.deepEqual(leaks, []);
    const report = new Report('reliability: secrets in logs');
    report.add({
      scenario: `${files.length} log files, ${lines} lines scanned`,
      requests: 0,
      faults: '-',
      accepted: 0,
      refused: 0,
      lost: 0,
      oversold: 0,
    });
    report.print();
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitWithin, freePort, serviceEnvFromStack, spawnService, type Service } from './support.js';

/** One variable each service cannot start without, and one malformed value. */
const CASES: Array<{ service: Service; missing: string; invalid: [string, string] }> = [
  { service: 'order-manage-api', missing: 'WMS_BASE_URL', invalid: ['DATA_API_URL', 'not a url'] },
  { service: 'order-manage-data-api', missing: 'DATABASE_URL', invalid: ['KAFKA_BROKERS', 'no-port-here'] },
  { service: 'order-stream-process', missing: 'KAFKA_BROKERS', invalid: ['PORT', '99999'] },
];

describe('a service with a bad configuration refuses to start and names the variable', () => {
  for (const { service, missing, invalid } of CASES) {
    it(`${service} without ${missing} exits with status 78 and names ${missing}`, async () => {
      const env = serviceEnvFromStack(service, await freePort());
      delete env[missing];
      const run = spawnService(service, env);
      const { code } = await exitWithin(run, 30_000);
      assert.equal(code, 78, run.output().stderr);
      assert.match(run.output().stderr, new RegExp(`${missing} is required but not set`));
    });

    it(`${service} with ${invalid[0]}="${invalid[1]}" exits with status 78 and names ${invalid[0]}`, async () => {
      const env = { ...serviceEnvFromStack(service, await freePort()), [invalid[0]]: invalid[1] };
      const run = spawnService(service, env);
      const { code } = await exitWithin(run, 30_000);
      assert.equal(code, 78, run.output().stderr);
      assert.match(run.output().stderr, new RegExp(`- ${invalid[0]}\\b`));
      assert.doesNotMatch(run.output().stderr, new RegExp(env.INTERNAL_API_TOKEN ?? '\\0never'), 'no secret is printed');
    });
  }
});

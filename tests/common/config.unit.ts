import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigError, parseConfig, port, url } from '@oms/common';

const schema = z.object({ PORT: port(8080), DATA_API_URL: url(), WMS_TIMEOUT_MS: z.coerce.number().int().positive() });

describe('service configuration', () => {
  it('applies defaults and coerces numbers', () => {
    const config = parseConfig('svc', schema, { DATA_API_URL: 'http://localhost:8081', WMS_TIMEOUT_MS: '2000' });
    assert.deepEqual(config, { PORT: 8080, DATA_API_URL: 'http://localhost:8081', WMS_TIMEOUT_MS: 2000 });
  });

  it('names every missing or malformed variable in one error', () => {
    assert.throws(
      () => parseConfig('svc', schema, { PORT: 'eighty', WMS_TIMEOUT_MS: '2000' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /PORT/);
        assert.match(err.message, /DATA_API_URL is required but not set/);
        assert.doesNotMatch(err.message, /WMS_TIMEOUT_MS/);
        return true;
      },
    );
  });
});

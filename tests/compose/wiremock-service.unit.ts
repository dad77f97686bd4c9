/**
 * docker compose runs the same WireMock as the local stack (stack/components/wiremock.ts): the same
 * version, the Shopify rate-limit extension built in, the same journal bound.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { WIREMOCK_EXTENSION_CLASS, wiremockVersion } from '../../stack/install.js';
import { WIREMOCK_JOURNAL_ENTRIES } from '../../stack/components/wiremock.js';
import { REPO_ROOT } from '../support/stack-env.js';

const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: { wiremock: { build: { context: string; args: Record<string, string> }; command: string[] } };
};
const wiremock = compose.services.wiremock;

describe("docker compose's WireMock", () => {
  it('is built from wiremock/extension on the WireMock version the local stack runs', () => {
    assert.equal(path.resolve(REPO_ROOT, wiremock.build.context), path.join(REPO_ROOT, 'wiremock', 'extension'));
    assert.equal(wiremock.build.args.WIREMOCK_VERSION, wiremockVersion());
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'wiremock', 'extension', 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /^FROM wiremock\/wiremock:\$\{WIREMOCK_VERSION\}$/m);
    assert.match(dockerfile, /^COPY --from=build \S+\/shopify-leaky-bucket\.jar \/var\/wiremock\/extensions\/$/m);
  });

  it('loads the Shopify rate-limit extension and bounds its journal as the local stack does', () => {
    assert.ok(wiremock.command.includes(`--extensions=${WIREMOCK_EXTENSION_CLASS}`));
    assert.ok(wiremock.command.includes(`--max-request-journal-entries=${WIREMOCK_JOURNAL_ENTRIES}`));
  });
});

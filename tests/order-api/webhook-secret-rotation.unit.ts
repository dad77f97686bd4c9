import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { verifySignature } from '../../services/order-manage-api/src/domain/signature.js';

const body = Buffer.from('{"id":820982911946154508,"line_items":[]}');
const sign = (secret: string) => createHmac('sha256', secret).update(body).digest('base64');

describe('the webhook signature rule while a secret is rotated (two secrets, docs/spec.md section 12)', () => {
  it('accepts a signature of either secret, and of a single secret given as a list', () => {
    assert.equal(verifySignature(body, sign('old-secret'), ['old-secret', 'new-secret']), true);
    assert.equal(verifySignature(body, sign('new-secret'), ['old-secret', 'new-secret']), true);
    assert.equal(verifySignature(body, sign('old-secret'), ['old-secret']), true);
  });

  it('refuses a signature of neither, and anything with no secret at all', () => {
    assert.equal(verifySignature(body, sign('third-secret'), ['old-secret', 'new-secret']), false);
    assert.equal(verifySignature(body, sign('old-secret'), []), false);
  });
});

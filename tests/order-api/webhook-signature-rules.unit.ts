import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { isWellFormedSignature, verifySignature } from '../../services/order-manage-api/src/domain/signature.js';

const SECRET = 'local-webhook-secret';
const body = Buffer.from('{"id":820982911946154508,"line_items":[]}');
const sign = (raw: Buffer, secret = SECRET) => createHmac('sha256', secret).update(raw).digest('base64');

describe('the webhook signature rule (HMAC-SHA256 of the raw body, SPEC section 2)', () => {
  it("accepts Shopify's own signature of the exact bytes", () => {
    assert.equal(verifySignature(body, sign(body), SECRET), true);
  });

  it('refuses a signature of other bytes, of another secret, a missing or an empty header', () => {
    assert.equal(verifySignature(Buffer.from(`${body.toString()} `), sign(body), SECRET), false);
    assert.equal(verifySignature(body, sign(body, 'another-secret'), SECRET), false);
    assert.equal(verifySignature(body, undefined, SECRET), false);
    assert.equal(verifySignature(body, '', SECRET), false);
  });

  it('refuses a signature in hex, or with one character changed', () => {
    const good = sign(body);
    assert.equal(verifySignature(body, createHmac('sha256', SECRET).update(body).digest('hex'), SECRET), false);
    assert.equal(verifySignature(body, good.replace(/\+/g, '-').replace(/\//g, '_'), SECRET), good === good.replace(/[+/]/g, ''));
    const flipped = `${good[0] === 'A' ? 'B' : 'A'}${good.slice(1)}`;
    assert.equal(verifySignature(body, flipped, SECRET), false);
  });

  it('takes as well formed only 43 base64 characters and one "=", before the body is read', () => {
    const good = sign(body);
    assert.equal(isWellFormedSignature(good), true);
    assert.equal(isWellFormedSignature(undefined), false);
    assert.equal(isWellFormedSignature(`x${good}`), false, 'a character before');
    assert.equal(isWellFormedSignature(`${good}x`), false, 'a character after');
    assert.equal(isWellFormedSignature(`${good.slice(0, 42)}=`), false, 'one character short');
    assert.equal(isWellFormedSignature('='), false);
    assert.equal(isWellFormedSignature(`${'!'.repeat(43)}=`), false, 'not base64');
    assert.equal(isWellFormedSignature(`${'a'.repeat(43)}=`), true);
  });

  it('refuses a well-formed header that decodes to another digest (an HMAC-SHA1 padded to the length) without throwing', () => {
    const sha1 = createHmac('sha1', SECRET).update(body).digest();
    const padded = Buffer.concat([sha1, Buffer.alloc(12)]).toString('base64');
    assert.equal(isWellFormedSignature(padded), true);
    assert.equal(verifySignature(body, padded, SECRET), false);
  });
});

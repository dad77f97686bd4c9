import { createHmac, timingSafeEqual } from 'node:crypto';

/** A base64 SHA-256 digest is always 43 characters and one '=' of padding. */
const DIGEST_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Whether the header can be a Shopify signature at all. Checked before the body is read, so a
 * request without one is refused without spending a byte of buffer on it.
 */
export function isWellFormedSignature(header: string | undefined): header is string {
  return typeof header === 'string' && DIGEST_BASE64.test(header);
}

/**
 * HMAC-SHA256 of the exact raw bytes, compared in constant time with each secret: one, or two while
 * one is being rotated (SHOPIFY_WEBHOOK_SECRET, docs/spec.md section 12). Every secret is tried whatever
 * the first gave, so the time taken tells nothing of which one matched.
 */
export function verifySignature(rawBody: Buffer, header: string | undefined, secrets: string | readonly string[]): boolean {
  if (!isWellFormedSignature(header)) return false;
  const given = Buffer.from(header, 'base64');
  let authentic = false;
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    authentic = (given.length === expected.length && timingSafeEqual(given, expected)) || authentic;
  }
  return authentic;
}

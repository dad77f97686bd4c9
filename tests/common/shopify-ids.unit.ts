import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { compareShopifyIds, orderText, quantity, shopifyIdString } from '@oms/common';

describe('comparing ids as numbers without parsing them', () => {
  it('gives 0 for the same id and the sign of the difference for ids of one length', () => {
    assert.equal(compareShopifyIds('7523456789001', '7523456789001'), 0);
    assert.equal(compareShopifyIds('7523456789002', '7523456789001'), 1);
    assert.equal(compareShopifyIds('7523456789001', '7523456789002'), -1);
    assert.ok(compareShopifyIds('10', '9') > 0, 'a longer decimal is the larger number');
  });
});

describe('the shared order limits (what both services accept)', () => {
  const messages = (schema: z.ZodType, value: unknown) => {
    const result = schema.safeParse(value);
    return result.success ? [] : result.error.issues.map((i) => i.message);
  };

  it('reads an id in the JSON this system writes only as a decimal string, naming the rule', () => {
    const id = shopifyIdString('productId');
    assert.equal(id.parse('7523456789001'), '7523456789001');
    assert.deepEqual(messages(id, 7523456789001), ['productId must be a positive integer below 2^63, as a decimal string']);
    assert.deepEqual(messages(id, '0'), ['productId must be a positive integer below 2^63, as a decimal string']);
    assert.deepEqual(messages(id, '9223372036854775808'), ['productId must be a positive integer below 2^63, as a decimal string']);
  });

  it('names the field in text and quantity errors', () => {
    assert.deepEqual(messages(orderText('title', 3), 'abcd'), ['title must be at most 3 characters']);
    assert.deepEqual(messages(orderText('title', 3), 'a\u0000'), ['title must not contain a NUL character']);
    assert.deepEqual(messages(quantity('quantity'), '1'), ['quantity must be an integer of at least 1']);
  });
});

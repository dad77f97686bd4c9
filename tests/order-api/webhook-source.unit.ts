import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { webhookSource } from '../../services/order-manage-api/src/routes/delivery.js';

describe('who may deliver webhooks', () => {
  it('takes one SHOPIFY_WEBHOOK_SECRET as the only secret', () => {
    assert.deepEqual(webhookSource('whsec-current'), { secrets: ['whsec-current'] });
  });

  it('takes both secrets while one is being rotated, as a copy of its own', () => {
    const configured = ['whsec-new', 'whsec-old'];
    const source = webhookSource(configured);
    configured.pop();
    assert.deepEqual(source, { secrets: ['whsec-new', 'whsec-old'] });
  });

  it('names the shop in lower case, and no shop when SHOPIFY_SHOP_DOMAIN is empty', () => {
    assert.deepEqual(webhookSource('whsec-current', 'Demo-Store.MyShopify.com'), {
      secrets: ['whsec-current'],
      shopDomain: 'demo-store.myshopify.com',
    });
    assert.deepEqual(webhookSource('whsec-current', ''), { secrets: ['whsec-current'] });
  });
});

/**
 * contracts/openapi.yaml describes the stock operations endpoints as they answer: every answer of
 * the running data-api's adjustments, movements and WMS sync endpoints matches its documented schema.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { closeDb, createTestProduct } from '../support/db.js';
import { $defs, ajv, asJsonSchema, assertMatchesOpenApi, openapi } from '../support/openapi.js';
import { adjust, type Answer, dataApi } from './stock-support.js';

after(closeDb);

function assertDocumented(route: string, method: string, answer: Answer): void {
  assertMatchesOpenApi(route, method, { status: answer.status, contentType: answer.headers.get('content-type') ?? '', body: answer.json });
}

/** The request body schema accepts what the service accepts. */
function assertDocumentedRequest(route: string, body: unknown, valid: boolean): void {
  const schema = (openapi.paths[route]!.post as unknown as { requestBody: { content: { 'application/json': { schema: unknown } } } })
    .requestBody.content['application/json'].schema;
  const validate = ajv.compile({ $defs, ...(asJsonSchema(schema) as object) });
  assert.equal(validate(body), valid, `${JSON.stringify(body)}: ${ajv.errorsText(validate.errors)}`);
}

describe('openapi.yaml describes the stock operations endpoints as they answer', () => {
  it('POST /api/inventory/adjustments: 201, 200 (replay and unchanged), 400, 401, 404, 409, 422', async () => {
    const v = await createTestProduct({ availableQuantity: 5, atShopify: false });
    const route = '/api/inventory/adjustments';
    const body = { sku: v.sku, delta: 2, reason: 'restock', key: `test-openapi-${randomUUID()}` };
    const answers: Array<[number, Answer]> = [
      [201, await adjust(body)],
      [200, await adjust(body)],
      [200, await adjust({ sku: v.sku, set: 7, reason: 'correction', key: `test-openapi-${randomUUID()}` })],
      [400, await adjust({ sku: v.sku, reason: 'restock', key: 'k' })],
      [401, await adjust(body, false)],
      [404, await adjust({ sku: `NO-SUCH-${randomUUID()}`, delta: 1, reason: 'restock', key: `test-openapi-${randomUUID()}` })],
      [409, await adjust({ ...body, delta: 3 })],
      [422, await adjust({ sku: v.sku, delta: -8, reason: 'correction', key: `test-openapi-${randomUUID()}` })],
    ];
    for (const [status, answer] of answers) {
      assert.equal(answer.status, status);
      assertDocumented(route, 'post', answer);
    }
    assertDocumentedRequest(route, body, true);
    assertDocumentedRequest(route, { variantId: '45123456790008', set: 0, reason: 'correction', key: 'k' }, true);
    assertDocumentedRequest(route, { ...body, set: 3 }, false);
    assertDocumentedRequest(route, { delta: 1, reason: 'restock', key: 'k' }, false);
    assertDocumentedRequest(route, { ...body, delta: 0 }, false);
  });

  it('GET /api/inventory/movements: 200, 400, 401', async () => {
    const v = await createTestProduct({ availableQuantity: 5, atShopify: false });
    const route = '/api/inventory/movements';
    const page = await dataApi(`${route}?variantId=${v.variantId}`);
    assert.equal(page.status, 200);
    assert.equal((page.json.movements as unknown[]).length, 1);
    assertDocumented(route, 'get', page);
    assertDocumented(route, 'get', await dataApi(`${route}?limit=2`));
    const bad = await dataApi(`${route}?cursor=abc`);
    assert.equal(bad.status, 400);
    assertDocumented(route, 'get', bad);
    const anonymous = await dataApi(route, { auth: false });
    assert.equal(anonymous.status, 401);
    assertDocumented(route, 'get', anonymous);
  });

  it('POST /internal/inventory/wms-sync: 200 (a dry run), 400, 401', async () => {
    const v = await createTestProduct({ availableQuantity: 5, atShopify: false });
    const route = '/internal/inventory/wms-sync';
    const body = {
      runId: `test-${randomUUID()}`,
      dryRun: true,
      items: [
        { sku: v.sku, availableQuantity: 9 },
        { sku: `NO-SUCH-${randomUUID()}`, availableQuantity: 1 },
      ],
    };
    const dry = await dataApi(route, { method: 'POST', body });
    assert.equal(dry.status, 200);
    assert.deepEqual(dry.json, {
      runId: body.runId,
      dryRun: true,
      changed: [{ variantId: String(v.variantId), sku: v.sku, before: 5, wms: 9, delta: 4, movementId: null }],
      unchanged: 0,
      alreadySynced: [],
      unknownSkus: [body.items[1]!.sku],
    });
    assertDocumented(route, 'post', dry);
    assertDocumentedRequest(route, body, true);
    const twice = await dataApi(route, { method: 'POST', body: { ...body, items: [body.items[0], body.items[0]] } });
    assert.equal(twice.status, 400, 'each SKU once in a page');
    assertDocumented(route, 'post', twice);
    const negative = await dataApi(route, { method: 'POST', body: { ...body, items: [{ sku: v.sku, availableQuantity: -1 }] } });
    assert.equal(negative.status, 400);
    const anonymous = await dataApi(route, { method: 'POST', body, auth: false });
    assert.equal(anonymous.status, 401);
    assertDocumented(route, 'post', anonymous);
  });
});

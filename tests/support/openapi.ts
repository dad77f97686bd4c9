/** contracts/openapi.yaml as JSON Schema validators, for the tests that keep it true. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from './stack-env.js';

type Content = Record<string, { schema: unknown }>;

export const openapi = parseYaml(readFileSync(path.join(REPO_ROOT, 'contracts', 'openapi.yaml'), 'utf8')) as {
  paths: Record<string, Record<string, { responses: Record<string, { $ref?: string; content?: Content }> }>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, { content: Content }> };
};

/** OpenAPI refs point into components; as JSON Schema 2020-12 they become $defs of each checked schema. */
export function asJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(asJsonSchema);
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', '#/$defs/') : asJsonSchema(v),
      ]),
    );
  }
  return node;
}

export const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);
export const $defs = asJsonSchema(openapi.components.schemas) as Record<string, unknown>;
const validators = new Map<string, ValidateFunction>();

/** Checks one answer against the OpenAPI operation's response for its status and content type. */
export function assertMatchesOpenApi(route: string, method: string, answer: { status: number; contentType: string; body: unknown }): void {
  const operation = openapi.paths[route]?.[method.toLowerCase()];
  assert.ok(operation, `openapi.yaml has no ${method} ${route}`);
  let response = operation.responses[String(answer.status)];
  assert.ok(response, `openapi.yaml has no ${answer.status} answer for ${method} ${route}`);
  if (response.$ref) response = openapi.components.responses[response.$ref.split('/').pop()!]!;
  const mediaType = answer.contentType.split(';')[0]!.trim();
  const content = response.content?.[mediaType];
  assert.ok(content, `openapi.yaml has no ${mediaType} body for ${answer.status} of ${method} ${route}`);
  const key = `${method.toLowerCase()} ${route} ${answer.status} ${mediaType}`;
  const validate = validators.get(key) ?? ajv.compile({ $defs, ...(asJsonSchema(content.schema) as object) });
  validators.set(key, validate);
  assert.ok(
    validate(answer.body),
    `${method} ${route} ${answer.status} does not match openapi.yaml: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(answer.body)}`,
  );
}

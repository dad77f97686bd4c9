/**
 * The offline renderer behind the deploy/k8s tests refuses what it does not implement, so a
 * kustomization using another Kustomize feature fails here instead of being rendered wrongly.
 * (Its output for deploy/k8s was compared with `kubectl kustomize`, kustomize v5.5.0: identical.)
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { renderKustomization } from './kustomize.js';

const root = mkdtempSync(path.join(tmpdir(), 'kustomize-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - { name: web, image: "registry:5000/web:1.0", args: [a] }
`;

function kustomization(name: string, overlay: string): string {
  const base = path.join(root, name, 'base');
  const dir = path.join(root, name, 'overlay');
  mkdirSync(base, { recursive: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(base, 'deployment.yaml'), DEPLOYMENT);
  writeFileSync(path.join(base, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml]\n');
  writeFileSync(path.join(dir, 'kustomization.yaml'), `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../base]\n${overlay}`);
  return dir;
}

describe('the offline Kustomize renderer', () => {
  it('applies namespace, images (keeping a registry port) and JSON 6902 patches as kubectl kustomize does', () => {
    const dir = kustomization(
      'ok',
      `namespace: shop
images: [{ name: "registry:5000/web", newTag: "2.0" }]
patches:
  - target: { kind: Deployment, name: web }
    patch: |-
      - { op: add, path: /spec/template/spec/containers/0/args/-, value: b }
`,
    );
    const [deployment] = renderKustomization(dir) as unknown as Array<{ metadata: { namespace?: string }; spec: { template: { spec: { containers: Array<{ image: string; args: string[] }> } } } }>;
    assert.equal(deployment!.metadata.namespace, 'shop');
    assert.equal(deployment!.spec.template.spec.containers[0]!.image, 'registry:5000/web:2.0');
    assert.deepEqual(deployment!.spec.template.spec.containers[0]!.args, ['a', 'b']);
  });

  it('refuses a kustomization field it does not implement', () => {
    const dir = kustomization('unsupported', 'commonLabels: { team: shop }\n');
    assert.throws(() => renderKustomization(dir), /does not implement commonLabels/);
  });

  it('refuses a patch whose target or path does not exist', () => {
    const noTarget = kustomization('no-target', 'patches: [{ target: { kind: Deployment, name: api }, patch: "[]" }]\n');
    assert.throws(() => renderKustomization(noTarget), /matches nothing/);
    const noPath = kustomization(
      'no-path',
      'patches: [{ target: { kind: Deployment, name: web }, patch: "[{ op: replace, path: /spec/replicas, value: 2 }]" }]\n',
    );
    assert.throws(() => renderKustomization(noPath), /\/spec\/replicas does not exist/);
  });
});

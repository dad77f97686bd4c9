/**
 * The rendered manifests against the Kubernetes OpenAPI schema, offline: kubernetes-models (pinned
 * exactly in package.json) ships validators compiled from the v1.36 OpenAPI definitions. Its
 * validators check types, required fields, formats and enums, not unknown field names; the
 * guarantee tests next to this file read every field that matters by name, so a misspelt one fails
 * there. The package also keeps removed API versions (for old clusters), hence the explicit list
 * below: only versions a 1.36 API server serves.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { find, type K8sObject, kustomize, OVERLAYS, rendered } from './manifests.js';

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
};

/** Throws with the schema's own message when the object does not validate. */
function validate(object: K8sObject): void {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  assert.ok(Model, `${object.apiVersion} ${object.kind} is an API Kubernetes 1.36 serves and deploy/k8s expects`);
  new Model(structuredClone(object) as never).validate();
}

describe('deploy/k8s against the Kubernetes 1.36 OpenAPI schema', () => {
  for (const overlay of OVERLAYS) {
    it(`every object the ${overlay} overlay renders validates`, () => {
      const objects = rendered(overlay);
      assert.ok(objects.length > 0);
      for (const object of objects) {
        assert.doesNotThrow(() => validate(object), `${object.kind}/${object.metadata.name}`);
      }
    });
  }

  it('the validator refuses a Deployment whose replicas is not an integer or whose container has no name', () => {
    const deployment = structuredClone(find(rendered('production'), 'Deployment', 'order-stream-process')) as K8sObject & {
      spec: { replicas: unknown; template: { spec: { containers: Array<{ name?: string }> } } };
    };
    deployment.spec.replicas = 'two';
    assert.throws(() => validate(deployment), /replicas must be integer/);
    deployment.spec.replicas = 2;
    delete deployment.spec.template.spec.containers[0]!.name;
    assert.throws(() => validate(deployment), /containers\/0 must have required property name/);
  });

  it('refuses an API version a 1.36 cluster no longer serves (policy/v1beta1 PodDisruptionBudget)', () => {
    const pdb = { ...find(rendered('production'), 'PodDisruptionBudget', 'order-manage-api'), apiVersion: 'policy/v1beta1' };
    assert.throws(() => validate(pdb), /Kubernetes 1.36 serves/);
  });
});

describe('deploy/k8s rendered by kubectl kustomize', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'kustomize-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('without kubectl on PATH the suite fails, naming kubectl as its prerequisite', () => {
    assert.throws(() => kustomize(path.join(root, 'any'), { PATH: root }), /^Error: kubectl is a prerequisite of the deploy tests/);
  });

  it('keeps the load restrictor: a kustomization that reads a file outside its directory is refused', () => {
    mkdirSync(path.join(root, 'overlay'));
    writeFileSync(path.join(root, 'outside.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: outside }\n');
    writeFileSync(path.join(root, 'overlay', 'kustomization.yaml'), 'resources: [../outside.yaml]\n');
    assert.throws(() => kustomize(path.join(root, 'overlay')), /security; file '.*outside\.yaml' is not in or below/);
  });
});

/**
 * The rendered deploy/k8s overlays, and what a pod would see of them: for the tests in this folder.
 * They are rendered by `kubectl kustomize` (Kustomize v5), the tool `kubectl apply -k` runs, with its
 * default load restrictor (no file outside a kustomization's directory): kubectl is a prerequisite of
 * this suite (README, docs/testing.md).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { configSchema as apiSchema } from '../../services/order-manage-api/src/config.js';
import { configSchema as dataApiSchema } from '../../services/order-manage-data-api/src/config.js';
import { configSchema as streamSchema } from '../../services/order-stream-process/src/config.js';
import { REPO_ROOT } from '../support/stack-env.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

export const KUBECTL_MISSING =
  'kubectl is a prerequisite of the deploy tests (tests/deploy render deploy/k8s with `kubectl kustomize`): install kubectl 1.30+ and put it on PATH';

/** The objects `kubectl kustomize <dir>` prints; `env` is the environment kubectl runs in (its PATH finds kubectl). */
export function kustomize(dir: string, env: NodeJS.ProcessEnv = process.env): K8sObject[] {
  const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', env, maxBuffer: 64 * 2 ** 20 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error(KUBECTL_MISSING);
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${run.stderr.trim()}`);
  return parseAllDocuments(run.stdout)
    .map((doc) => {
      if (doc.errors.length) throw new Error(`kubectl kustomize ${dir}: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

export const K8S_DIR = path.join(REPO_ROOT, 'deploy', 'k8s');
export const OVERLAYS = ['production', 'staging'] as const;
export type Overlay = (typeof OVERLAYS)[number];

export const SCHEMAS = {
  'order-manage-api': apiSchema,
  'order-manage-data-api': dataApiSchema,
  'order-stream-process': streamSchema,
} as const;
export type AppService = keyof typeof SCHEMAS;
export const APP_SERVICES = Object.keys(SCHEMAS) as AppService[];

/** Settings that carry a credential, or a URL that can, and the client ID that goes with its secret: they belong in the Secret. */
export const SECRET_SETTINGS = [
  'DATABASE_URL',
  'REDIS_URL',
  'INTERNAL_API_TOKEN',
  'WMS_API_KEY',
  'SHOPIFY_WEBHOOK_SECRET',
  'SHOPIFY_ACCESS_TOKEN',
  'SHOPIFY_CLIENT_ID',
  'SHOPIFY_CLIENT_SECRET',
  'KAFKA_SASL_PASSWORD',
];

/** The image's NODE_ENV (the Dockerfile's runtime stage), under which every pod runs. */
export const IMAGE_NODE_ENV = /^\s+NODE_ENV=(\S+)/m.exec(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'))?.[1];

/** The Secret every workload reads: the operator's, created outside git (no overlay renders it). */
export const OPERATOR_SECRET = 'order-intake';
export const SECRETS_ENV_EXAMPLE = path.join(K8S_DIR, 'overlays', 'production', 'secrets.env.example');

/**
 * secrets.env.example as `kubectl create secret generic --from-env-file` reads it: KEY=value lines,
 * `#` lines skipped. `optional` lists the keys left commented out (`# KEY=value`), which a workload
 * may read only through an optional reference.
 */
export function secretsEnvExample(): { values: Record<string, string>; optional: string[] } {
  const lines = readFileSync(SECRETS_ENV_EXAMPLE, 'utf8').split('\n');
  const values = Object.fromEntries(
    lines.filter((l) => /^[A-Z][A-Z0-9_]*=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const optional = lines.flatMap((l) => /^# ([A-Z][A-Z0-9_]*)=/.exec(l)?.[1] ?? []);
  return { values, optional };
}

/** The Secret an operator would create from secrets.env.example with every placeholder filled in (fresh random values). */
export function operatorSecret(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(secretsEnvExample().values).map(([k, v]) => [k, v.replace(/replace-me/g, () => randomBytes(16).toString('hex'))]),
  );
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{
    name: string;
    value?: string;
    valueFrom?: { configMapKeyRef?: { name: string; key: string }; secretKeyRef?: { name: string; key: string; optional?: boolean } };
  }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  startupProbe?: { httpGet?: { path: string; port: string | number } };
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  restartPolicy?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  volumes?: Array<{ name: string; emptyDir?: object }>;
}

export interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    strategy?: { rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } };
    backoffLimit?: number;
    ttlSecondsAfterFinished?: number;
    template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
  };
}

const cache = new Map<Overlay, K8sObject[]>();
const operatorSecrets = new WeakMap<K8sObject[], Record<string, string>>();

export function rendered(overlay: Overlay): K8sObject[] {
  if (!cache.has(overlay)) cache.set(overlay, kustomize(path.join(K8S_DIR, 'overlays', overlay)));
  return cache.get(overlay)!;
}

/**
 * The values a workload reads from the operator's Secret (which no overlay renders): one
 * `operatorSecret()` per render, or `values` (a test's own Secret) when given.
 */
export function withOperatorSecret(objects: K8sObject[], values?: Record<string, string>): K8sObject[] {
  const copy = [...objects];
  operatorSecrets.set(copy, values ?? operatorSecret());
  return copy;
}

export function ofKind<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

export function find<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind}/${name} is rendered`);
  return found as T;
}

export function workloads(objects: K8sObject[]): Workload[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job') as Workload[];
}

export function containersOf(w: Workload): Container[] {
  return [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers];
}

export function mainContainer(objects: K8sObject[], service: AppService): Container {
  const containers = find<Workload>(objects, 'Deployment', service).spec.template.spec.containers;
  assert.equal(containers.length, 1, `${service} runs one container`);
  return containers[0]!;
}

export function configMapData(objects: K8sObject[], name: string): Record<string, string> {
  return (find(objects, 'ConfigMap', name) as K8sObject & { data?: Record<string, string> }).data ?? {};
}

export function secretData(objects: K8sObject[], name: string): Record<string, string> {
  const isRendered = objects.some((o) => o.kind === 'Secret' && o.metadata.name === name);
  if (!isRendered && name === OPERATOR_SECRET) {
    if (!operatorSecrets.has(objects)) operatorSecrets.set(objects, operatorSecret());
    return operatorSecrets.get(objects)!;
  }
  const secret = find(objects, 'Secret', name) as K8sObject & { data?: Record<string, string>; stringData?: Record<string, string> };
  const decoded = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  return { ...decoded, ...secret.stringData };
}

export interface ResolvedVar {
  value: string;
  source: 'literal' | 'configmap' | 'secret';
}

/** The environment the kubelet would give the container: envFrom first, then env overriding it. */
export function resolvedEnv(objects: K8sObject[], container: Container): Record<string, ResolvedVar> {
  const env: Record<string, ResolvedVar> = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      for (const [k, value] of Object.entries(configMapData(objects, from.configMapRef.name))) env[k] = { value, source: 'configmap' };
    }
    if (from.secretRef) {
      for (const [k, value] of Object.entries(secretData(objects, from.secretRef.name))) env[k] = { value, source: 'secret' };
    }
  }
  for (const e of container.env ?? []) {
    const cm = e.valueFrom?.configMapKeyRef;
    const secret = e.valueFrom?.secretKeyRef;
    if (cm) {
      const value = configMapData(objects, cm.name)[cm.key];
      assert.ok(value !== undefined, `${container.name}: ConfigMap ${cm.name} has key ${cm.key}`);
      env[e.name] = { value, source: 'configmap' };
    } else if (secret) {
      const value = secretData(objects, secret.name)[secret.key];
      // An optional key the Secret does not hold leaves the variable unset, as the kubelet does.
      if (value === undefined && secret.optional) continue;
      assert.ok(value !== undefined, `${container.name}: Secret ${secret.name} has key ${secret.key}`);
      env[e.name] = { value, source: 'secret' };
    } else {
      assert.ok(e.value !== undefined, `${container.name}: ${e.name} has a value`);
      env[e.name] = { value: e.value, source: 'literal' };
    }
  }
  return env;
}

export function plainEnv(resolved: Record<string, ResolvedVar>): Record<string, string> {
  return Object.fromEntries(Object.entries(resolved).map(([k, v]) => [k, v.value]));
}

/** A label selector's matchLabels against a pod's labels (matchExpressions are not used in deploy/k8s). */
export function selects(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | undefined,
  labels: Record<string, string> = {},
): boolean {
  assert.ok(!selector?.matchExpressions, 'selectors use matchLabels only');
  return Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

export function podLabels(w: Workload): Record<string, string> {
  return w.spec.template.metadata?.labels ?? {};
}

/** A container port by name or number. */
export function containerPort(container: Container, port: string | number): number {
  if (typeof port === 'number') return port;
  const found = container.ports?.find((p) => p.name === port);
  assert.ok(found, `${container.name} names a port ${port}`);
  return found.containerPort;
}

/** CPU in cores or memory in bytes from a Kubernetes quantity ("250m", "1", "512Mi", "1Gi"). */
export function quantity(q: string): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
  assert.ok(match, `"${q}" is a quantity`);
  const factor: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(match[1]) * (match[2] ? factor[match[2]]! : 1);
}

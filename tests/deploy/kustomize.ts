/**
 * Renders a Kustomize directory the way `kubectl kustomize` does, for the few features deploy/k8s
 * uses: `resources` (files and directories), `namespace`, `images` and inline JSON 6902 `patches`
 * targeted by kind and name. No kustomize or kubectl binary can be installed from npm, and these
 * tests run offline; a kustomization that asks for anything else is refused rather than half
 * rendered, so a test can never pass on output the real tool would not produce.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

interface ImageRule {
  name: string;
  newName?: string;
  newTag?: string;
}

interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

interface PatchRule {
  target: { kind: string; name: string };
  patch: string;
}

const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass']);

function fail(dir: string, message: string): never {
  throw new Error(`${path.join(dir, 'kustomization.yaml')}: ${message}`);
}

function readObjects(file: string): K8sObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** `image: name[:tag][@digest]` split on the tag's colon, which comes after the registry's port, if any. */
function splitImage(image: string): { name: string; tag?: string } {
  const withoutDigest = image.split('@')[0]!;
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/') ? { name: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1) } : { name: withoutDigest };
}

function setImages(object: K8sObject, rules: ImageRule[]): void {
  const podSpec = (object.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec;
  if (!podSpec) return;
  for (const list of ['initContainers', 'containers']) {
    for (const container of (podSpec[list] as Array<{ image?: string }> | undefined) ?? []) {
      if (!container.image) continue;
      const { name, tag } = splitImage(container.image);
      const rule = rules.find((r) => r.name === name);
      if (!rule) continue;
      const newTag = rule.newTag ?? tag;
      container.image = `${rule.newName ?? name}${newTag ? `:${newTag}` : ''}`;
    }
  }
}

/** RFC 6901 pointer segments, unescaped. */
function pointer(p: string): string[] {
  if (!p.startsWith('/')) throw new Error(`JSON pointer must start with /: ${p}`);
  return p.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** RFC 6902 add, replace and remove; a path that does not exist is an error, as in kustomize. */
function applyOp(object: K8sObject, op: JsonPatchOp): void {
  const segments = pointer(op.path);
  const last = segments.pop()!;
  let parent: unknown = object;
  for (const s of segments) {
    parent = Array.isArray(parent) ? parent[Number(s)] : (parent as Record<string, unknown> | undefined)?.[s];
    if (parent === undefined || parent === null || typeof parent !== 'object') throw new Error(`patch path ${op.path} does not exist`);
  }
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (!Number.isInteger(index) || index < 0 || index > parent.length || (op.op !== 'add' && index >= parent.length)) {
      throw new Error(`patch path ${op.path} is out of range`);
    }
    if (op.op === 'add') parent.splice(index, 0, op.value);
    else if (op.op === 'replace') parent[index] = op.value;
    else parent.splice(index, 1);
    return;
  }
  const record = parent as Record<string, unknown>;
  if (op.op !== 'add' && !(last in record)) throw new Error(`patch path ${op.path} does not exist`);
  if (op.op === 'remove') delete record[last];
  else record[last] = op.value;
}

function applyPatches(dir: string, objects: K8sObject[], rules: PatchRule[]): void {
  for (const rule of rules) {
    const extra = Object.keys(rule.target ?? {}).filter((k) => k !== 'kind' && k !== 'name');
    if (!rule.target?.kind || !rule.target.name || extra.length) fail(dir, 'a patch target must be exactly { kind, name }');
    const targets = objects.filter((o) => o.kind === rule.target.kind && o.metadata.name === rule.target.name);
    if (!targets.length) fail(dir, `patch target ${rule.target.kind}/${rule.target.name} matches nothing`);
    const ops = parse(rule.patch) as JsonPatchOp[];
    if (!Array.isArray(ops)) fail(dir, 'only JSON 6902 patches (a list of operations) are supported');
    for (const target of targets) {
      for (const op of ops) {
        if (!['add', 'replace', 'remove'].includes(op.op)) fail(dir, `unsupported patch operation ${op.op}`);
        applyOp(target, op);
      }
    }
  }
}

/** The objects `kubectl kustomize <dir>` would print (not necessarily in its order). */
export function renderKustomization(dir: string): K8sObject[] {
  const kustomization = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as Record<string, unknown>;
  const unsupported = Object.keys(kustomization).filter((k) => !SUPPORTED_FIELDS.has(k));
  if (unsupported.length) fail(dir, `this renderer does not implement ${unsupported.join(', ')}`);
  if (kustomization.kind !== 'Kustomization') fail(dir, 'kind must be Kustomization');

  const objects: K8sObject[] = [];
  for (const entry of (kustomization.resources as string[] | undefined) ?? []) {
    const target = path.resolve(dir, entry);
    objects.push(...(statSync(target).isDirectory() ? renderKustomization(target) : readObjects(target)));
  }
  applyPatches(dir, objects, (kustomization.patches as PatchRule[] | undefined) ?? []);
  const images = (kustomization.images as ImageRule[] | undefined) ?? [];
  const namespace = kustomization.namespace as string | undefined;
  for (const object of objects) {
    setImages(object, images);
    if (namespace && !CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = namespace;
  }
  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (seen.has(id)) fail(dir, `${id} is defined twice`);
    seen.add(id);
  }
  return objects;
}

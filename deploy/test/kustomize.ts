/**
 * A small kustomize renderer for the manifest tests (no kustomize binary and no network here).
 * It implements exactly the kustomization features deploy/k8s uses — `resources` (files and
 * directories), `namespace`, `patches` (strategic merge of whole objects, or JSON 6902 with a
 * target) and `images` — and refuses anything else, so a manifest change that needs more makes the
 * tests fail loudly instead of rendering something kustomize would not.
 *
 * Semantics follow kustomize v5: resources render depth-first in order, generated ConfigMaps join
 * them; then patches, namespace and images apply in that order; resource ids (group, kind, namespace, name) must be unique.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface PatchTarget {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const SUPPORTED_FIELDS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'configMapGenerator',
  'namespace',
  'patches',
  'images',
]);

/** Kinds that live outside namespaces: the namespace transformer leaves them alone. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
]);

/** Strategic-merge keys of the list fields deploy/k8s patches (as in the Kubernetes API). */
const MERGE_KEYS: Record<string, (item: JsonObject) => string> = {
  containers: () => 'name',
  initContainers: () => 'name',
  env: () => 'name',
  volumes: () => 'name',
  imagePullSecrets: () => 'name',
  volumeMounts: () => 'mountPath',
  ports: (item) => ('containerPort' in item ? 'containerPort' : 'port'),
};

export class KustomizeError extends Error {
  override readonly name = 'KustomizeError';
}

/** Renders the kustomization in `dir` (like `kustomize build dir`). */
export function kustomizeBuild(dir: string): K8sObject[] {
  const root = resolve(dir);
  const file = join(root, 'kustomization.yaml');
  const kustomization = readYamlDocuments(file)[0];
  if (!isObject(kustomization)) throw new KustomizeError(`${file}: not a mapping`);
  for (const field of Object.keys(kustomization)) {
    if (!SUPPORTED_FIELDS.has(field))
      throw new KustomizeError(`${file}: field "${field}" is not supported by the test renderer`);
  }
  if (kustomization['kind'] !== 'Kustomization')
    throw new KustomizeError(`${file}: kind must be Kustomization`);

  let objects: K8sObject[] = [];
  for (const entry of asArray(kustomization['resources'], `${file}: resources`)) {
    if (typeof entry !== 'string') throw new KustomizeError(`${file}: resources entries must be paths`);
    if (/^[a-z]+:\/\//i.test(entry) || entry.startsWith('github.com/'))
      throw new KustomizeError(`${file}: remote resource ${entry}`);
    const path = resolve(root, entry);
    objects.push(...(statSync(path).isDirectory() ? kustomizeBuild(path) : readResources(path)));
  }

  for (const generator of asArray(kustomization['configMapGenerator'], `${file}: configMapGenerator`)) {
    objects.push(generateConfigMap(generator, root, file));
  }

  for (const spec of asArray(kustomization['patches'], `${file}: patches`)) {
    objects = applyPatch(objects, spec, root, file);
  }

  const namespace = kustomization['namespace'];
  if (namespace !== undefined) {
    if (typeof namespace !== 'string') throw new KustomizeError(`${file}: namespace must be a string`);
    for (const object of objects) if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = namespace;
  }

  for (const image of asArray(kustomization['images'], `${file}: images`)) {
    if (!isObject(image) || typeof image['name'] !== 'string')
      throw new KustomizeError(`${file}: images entries need a name`);
    for (const key of Object.keys(image)) {
      if (!['name', 'newName', 'newTag', 'digest'].includes(key))
        throw new KustomizeError(`${file}: images.${key} is not supported`);
    }
    for (const object of objects) rewriteImages(object, image);
  }

  assertUniqueIds(objects, file);
  return objects;
}

/** Every object of a plain manifest file (multi-document YAML). */
export function readResources(path: string): K8sObject[] {
  return readYamlDocuments(path).map((doc, index) => {
    if (!isObject(doc) || typeof doc['apiVersion'] !== 'string' || typeof doc['kind'] !== 'string') {
      throw new KustomizeError(`${path}: document ${index + 1} is not a Kubernetes object`);
    }
    const metadata = doc['metadata'];
    if (!isObject(metadata) || typeof metadata['name'] !== 'string')
      throw new KustomizeError(`${path}: document ${index + 1} has no metadata.name`);
    return doc as unknown as K8sObject;
  });
}

export function readYamlDocuments(path: string): Json[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  const out: Json[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length)
      throw new KustomizeError(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS({ maxAliasCount: 100 }) as Json;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** API group of an apiVersion (`apps/v1` → `apps`, `v1` → ``). */
export function apiGroup(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
}

/**
 * `configMapGenerator` entries with `files` and `literals`. Only with `disableNameSuffixHash: true`:
 * the renderer does not reproduce kustomize's content hash and the name references it rewrites.
 */
function generateConfigMap(generator: Json, root: string, file: string): K8sObject {
  if (!isObject(generator) || typeof generator['name'] !== 'string')
    throw new KustomizeError(`${file}: configMapGenerator entries need a name`);
  for (const key of Object.keys(generator)) {
    if (!['name', 'files', 'literals', 'options'].includes(key))
      throw new KustomizeError(`${file}: configMapGenerator.${key} is not supported`);
  }
  const options = generator['options'];
  if (!isObject(options) || options['disableNameSuffixHash'] !== true || Object.keys(options).length !== 1) {
    throw new KustomizeError(
      `${file}: configMapGenerator ${generator['name']} needs options.disableNameSuffixHash: true (and nothing else)`,
    );
  }
  const data: Record<string, string> = {};
  for (const entry of asArray(generator['files'], `${file}: configMapGenerator.files`)) {
    if (typeof entry !== 'string')
      throw new KustomizeError(`${file}: configMapGenerator.files entries must be strings`);
    const eq = entry.indexOf('=');
    const [key, path] =
      eq >= 0 ? [entry.slice(0, eq), entry.slice(eq + 1)] : [entry.split('/').pop()!, entry];
    const full = resolve(root, path);
    // kustomize's load restrictor: generated files must live in or below the kustomization root.
    if (!full.startsWith(`${root}/`))
      throw new KustomizeError(`${file}: ${path} is outside the kustomization root`);
    data[key] = readFileSync(full, 'utf8');
  }
  for (const entry of asArray(generator['literals'], `${file}: configMapGenerator.literals`)) {
    if (typeof entry !== 'string' || !entry.includes('='))
      throw new KustomizeError(`${file}: configMapGenerator.literals entries are KEY=value`);
    const index = entry.indexOf('=');
    data[entry.slice(0, index)] = entry.slice(index + 1);
  }
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator['name'] }, data };
}

function applyPatch(objects: K8sObject[], spec: Json, root: string, file: string): K8sObject[] {
  if (!isObject(spec)) throw new KustomizeError(`${file}: patches entries must be mappings`);
  for (const key of Object.keys(spec)) {
    if (!['path', 'patch', 'target'].includes(key))
      throw new KustomizeError(`${file}: patches.${key} is not supported`);
  }
  let docs: Json[];
  let where: string;
  if (typeof spec['path'] === 'string') {
    where = resolve(root, spec['path']);
    docs = readYamlDocuments(where);
  } else if (typeof spec['patch'] === 'string') {
    where = `${file} (inline patch)`;
    docs = parseAllDocuments(spec['patch'])
      .flatMap((doc) => (Array.isArray(doc) ? doc : [doc]))
      .map((doc) => doc.toJS() as Json);
  } else {
    throw new KustomizeError(`${file}: a patch needs a path or an inline patch`);
  }
  const target = spec['target'] === undefined ? undefined : parseTarget(spec['target'], file);

  // JSON 6902: one document that is a list of operations, applied to every object the target selects.
  if (docs.length === 1 && Array.isArray(docs[0])) {
    if (!target) throw new KustomizeError(`${where}: a JSON 6902 patch needs a target`);
    const ops = docs[0];
    const matched = objects.filter((object) => matchesTarget(object, target));
    if (!matched.length) throw new KustomizeError(`${where}: the target matches no resource`);
    return objects.map((object) =>
      matched.includes(object)
        ? (applyJson6902(object as unknown as Json, ops, where) as unknown as K8sObject)
        : object,
    );
  }

  // Strategic merge: whole objects; without a target each patch selects its object by kind and name.
  let result = objects;
  for (const patch of docs) {
    if (!isObject(patch)) throw new KustomizeError(`${where}: a strategic-merge patch must be an object`);
    const selector: PatchTarget = target ?? {
      group: typeof patch['apiVersion'] === 'string' ? apiGroup(patch['apiVersion']) : undefined,
      kind: typeof patch['kind'] === 'string' ? patch['kind'] : undefined,
      name:
        isObject(patch['metadata']) && typeof patch['metadata']['name'] === 'string'
          ? patch['metadata']['name']
          : undefined,
    };
    if (!selector.kind || (!target && !selector.name))
      throw new KustomizeError(`${where}: a strategic-merge patch needs kind and metadata.name`);
    const matched = result.filter((object) => matchesTarget(object, selector));
    if (!matched.length)
      throw new KustomizeError(`${where}: no resource matches ${selector.kind}/${selector.name ?? '*'}`);
    result = result.map((object) => {
      if (!matched.includes(object)) return object;
      const body = structuredClone(patch);
      if (target && isObject(body['metadata'])) delete body['metadata']['name'];
      return strategicMerge(object as unknown as Json, body, '') as unknown as K8sObject;
    });
  }
  return result;
}

function parseTarget(value: Json, file: string): PatchTarget {
  if (!isObject(value)) throw new KustomizeError(`${file}: patch target must be a mapping`);
  const target: PatchTarget = {};
  for (const [key, field] of Object.entries(value)) {
    if (
      !['group', 'version', 'kind', 'name', 'namespace', 'labelSelector'].includes(key) ||
      typeof field !== 'string'
    ) {
      throw new KustomizeError(`${file}: patch target field ${key} is not supported`);
    }
    target[key as keyof PatchTarget] = field;
  }
  return target;
}

/** kustomize matches target names and kinds as anchored regular expressions. */
function matchesTarget(object: K8sObject, target: PatchTarget): boolean {
  const anchored = (pattern: string, value: string) => new RegExp(`^(?:${pattern})$`).test(value);
  const [group, version] = object.apiVersion.includes('/')
    ? object.apiVersion.split('/')
    : ['', object.apiVersion];
  if (target.group !== undefined && target.group !== group) return false;
  if (target.version !== undefined && target.version !== version) return false;
  if (target.kind !== undefined && !anchored(target.kind, object.kind)) return false;
  if (target.name !== undefined && !anchored(target.name, object.metadata.name)) return false;
  if (target.namespace !== undefined && target.namespace !== (object.metadata.namespace ?? '')) return false;
  if (target.labelSelector !== undefined) {
    const labels = object.metadata.labels ?? {};
    for (const term of target.labelSelector.split(',')) {
      const match = /^\s*([^=!\s]+)\s*(==|=|!=)\s*([^\s]*)\s*$/.exec(term);
      if (!match) throw new KustomizeError(`label selector "${target.labelSelector}" is not supported`);
      const [, key, op, expected] = match;
      const equal = labels[key!] === expected;
      if (op === '!=' ? equal : !equal) return false;
    }
  }
  return true;
}

/** Strategic merge for the shapes deploy/k8s uses: maps merge, keyed lists merge by key, other lists are replaced, null deletes. */
export function strategicMerge(base: Json | undefined, patch: Json, field: string): Json {
  if (isObject(patch) && isObject(base)) {
    const out: JsonObject = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (key.startsWith('$')) throw new KustomizeError(`strategic-merge directive ${key} is not supported`);
      if (value === null) delete out[key];
      else out[key] = strategicMerge(base[key], value, key);
    }
    return out;
  }
  if (Array.isArray(patch) && Array.isArray(base) && MERGE_KEYS[field]) {
    const out = base.map((item) => structuredClone(item));
    for (const item of patch) {
      if (!isObject(item)) throw new KustomizeError(`list ${field}: items must be objects`);
      const key = MERGE_KEYS[field](item);
      const index = out.findIndex((existing) => isObject(existing) && existing[key] === item[key]);
      if (index >= 0) out[index] = strategicMerge(out[index], item, '');
      else out.push(structuredClone(item));
    }
    return out;
  }
  return structuredClone(patch);
}

/** RFC 6902 add / remove / replace / test on a copy of the document. */
export function applyJson6902(document: Json, ops: Json[], where: string): Json {
  const doc = structuredClone(document);
  for (const op of ops) {
    if (!isObject(op) || typeof op['op'] !== 'string' || typeof op['path'] !== 'string')
      throw new KustomizeError(`${where}: malformed operation`);
    const tokens = op['path']
      .split('/')
      .slice(1)
      .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = tokens.pop();
    if (last === undefined)
      throw new KustomizeError(`${where}: ${op['op']} on the document root is not supported`);
    let parent: Json = doc;
    for (const token of tokens) {
      const next: Json | undefined = Array.isArray(parent)
        ? parent[Number(token)]
        : isObject(parent)
          ? parent[token]
          : undefined;
      if (next === undefined) throw new KustomizeError(`${where}: path ${op['path']} does not exist`);
      parent = next;
    }
    const value = op['value'];
    switch (op['op']) {
      case 'add':
        if (value === undefined) throw new KustomizeError(`${where}: add needs a value`);
        if (Array.isArray(parent)) {
          const index = last === '-' ? parent.length : Number(last);
          if (!Number.isInteger(index) || index > parent.length)
            throw new KustomizeError(`${where}: bad index in ${op['path']}`);
          parent.splice(index, 0, structuredClone(value));
        } else if (isObject(parent)) parent[last] = structuredClone(value);
        else throw new KustomizeError(`${where}: cannot add under ${op['path']}`);
        break;
      case 'replace':
      case 'remove':
      case 'test': {
        const exists = Array.isArray(parent)
          ? Number(last) < parent.length
          : isObject(parent) && last in parent;
        if (!exists) throw new KustomizeError(`${where}: ${op['op']} of missing ${op['path']}`);
        if (op['op'] === 'test') {
          const current = Array.isArray(parent) ? parent[Number(last)] : (parent as JsonObject)[last];
          if (JSON.stringify(current) !== JSON.stringify(value))
            throw new KustomizeError(`${where}: test failed at ${op['path']}`);
        } else if (op['op'] === 'remove') {
          if (Array.isArray(parent)) parent.splice(Number(last), 1);
          else delete (parent as JsonObject)[last];
        } else {
          if (value === undefined) throw new KustomizeError(`${where}: replace needs a value`);
          if (Array.isArray(parent)) parent[Number(last)] = structuredClone(value);
          else (parent as JsonObject)[last] = structuredClone(value);
        }
        break;
      }
      default:
        throw new KustomizeError(`${where}: operation ${op['op']} is not supported`);
    }
  }
  return doc;
}

/** The pod spec of a workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod), if any. */
export function podSpecOf(object: K8sObject): JsonObject | undefined {
  const spec = object['spec'];
  if (!isObject(spec)) return undefined;
  if (object.kind === 'Pod') return spec;
  if (object.kind === 'CronJob') {
    const job = spec['jobTemplate'];
    const template = isObject(job) && isObject(job['spec']) ? job['spec']['template'] : undefined;
    return isObject(template) && isObject(template['spec']) ? template['spec'] : undefined;
  }
  const template = spec['template'];
  return isObject(template) && isObject(template['spec']) ? template['spec'] : undefined;
}

function rewriteImages(object: K8sObject, rule: JsonObject): void {
  const podSpec = podSpecOf(object);
  if (!podSpec) return;
  for (const list of ['containers', 'initContainers']) {
    const containers = podSpec[list];
    if (!Array.isArray(containers)) continue;
    for (const container of containers) {
      if (!isObject(container) || typeof container['image'] !== 'string') continue;
      const { name, tag, digest } = parseImage(container['image']);
      if (name !== rule['name']) continue;
      const newName = typeof rule['newName'] === 'string' ? rule['newName'] : name;
      if (typeof rule['digest'] === 'string') container['image'] = `${newName}@${rule['digest']}`;
      else if (typeof rule['newTag'] === 'string' || typeof rule['newTag'] === 'number')
        container['image'] = `${newName}:${String(rule['newTag'])}`;
      else container['image'] = `${newName}${digest ? `@${digest}` : tag ? `:${tag}` : ''}`;
    }
  }
}

/** Splits `registry:5000/a/b:tag@sha256:…` into name, tag and digest. */
export function parseImage(image: string): { name: string; tag?: string; digest?: string } {
  const [withoutDigest, digest] = image.split('@') as [string, string | undefined];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon > slash)
    return { name: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1), digest };
  return { name: withoutDigest, digest };
}

function assertUniqueIds(objects: K8sObject[], file: string): void {
  const seen = new Set<string>();
  for (const object of objects) {
    const id = `${apiGroup(object.apiVersion)}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    if (seen.has(id)) throw new KustomizeError(`${file}: resource ${id} appears twice`);
    seen.add(id);
  }
}

function asArray(value: Json | undefined, what: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new KustomizeError(`${what} must be a list`);
  return value;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The repository root (deploy/test/../..). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

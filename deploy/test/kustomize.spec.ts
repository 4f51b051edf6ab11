import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyJson6902,
  kustomizeBuild,
  KustomizeError,
  parseImage,
  strategicMerge,
  type K8sObject,
} from './kustomize.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes files (path → content) into a fresh directory and returns it. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'orgmesh-kustomize-'));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: { tier: edge }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: orgmesh/web
          args: [a, b]
          env:
            - { name: A, value: "1" }
            - { name: B, value: "2" }
        - name: sidecar
          image: busybox:1.36
`;
const BASE = {
  'base/kustomization.yaml':
    'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [web.yaml, ns.yaml]\n',
  'base/web.yaml': `${DEPLOYMENT}---\napiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec: { selector: { app: web }, ports: [{ port: 80 }] }\n`,
  'base/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n',
};
const overlay = (kustomization: string, extra: Record<string, string> = {}) =>
  kustomizeBuild(
    join(
      tree({
        ...BASE,
        'overlay/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../base]\n${kustomization}`,
        ...extra,
      }),
      'overlay',
    ),
  );
const web = (objects: K8sObject[]) =>
  objects.find((object) => object.kind === 'Deployment')! as unknown as {
    metadata: { namespace?: string };
    spec: {
      replicas?: number;
      template: {
        spec: {
          containers: Array<{
            name: string;
            image: string;
            args?: string[];
            env?: Array<{ name: string; value: string }>;
          }>;
        };
      };
    };
  };

describe('kustomizeBuild', () => {
  it('sets the namespace on namespaced objects only', () => {
    const objects = overlay('namespace: shop\n');
    expect(objects.map((object) => [object.kind, object.metadata.namespace])).toEqual([
      ['Deployment', 'shop'],
      ['Service', 'shop'],
      ['Namespace', undefined],
    ]);
  });

  it('merges a strategic-merge patch: containers and env by name, other lists replaced, null deletes', () => {
    const objects = overlay('patches:\n  - path: patch.yaml\n', {
      'overlay/patch.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: null
  template:
    spec:
      containers:
        - name: web
          args: [c]
          env:
            - { name: B, value: "20" }
            - { name: C, value: "3" }
`,
    });
    const deployment = web(objects);
    expect(deployment.spec.replicas).toBeUndefined();
    const [main, sidecar] = deployment.spec.template.spec.containers;
    expect(main).toEqual({
      name: 'web',
      image: 'orgmesh/web',
      args: ['c'],
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: '20' },
        { name: 'C', value: '3' },
      ],
    });
    expect(sidecar?.name).toBe('sidecar');
  });

  it('applies a JSON 6902 patch to every object its target selects (kind, label selector)', () => {
    const objects = overlay(
      `patches:
  - target: { kind: Deploy.*, labelSelector: tier=edge }
    patch: |-
      - op: replace
        path: /spec/replicas
        value: 5
      - op: add
        path: /spec/template/spec/containers/0/env/-
        value: { name: Z, value: "26" }
      - op: remove
        path: /spec/template/spec/containers/1
`,
    );
    const deployment = web(objects);
    expect(deployment.spec.replicas).toBe(5);
    expect(deployment.spec.template.spec.containers.map((container) => container.name)).toEqual(['web']);
    expect(deployment.spec.template.spec.containers[0]!.env!.at(-1)).toEqual({ name: 'Z', value: '26' });
  });

  it('rewrites images by name: new name, new tag or digest', () => {
    const tagged = web(
      overlay('images:\n  - { name: orgmesh/web, newName: reg.example/web, newTag: "1.2.3" }\n'),
    );
    expect(tagged.spec.template.spec.containers.map((container) => container.image)).toEqual([
      'reg.example/web:1.2.3',
      'busybox:1.36',
    ]);
    const pinned = web(overlay('images:\n  - { name: busybox, digest: "sha256:abc" }\n'));
    expect(pinned.spec.template.spec.containers[1]!.image).toBe('busybox@sha256:abc');
  });

  it('generates a ConfigMap from files and literals (without a name hash only)', () => {
    const objects = overlay(
      'configMapGenerator:\n  - name: settings\n    files: [conf.yaml=settings.yaml]\n    literals: [MODE=on]\n    options: { disableNameSuffixHash: true }\n',
      { 'overlay/settings.yaml': 'a: 1\n' },
    );
    expect(objects.find((object) => object.kind === 'ConfigMap')).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { 'conf.yaml': 'a: 1\n', MODE: 'on' },
    });
    expect(() => overlay('configMapGenerator:\n  - name: settings\n    literals: [MODE=on]\n')).toThrow(
      /disableNameSuffixHash/,
    );
    expect(() =>
      overlay(
        'configMapGenerator:\n  - name: s\n    files: [../base/web.yaml]\n    options: { disableNameSuffixHash: true }\n',
      ),
    ).toThrow(/outside the kustomization root/);
  });

  it.each([
    ['a field it does not implement', 'commonLabels: { a: b }\n', {}, /commonLabels.*not supported/],
    [
      'a patch that matches nothing',
      'patches:\n  - path: p.yaml\n',
      { 'overlay/p.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: nope }\n' },
      /no resource matches/,
    ],
    [
      'a JSON 6902 patch without a target',
      'patches:\n  - path: p.yaml\n',
      { 'overlay/p.yaml': '- { op: remove, path: /spec }\n' },
      /needs a target/,
    ],
    [
      'a JSON 6902 path that does not exist',
      'patches:\n  - target: { kind: Service }\n    patch: "[{op: replace, path: /spec/nothing/here, value: 1}]"\n',
      {},
      /does not exist/,
    ],
    ['a resource listed twice', 'resources: [../base, ../base/web.yaml]\n', {}, /appears twice/],
    ['a remote resource', 'resources: [https://example.com/x.yaml]\n', {}, /remote resource/],
  ])('refuses %s', (_what, kustomization, extra, message) => {
    // Entries with their own resources list replace the overlay's default one.
    const build = () =>
      kustomization.startsWith('resources:')
        ? kustomizeBuild(
            join(
              tree({
                ...BASE,
                ...extra,
                'overlay/kustomization.yaml': `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${kustomization}`,
              }),
              'overlay',
            ),
          )
        : overlay(kustomization, extra);
    expect(build).toThrow(KustomizeError);
    expect(build).toThrow(message);
  });
});

describe('patch primitives', () => {
  it('strategicMerge keeps base items a patch does not mention', () => {
    expect(
      strategicMerge(
        { ports: [{ containerPort: 1, name: 'a' }] },
        { ports: [{ containerPort: 2, name: 'b' }] },
        '',
      ),
    ).toEqual({
      ports: [
        { containerPort: 1, name: 'a' },
        { containerPort: 2, name: 'b' },
      ],
    });
  });

  it('applyJson6902 fails a test operation that does not hold and leaves the input untouched', () => {
    const document = { a: [1, 2] };
    expect(() => applyJson6902(document, [{ op: 'test', path: '/a/0', value: 9 }], 'x')).toThrow(
      /test failed/,
    );
    expect(applyJson6902(document, [{ op: 'add', path: '/a/1', value: 7 }], 'x')).toEqual({ a: [1, 7, 2] });
    expect(document).toEqual({ a: [1, 2] });
  });

  it('parseImage separates registry ports from tags', () => {
    expect(parseImage('reg:5000/a/b:1.0@sha256:x')).toEqual({
      name: 'reg:5000/a/b',
      tag: '1.0',
      digest: 'sha256:x',
    });
    expect(parseImage('reg:5000/a/b')).toEqual({ name: 'reg:5000/a/b', digest: undefined });
  });
});

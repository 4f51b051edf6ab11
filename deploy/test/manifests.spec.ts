import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createMetricsRegistry, startHealthServer, type HealthServer } from '@orgmesh/telemetry';
import {
  kustomizeBuild,
  readResources,
  readYamlDocuments,
  isObject,
  parseImage,
  REPO_ROOT,
  type K8sObject,
} from './kustomize.js';
import { loadKubernetesValidator } from './kubernetes-schemas.js';
import { loopbackListenKeys } from './deploy-helpers.js';
import { ingressAllowed, selects, type Peer, type Pod } from './network-policy.js';
import {
  entryPointSource,
  findConfigSchema,
  NOT_DEPLOYED,
  SCRIPTED_MODEL,
  serviceDirectories,
  serviceForWorkload,
  serviceSources,
  SERVICES,
  sourceOfBuiltEntry,
  type ConfigSchemaInfo,
} from './service-catalog.js';
import {
  containersOf,
  find,
  matchLabels,
  namedPorts,
  ofKind,
  podLabels,
  resolveEnv,
  resolvePort,
  spec,
  WORKLOAD_KINDS,
  type Container,
} from './workloads.js';

const K8S = join(REPO_ROOT, 'deploy', 'k8s');
const OVERLAYS = { dev: 'orgmesh-dev', prod: 'orgmesh' } as const;
type Overlay = keyof typeof OVERLAYS;

const validate = await loadKubernetesValidator();
const rendered: Record<Overlay, K8sObject[]> = {
  dev: kustomizeBuild(join(K8S, 'overlays', 'dev')),
  prod: kustomizeBuild(join(K8S, 'overlays', 'prod')),
};
const platform = readdirSync(join(K8S, 'platform'))
  // Helm values and the custom resources (CloudNativePG Cluster, cert-manager Issuers and
  // Certificates) are checked structurally: below and in nats-security.spec.ts.
  .filter(
    (file) =>
      file.endsWith('.yaml') && !['nats-values.yaml', 'postgres-cluster.yaml', 'nats-tls.yaml'].includes(file),
  )
  .flatMap((file) => readResources(join(K8S, 'platform', file)));
const schemas = new Map<string, ConfigSchemaInfo | undefined>(
  await Promise.all(
    SERVICES.map(
      async (service) =>
        [service.dir, await findConfigSchema(`services/${service.dir}/src`, service.schemaExport)] as const,
    ),
  ),
);
const scriptedModelSchema = await findConfigSchema(SCRIPTED_MODEL.searchDir, SCRIPTED_MODEL.schemaExport);
const readme = readFileSync(join(K8S, 'README.md'), 'utf8');

const label = (object: K8sObject) => `${object.kind}/${object.metadata.name}`;
const workloads = (overlay: Overlay) => rendered[overlay].filter((object) => WORKLOAD_KINDS.has(object.kind));
const deployment = (overlay: Overlay, name: string) => find(rendered[overlay], 'Deployment', name);
const onlyContainer = (object: K8sObject): Container => {
  const containers = containersOf(object);
  expect(containers).toHaveLength(1);
  return containers[0]!;
};

/** `kubectl create secret generic <name> --from-literal=<key>=… --from-file=<key>=…` commands of the README. */
function documentedSecrets(markdown: string): Map<string, Set<string>> {
  const secrets = new Map<string, Set<string>>();
  const commands = markdown.replace(/\\\n\s*/g, ' ').split('\n');
  for (const command of commands) {
    const match = /create secret generic\s+([a-z0-9-]+)(.*)$/.exec(command);
    if (!match) continue;
    const keys = secrets.get(match[1]!) ?? new Set<string>();
    for (const key of match[2]!.matchAll(/--from-(?:literal|file)=([A-Za-z0-9._-]+)=/g)) keys.add(key[1]!);
    secrets.set(match[1]!, keys);
  }
  return secrets;
}

/** Keys CloudNativePG writes into the `<cluster>-app` Secret. */
const CNPG_APP_SECRET_KEYS = new Set([
  'username',
  'password',
  'host',
  'port',
  'dbname',
  'uri',
  'jdbc-uri',
  'pgpass',
]);
const cnpgCluster = readYamlDocuments(join(K8S, 'platform', 'postgres-cluster.yaml'))[0] as {
  kind: string;
  metadata: { name: string; namespace: string };
  spec: { instances: number; bootstrap: { initdb: { database: string; owner: string } } };
};

describe.each(Object.keys(OVERLAYS) as Overlay[])('overlay %s', (overlay) => {
  const objects = rendered[overlay];
  const namespace = OVERLAYS[overlay];

  it('renders', () => {
    expect(objects.length).toBeGreaterThan(20);
  });

  it.each(objects.map((object) => [label(object), object] as const))(
    '%s validates against the Kubernetes API schema',
    (_name, object) => {
      expect(validate(object)).toEqual([]);
    },
  );

  it('follows the API server rules the JSON schemas do not carry (names, port names, label values)', () => {
    const problems: string[] = [];
    for (const object of objects) {
      const name = object.metadata.name;
      if (
        !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name) ||
        name.length > 253
      )
        problems.push(`${label(object)}: invalid name`);
      if (object.kind === 'Service' && !/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name))
        problems.push(`${label(object)}: Service names are DNS-1035 labels`);
      const allLabels = { ...object.metadata.labels, ...podLabels(object) };
      for (const [key, value] of Object.entries(allLabels)) {
        if (!/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value) || value.length > 63)
          problems.push(`${label(object)}: label ${key}=${value}`);
      }
      for (const container of containersOf(object)) {
        for (const port of container.ports ?? []) {
          if (port.name && !/^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(port.name))
            problems.push(`${label(object)}: port name ${port.name}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it(`puts every namespaced object into ${namespace}, a Namespace that enforces the restricted Pod Security Standard`, () => {
    const ns = find(objects, 'Namespace', namespace);
    expect(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(
      objects
        .filter((object) => object.kind !== 'Namespace' && object.metadata.namespace !== namespace)
        .map(label),
    ).toEqual([]);
  });

  it('commits no Secret: every secretKeyRef is created by hand (README) or by CloudNativePG', () => {
    expect(ofKind(objects, 'Secret')).toEqual([]);
    const documented = documentedSecrets(readme);
    const missing: string[] = [];
    for (const object of workloads(overlay)) {
      for (const container of containersOf(object)) {
        for (const env of resolveEnv(container, objects)) {
          if (!env.secret) continue;
          const { name, key } = env.secret;
          const generated =
            overlay === 'prod' &&
            name === `${cnpgCluster.metadata.name}-app` &&
            CNPG_APP_SECRET_KEYS.has(key);
          if (!generated && !documented.get(name)?.has(key))
            missing.push(`${label(object)} ${env.name} → ${name}/${key}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('resolves every configMapKeyRef and uses no envFrom', () => {
    const problems: string[] = [];
    for (const object of workloads(overlay)) {
      for (const container of containersOf(object)) {
        if (container.envFrom) problems.push(`${label(object)}: envFrom hides which variables are set`);
        for (const env of resolveEnv(container, objects))
          if (env.unresolved) problems.push(`${label(object)} ${env.name}: ${env.unresolved}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it.each(workloads(overlay).map((object) => [label(object), object] as const))(
    '%s is hardened, sized and pinned',
    (_name, object) => {
      const podSpec = spec(object)['template'] as { spec: Record<string, unknown> };
      const pod = podSpec.spec;
      expect(pod['automountServiceAccountToken']).toBe(false);
      expect(pod['enableServiceLinks']).toBe(false);
      expect(pod['securityContext']).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect((pod['securityContext'] as { runAsUser: number }).runAsUser).toBeGreaterThan(0);
      for (const container of containersOf(object)) {
        expect(container.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(Object.keys(container.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
        expect(Object.keys(container.resources?.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
        const { tag, digest } = parseImage(container.image);
        expect(digest ?? tag).toBeDefined();
        expect(tag).not.toBe('latest');
      }
    },
  );

  it.each(ofKind(objects, 'Deployment').map((object) => [label(object), object] as const))(
    '%s spreads its pods over nodes',
    (_name, object) => {
      const constraints = spec(spec(object)['template'] as K8sObject)['topologySpreadConstraints'] as
        Array<{ topologyKey: string; labelSelector: unknown }> | undefined;
      expect(constraints?.map((constraint) => constraint.topologyKey)).toContain('kubernetes.io/hostname');
      for (const constraint of constraints ?? [])
        expect(matchLabels(constraint.labelSelector, podLabels(object))).toBe(true);
    },
  );

  it('deploys every directory under services/ (except those documented as not deployed)', () => {
    const deployed = new Set(SERVICES.map((service) => service.dir));
    const missing = serviceDirectories().filter((dir) => !deployed.has(dir) && !(dir in NOT_DEPLOYED));
    expect(missing).toEqual([]);
  });

  it('covers every pod with exactly one PodDisruptionBudget', () => {
    const budgets = ofKind(objects, 'PodDisruptionBudget');
    const problems: string[] = [];
    for (const object of ofKind(objects, 'Deployment')) {
      if (object.metadata.labels?.['app.kubernetes.io/component'] === 'test-double') continue;
      const covering = budgets.filter((budget) => matchLabels(spec(budget)['selector'], podLabels(object)));
      if (covering.length !== 1) problems.push(`${label(object)}: ${covering.length} budgets`);
    }
    expect(problems).toEqual([]);
  });

  describe.each(SERVICES.map((service) => [service.dir, service] as const))('service %s', (_dir, service) => {
    const schema = schemas.get(service.dir);

    it.each(service.workloads.map((workload) => [workload]))(
      'has a Deployment %s with liveness /healthz and readiness /readyz on its health port',
      (workload) => {
        const object = deployment(overlay, workload);
        expect(object).toBeDefined();
        const container = onlyContainer(object!);
        for (const probe of [container.livenessProbe, container.startupProbe])
          expect(probe?.httpGet?.path).toBe('/healthz');
        expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
        const ports = [container.livenessProbe, container.readinessProbe, container.startupProbe].map(
          (probe) => resolvePort(container, probe?.httpGet?.port),
        );
        const env = resolveEnv(container, rendered[overlay]);
        const configured = env.find((variable) => variable.name === service.healthPortKey)?.value;
        const expected =
          configured !== undefined
            ? Number(configured)
            : ((schema?.defaultOf(service.healthPortKey) as number | undefined) ?? service.defaultHealthPort);
        expect(ports).toEqual([expected, expected, expected]);
        for (const [key, fallback] of Object.entries(service.otherPorts ?? {})) {
          const value = env.find((variable) => variable.name === key)?.value;
          const port =
            value !== undefined
              ? Number(value)
              : ((schema?.defaultOf(key) as number | undefined) ?? fallback);
          expect((container.ports ?? []).map((p) => p.containerPort)).toContain(port);
        }
      },
    );

    it('has a Service whose selector reaches its pods and whose target ports exist on them', () => {
      const pods = service.workloads.map((workload) => deployment(overlay, workload)!).filter(Boolean);
      const services = ofKind(rendered[overlay], 'Service').filter((svc) =>
        pods.some((pod) => matchLabels(spec(svc)['selector'], podLabels(pod))),
      );
      expect(services.map((svc) => svc.metadata.name)).toEqual([service.dir]);
      for (const pod of pods) {
        const container = onlyContainer(pod);
        for (const port of spec(services[0]!)['ports'] as Array<{ targetPort: string | number }>)
          expect(resolvePort(container, port.targetPort)).toBeDefined();
      }
    });

    if (service.autoscaled) {
      it('scales with a HorizontalPodAutoscaler that owns the replica count', () => {
        const hpa = find(rendered[overlay], 'HorizontalPodAutoscaler', service.dir);
        expect(spec(hpa!)['scaleTargetRef']).toEqual({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: service.dir,
        });
        expect(spec(hpa!)['minReplicas']).toBeGreaterThanOrEqual(overlay === 'prod' ? 2 : 1);
        expect(spec(deployment(overlay, service.dir)!)['replicas']).toBeUndefined();
        expect(onlyContainer(deployment(overlay, service.dir)!).resources?.requests?.['cpu']).toBeDefined();
      });
    } else {
      it('has no HorizontalPodAutoscaler (not a stateless request-driven process)', () => {
        for (const workload of service.workloads) {
          expect(
            ofKind(rendered[overlay], 'HorizontalPodAutoscaler').filter(
              (hpa) => (spec(hpa)['scaleTargetRef'] as { name: string }).name === workload,
            ),
          ).toEqual([]);
        }
      });
    }

    if (schema) {
      it.each(service.workloads.map((workload) => [workload]))(
        `%s sets only keys of ${service.schemaExport}, every required key, valid values, and binds all interfaces`,
        (workload) => {
          const container = onlyContainer(deployment(overlay, workload)!);
          const env = resolveEnv(container, rendered[overlay]);
          expect(env.map((variable) => variable.name).filter((name) => !schema.keys.includes(name))).toEqual(
            [],
          );
          const setForSure = new Set(
            env.filter((variable) => !variable.optional).map((variable) => variable.name),
          );
          expect(schema.required.filter((key) => !setForSure.has(key))).toEqual([]);
          const invalid = env
            .filter((variable) => variable.value !== undefined)
            .map((variable) => [variable.name, schema.problem(variable.name, variable.value!)])
            .filter(([, problem]) => problem !== undefined);
          expect(invalid).toEqual([]);
          for (const key of loopbackListenKeys(schema))
            expect([key, env.find((variable) => variable.name === key)?.value]).toEqual([key, '0.0.0.0']);
          // The service's own loader accepts the whole environment (rules across keys included).
          const known = Object.fromEntries(
            env
              .filter((variable) => variable.value !== undefined)
              .map((variable) => [variable.name, variable.value]),
          );
          const secrets = env
            .filter((variable) => variable.source === 'secret' && !variable.optional)
            .map((variable) => variable.name);
          if (schema.load) expect(() => schema.load!(known, secrets)).not.toThrow();
        },
      );
    } else {
      it.todo(
        `${service.dir}: env vars checked against ${service.schemaExport} — services/${service.dir}/src/${service.dir}.config.ts does not exist yet`,
      );
    }
  });

  it('has every token-verifying service trust the issuer whose tokens the gateway hands out', () => {
    const gatewayEnv = resolveEnv(onlyContainer(deployment(overlay, 'gateway')!), objects);
    const value = (env: ReturnType<typeof resolveEnv>, key: string) =>
      env.find((variable) => variable.name === key)?.value;
    const mode = value(gatewayEnv, 'AUTH_MODE');
    // Dev: the built-in issuer signs with iss = its public URL (AUTH_ISSUER unset on the gateway).
    const issuer =
      mode === 'dev' ? value(gatewayEnv, 'GATEWAY_PUBLIC_URL') : value(gatewayEnv, 'AUTH_ISSUER');
    expect(issuer).toBeTruthy();
    const audience = value(gatewayEnv, 'AUTH_AUDIENCE') ?? 'orgmesh';
    for (const object of ofKind(objects, 'Deployment').filter((d) => d.metadata.name !== 'gateway')) {
      const env = resolveEnv(onlyContainer(object), objects);
      if (!env.some((variable) => variable.name === 'AUTH_ISSUER')) continue;
      expect([object.metadata.name, value(env, 'AUTH_ISSUER'), value(env, 'AUTH_AUDIENCE')]).toEqual([
        object.metadata.name,
        issuer,
        audience,
      ]);
    }
    if (mode === 'dev') {
      // The JWKS the other services fetch is the gateway's.
      for (const object of ofKind(objects, 'Deployment')) {
        const jwks = value(resolveEnv(onlyContainer(object), objects), 'AUTH_JWKS_URL');
        if (jwks !== undefined)
          expect([object.metadata.name, jwks]).toEqual([
            object.metadata.name,
            `${issuer}/.well-known/jwks.json`,
          ]);
      }
      // The issuer URL is the gateway Service, so JWKS fetches reach it in-cluster.
      const url = new URL(issuer!);
      const service = find(objects, 'Service', url.hostname);
      expect((spec(service!)['ports'] as Array<{ port: number }>).map((port) => port.port)).toContain(
        Number(url.port),
      );
      expect(spec(find(objects, 'HorizontalPodAutoscaler', 'gateway')!)['maxReplicas']).toBe(1);
    }
  });

  it('starts each orgmesh image on an entry point that exists in the repository', () => {
    const problems: string[] = [];
    for (const object of workloads(overlay)) {
      for (const container of containersOf(object)) {
        const { name } = parseImage(container.image);
        const image = name.split('/').pop()!;
        if (!name.includes('orgmesh/')) continue;
        const entry = (container.command ?? []).find((arg) => /\/dist\/.+\.js$/.test(arg));
        if (entry) {
          if (!sourceOfBuiltEntry(entry) && !entry.includes('scripted-model'))
            problems.push(`${label(object)}: no source for ${entry}`);
        } else if (!SERVICES.some((service) => service.dir === image))
          problems.push(`${label(object)}: image ${image} is not a service directory`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('runs migrations in a Job from the migrations CLI, with DATABASE_URL from the database Secret only', () => {
    const job = find(objects, 'Job', 'orgmesh-migrate');
    expect(job).toBeDefined();
    const container = onlyContainer(job!);
    const entry = container.command?.find((arg) => arg.endsWith('.js'));
    expect(entry).toBe('migrations/dist/cli.js');
    expect(relative(REPO_ROOT, sourceOfBuiltEntry(entry!) ?? '')).toBe(join('migrations', 'cli.ts'));
    // The CLI's environment is read in its config file (issue #22 item 7): DATABASE_URL, nothing else.
    expect(readFileSync(join(REPO_ROOT, 'migrations', 'cli.ts'), 'utf8')).toContain('loadMigrateConfig()');
    expect(readFileSync(join(REPO_ROOT, 'migrations', 'migrate.config.ts'), 'utf8')).toContain('DATABASE_URL:');
    expect(resolveEnv(container, objects).map((env) => [env.name, env.secret])).toEqual([
      ['DATABASE_URL', { name: 'orgmesh-database-app', key: 'uri' }],
    ]);
    const pod = (spec(job!)['template'] as { spec: { restartPolicy: string } }).spec;
    expect(pod.restartPolicy).toBe('Never');
    expect(spec(job!)['ttlSecondsAfterFinished']).toBeGreaterThan(0);
  });

  describe('network policies', () => {
    const policies = ofKind(objects, 'NetworkPolicy');
    const outsider: Peer = {
      kind: 'pod',
      namespace: 'elsewhere',
      namespaceLabels: { 'kubernetes.io/metadata.name': 'elsewhere' },
      labels: { app: 'curious' },
    };
    const orgmeshPod: Peer = {
      kind: 'pod',
      namespace,
      namespaceLabels: { 'kubernetes.io/metadata.name': namespace },
      labels: { 'app.kubernetes.io/part-of': 'orgmesh', 'app.kubernetes.io/name': 'sessions' },
    };
    const strangerInNamespace: Peer = {
      kind: 'pod',
      namespace,
      namespaceLabels: { 'kubernetes.io/metadata.name': namespace },
      labels: { app: 'debug-shell' },
    };
    const pods: Array<{ name: string; pod: Pod }> = workloads(overlay).map((object) => {
      const containers = containersOf(object);
      return {
        name: object.metadata.name,
        pod: {
          namespace,
          labels: podLabels(object),
          ports: Object.assign({}, ...containers.map(namedPorts)) as Record<string, number>,
        },
      };
    });
    const reachable = (peer: Peer) =>
      pods
        .filter(({ pod }) =>
          Object.values(pod.ports).some((port) => ingressAllowed(policies, pod, port, peer)),
        )
        .map(({ name }) => name)
        .sort();

    it('lets only the gateway and the privacy proxy be reached from outside the namespace', () => {
      expect(reachable(outsider)).toEqual(['gateway', 'privacy-proxy']);
      expect(reachable({ kind: 'external' })).toEqual(['gateway', 'privacy-proxy']);
    });

    it('opens the public ports of the edge (REST, gRPC, model API) and nothing else there', () => {
      const gateway = pods.find(({ name }) => name === 'gateway')!.pod;
      const proxy = pods.find(({ name }) => name === 'privacy-proxy')!.pod;
      expect(ingressAllowed(policies, gateway, gateway.ports['http']!, outsider)).toBe(true);
      expect(ingressAllowed(policies, gateway, gateway.ports['grpc']!, outsider)).toBe(true);
      expect(ingressAllowed(policies, proxy, proxy.ports['http']!, outsider)).toBe(true);
      expect(ingressAllowed(policies, gateway, 9229, outsider)).toBe(false);
    });

    if (overlay === 'dev') {
      it.each([
        ['nats', 'client'],
        ['postgres', 'postgres'],
      ])('lets only orgmesh pods reach %s', (name, portName) => {
        const { pod } = pods.find((entry) => entry.name === name)!;
        const port = pod.ports[portName]!;
        expect(ingressAllowed(policies, pod, port, orgmeshPod)).toBe(true);
        expect(ingressAllowed(policies, pod, port, strangerInNamespace)).toBe(false);
        expect(ingressAllowed(policies, pod, port, outsider)).toBe(false);
      });

      it('lets only the privacy proxy reach the scripted model', () => {
        const { pod } = pods.find((entry) => entry.name === 'scripted-model')!;
        const proxy: Peer = { ...orgmeshPod, labels: podLabels(deployment('dev', 'privacy-proxy')!) } as Peer;
        expect(ingressAllowed(policies, pod, pod.ports['http']!, proxy)).toBe(true);
        expect(ingressAllowed(policies, pod, pod.ports['http']!, orgmeshPod)).toBe(false);
      });
    } else {
      it('lets orgmesh pods, its own instances and the operator reach the CloudNativePG cluster, nobody else', () => {
        const instance: Pod = {
          namespace,
          labels: { 'cnpg.io/cluster': cnpgCluster.metadata.name },
          ports: {},
        };
        const operator: Peer = {
          kind: 'pod',
          namespace: 'cnpg-system',
          namespaceLabels: { 'kubernetes.io/metadata.name': 'cnpg-system' },
          labels: { 'app.kubernetes.io/name': 'cloudnative-pg' },
        };
        const peerInstance: Peer = {
          kind: 'pod',
          namespace,
          namespaceLabels: {},
          labels: { 'cnpg.io/cluster': cnpgCluster.metadata.name },
        };
        expect(ingressAllowed(policies, instance, 5432, orgmeshPod)).toBe(true);
        expect(ingressAllowed(policies, instance, 5432, peerInstance)).toBe(true);
        expect(ingressAllowed(policies, instance, 8000, operator)).toBe(true);
        expect(ingressAllowed(policies, instance, 5432, strangerInNamespace)).toBe(false);
        expect(ingressAllowed(policies, instance, 5432, outsider)).toBe(false);
        expect(ingressAllowed(policies, instance, 8000, orgmeshPod)).toBe(false);
      });
    }
  });
});

describe('privacy proxy role profiles', () => {
  const file = join(K8S, 'base', 'privacy-profiles.yaml');
  const text = readFileSync(file, 'utf8');

  it.each(Object.keys(OVERLAYS) as Overlay[])(
    '%s runs the privacy proxy on the registry’s profiles and people, the demo org chart seeding the registry',
    (overlay) => {
      const proxy = resolveEnv(onlyContainer(deployment(overlay, 'privacy-proxy')!), rendered[overlay]);
      const value = (name: string) => proxy.find((variable) => variable.name === name)?.value;
      expect(value('PRIVACY_PROFILES_FILE')).toBeUndefined();
      expect(value('PRIVACY_PROFILE_SOURCE') ?? 'registry').toBe('registry');
      expect(value('NATS_URL')).toBeDefined();
      const registry = resolveEnv(onlyContainer(deployment(overlay, 'registry')!), rendered[overlay]);
      expect(value('NATS_URL')).toBe(registry.find((variable) => variable.name === 'NATS_URL')?.value);
      // Baked into the image next to REGISTRY_DIR's default (the working directory's deploy/registry).
      const seed = registry.find((variable) => variable.name === 'REGISTRY_ORG_CHART')?.value;
      expect(seed).toBe('deploy/registry/org-chart.csv');
      expect(existsSync(join(REPO_ROOT, seed!))).toBe(true);
      expect(find(rendered[overlay], 'ConfigMap', 'orgmesh-privacy-profiles')).toBeUndefined();
    },
  );

  it('mirrors deploy/registry: each role’s default profile and the org chart’s people', () => {
    const parsed = readYamlDocuments(file)[0] as {
      profiles: Record<string, unknown>;
      directory: Array<{ name: string; email: string; userId: string }>;
    };
    const registry = join(REPO_ROOT, 'deploy', 'registry');
    const camel = (key: string) => key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
    for (const profileFile of readdirSync(join(registry, 'profiles'))) {
      const profile = readYamlDocuments(join(registry, 'profiles', profileFile))[0] as {
        id: string;
        role: string;
        privacy: Record<string, unknown>;
      };
      if (profile.id !== profile.role) continue;
      const expected = Object.fromEntries(
        Object.entries(profile.privacy).map(([key, value]) => [camel(key), value]),
      );
      expect([profile.role, parsed.profiles[profile.role]]).toEqual([profile.role, expected]);
    }
    const people = readFileSync(join(registry, 'org-chart.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','))
      .map(([userId, , name, , email]) => ({ name, email, userId }));
    expect(parsed.directory).toEqual(people);
  });

  const loader = join(REPO_ROOT, 'services', 'privacy-proxy', 'src', 'profiles', 'profile-source.ts');
  if (existsSync(loader)) {
    it('loads with the privacy proxy’s own profile loader', async () => {
      const { FileProfileSource } = (await import(loader)) as {
        FileProfileSource: {
          fromText(
            text: string,
            path: string,
          ): { getProfile(role: string): Promise<{ mode: string } | undefined> };
        };
      };
      const source = FileProfileSource.fromText(text, file);
      expect((await source.getProfile('finance'))?.mode).toBe('mask');
      expect((await source.getProfile('an-unknown-role'))?.mode).toBe('mask');
    });
  } else {
    it.todo(
      'privacy-profiles.yaml loads with the proxy’s loader — services/privacy-proxy/src/profiles/profile-source.ts does not exist yet',
    );
  }
});

describe('dev overlay infrastructure', () => {
  const objects = rendered.dev;
  const config = find(objects, 'ConfigMap', 'orgmesh-config')!['data'] as Record<string, string>;

  it('runs a single-node NATS StatefulSet with JetStream stored on its PersistentVolumeClaim', () => {
    const nats = find(objects, 'StatefulSet', 'nats')!;
    expect(spec(nats)['replicas']).toBe(1);
    const claims = spec(nats)['volumeClaimTemplates'] as Array<{ metadata: { name: string } }>;
    const container = onlyContainer(nats);
    const dataMount = container.volumeMounts!.find((mount) =>
      claims.some((claim) => claim.metadata.name === mount.name),
    )!;
    const conf = (find(objects, 'ConfigMap', 'nats-config')!['data'] as Record<string, string>)['nats.conf']!;
    expect(conf).toMatch(/jetstream\s*\{/);
    const storeDir = /store_dir:\s*(\S+)/.exec(conf)?.[1];
    expect(storeDir?.startsWith(`${dataMount.mountPath}/`)).toBe(true);
    const configMount = container.volumeMounts!.find((mount) => mount.name === 'config')!;
    expect(container.args).toEqual(['--config', `${configMount.mountPath}/nats.conf`]);
  });

  it('points NATS_URL at the NATS Service client port', () => {
    const url = new URL(config['NATS_URL']!);
    const service = find(objects, 'Service', url.hostname)!;
    expect((spec(service)['ports'] as Array<{ port: number }>).map((port) => port.port)).toContain(
      Number(url.port),
    );
    expect(matchLabels(spec(service)['selector'], podLabels(find(objects, 'StatefulSet', 'nats')!))).toBe(
      true,
    );
  });

  it('runs a single Postgres StatefulSet on a PersistentVolumeClaim whose password is the one in the documented DATABASE_URL', () => {
    const postgres = find(objects, 'StatefulSet', 'postgres')!;
    expect(spec(postgres)['replicas']).toBe(1);
    expect(spec(postgres)['volumeClaimTemplates']).toHaveLength(1);
    const env = resolveEnv(onlyContainer(postgres), objects);
    expect(env.find((variable) => variable.name === 'POSTGRES_PASSWORD')?.secret).toEqual({
      name: 'orgmesh-database-app',
      key: 'password',
    });
    const user = env.find((variable) => variable.name === 'POSTGRES_USER')!.value;
    const database = env.find((variable) => variable.name === 'POSTGRES_DB')!.value;
    // The README's URL: postgres://<user>:$PGPASSWORD@<service>:<port>/<db>, same password variable as the password key.
    const command = readme
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .find((line) => line.includes('create secret generic orgmesh-database-app'))!;
    const password = /--from-literal=password="\$(\w+)"/.exec(command)?.[1];
    const uri = /--from-literal=uri="([^"]+)"/.exec(command)?.[1];
    expect(uri).toBe(`postgres://${user}:$${password}@postgres:5432/${database}`);
    const service = find(objects, 'Service', 'postgres')!;
    expect((spec(service)['ports'] as Array<{ port: number }>)[0]!.port).toBe(5432);
    expect(matchLabels(spec(service)['selector'], podLabels(postgres))).toBe(true);
  });

  it('points the privacy proxy at the scripted model Service', () => {
    const url = new URL(config['PRIVACY_UPSTREAM_OPENAI_URL']!);
    const service = find(objects, 'Service', url.hostname)!;
    expect(service.metadata.name).toBe(SCRIPTED_MODEL.workload);
    expect((spec(service)['ports'] as Array<{ port: number }>).map((port) => port.port)).toContain(
      Number(url.port),
    );
    const model = onlyContainer(deployment('dev', SCRIPTED_MODEL.workload)!);
    const port = resolveEnv(model, objects).find(
      (variable) => variable.name === SCRIPTED_MODEL.portKey,
    )?.value;
    expect(resolvePort(model, Number(port))).toBe(Number(url.port));
    expect(resolvePort(model, model.readinessProbe?.tcpSocket?.port)).toBe(Number(url.port));
  });

  it('uses the built-in issuer (AUTH_MODE=dev)', () => {
    expect(config['AUTH_MODE']).toBe('dev');
  });

  const entry = onlyContainer(deployment('dev', SCRIPTED_MODEL.workload)!).command?.find((arg) =>
    arg.endsWith('.js'),
  );
  if (entry && sourceOfBuiltEntry(entry)) {
    it('starts the scripted model from its source entry point', () => {
      expect(sourceOfBuiltEntry(entry)).toBeDefined();
    });
  } else {
    it.todo(
      `scripted-model: entry ${entry ?? '(none)'} — its source under services/agents/src does not exist yet`,
    );
  }
  if (scriptedModelSchema) {
    it(`scripted-model sets only keys of ${SCRIPTED_MODEL.schemaExport}, every required key, valid values`, () => {
      const env = resolveEnv(onlyContainer(deployment('dev', SCRIPTED_MODEL.workload)!), objects);
      expect(
        env.map((variable) => variable.name).filter((name) => !scriptedModelSchema.keys.includes(name)),
      ).toEqual([]);
      expect(
        scriptedModelSchema.required.filter(
          (key) => !env.some((variable) => variable.name === key && !variable.optional),
        ),
      ).toEqual([]);
      expect(
        env.filter(
          (variable) =>
            variable.value !== undefined && scriptedModelSchema.problem(variable.name, variable.value),
        ),
      ).toEqual([]);
    });
  } else {
    it.todo(
      `scripted-model: env vars checked against ${SCRIPTED_MODEL.schemaExport} — no *.config.ts under ${SCRIPTED_MODEL.searchDir} exports it yet`,
    );
  }
});

describe('prod overlay and platform', () => {
  const objects = rendered.prod;
  const config = find(objects, 'ConfigMap', 'orgmesh-config')!['data'] as Record<string, string>;

  it('runs no NATS, Postgres or scripted model of its own', () => {
    expect(ofKind(objects, 'StatefulSet')).toEqual([]);
    expect(deployment('prod', SCRIPTED_MODEL.workload)).toBeUndefined();
    for (const object of workloads('prod'))
      for (const container of containersOf(object))
        expect(container.image.startsWith('registry.example.com/orgmesh/')).toBe(true);
  });

  it('points NATS_URL at the external NATS cluster of the Helm values: 3 servers, JetStream on PVCs, one per node', () => {
    const url = new URL(config['NATS_URL']!);
    const natsPolicy = platform.find(
      (object) => object.kind === 'NetworkPolicy' && object.metadata.name === 'nats-clients-from-orgmesh',
    )!;
    expect(url.hostname).toBe(`nats.${natsPolicy.metadata.namespace}.svc.cluster.local`);
    expect(url.port).toBe('4222');
    const values = readYamlDocuments(join(K8S, 'platform', 'nats-values.yaml'))[0] as {
      config: {
        cluster: { enabled: boolean; replicas: number };
        jetstream: {
          enabled: boolean;
          fileStore: { enabled: boolean; pvc: { enabled: boolean; size: string } };
        };
      };
      podTemplate: { topologySpreadConstraints: Record<string, { whenUnsatisfiable: string }> };
    };
    expect(values.config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(values.config.jetstream).toMatchObject({
      enabled: true,
      fileStore: { enabled: true, pvc: { enabled: true } },
    });
    expect(values.podTemplate.topologySpreadConstraints['kubernetes.io/hostname']?.whenUnsatisfiable).toBe(
      'DoNotSchedule',
    );
  });

  it('gives every Deployment its own NATS seed only, named in NATS_NKEY_SEED_FILE (ADR 0011)', () => {
    const seeds: Record<string, string> = {};
    for (const object of ofKind(objects, 'Deployment')) {
      const podSpec = spec(object)['template'] as { spec: { volumes?: Array<Record<string, unknown>> } };
      const volume = (podSpec.spec.volumes ?? []).find((v) => v['name'] === 'nats-credentials') as
        | { secret: { secretName: string; items: Array<{ key: string; path: string }> } }
        | undefined;
      expect(volume?.secret.secretName).toBe('orgmesh-nats-credentials');
      expect(volume?.secret.items).toHaveLength(1);
      const [container] = containersOf(object);
      const mount = (container?.volumeMounts ?? []).find((m) => m.name === 'nats-credentials');
      const env = resolveEnv(container!, objects).find((e) => e.name === 'NATS_NKEY_SEED_FILE');
      expect(env?.value).toBe(`${mount?.mountPath}/${volume?.secret.items[0]?.path}`);
      seeds[object.metadata.name] = volume!.secret.items[0]!.key;
    }
    expect(seeds).toMatchObject({
      sessions: 'sessions.nk',
      registry: 'registry.nk',
      'mesh-router': 'mesh-router.nk',
      'privacy-proxy': 'privacy-proxy.nk',
      gateway: 'gateway.nk',
      'agent-finance': 'agent-finance-agent.nk',
    });
    expect(new Set(Object.values(seeds)).size).toBe(Object.keys(seeds).length);
  });

  it('lets only orgmesh pods of the orgmesh namespace (and the NATS servers) reach the external NATS', () => {
    const policies = platform.filter((object) => object.kind === 'NetworkPolicy');
    const server: Pod = {
      namespace: 'nats',
      labels: { 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/instance': 'nats' },
      ports: {},
    };
    const orgmeshNs = { 'kubernetes.io/metadata.name': OVERLAYS.prod };
    expect(
      ingressAllowed(policies, server, 4222, {
        kind: 'pod',
        namespace: 'orgmesh',
        namespaceLabels: orgmeshNs,
        labels: { 'app.kubernetes.io/part-of': 'orgmesh' },
      }),
    ).toBe(true);
    expect(
      ingressAllowed(policies, server, 4222, {
        kind: 'pod',
        namespace: 'orgmesh',
        namespaceLabels: orgmeshNs,
        labels: { app: 'debug-shell' },
      }),
    ).toBe(false);
    expect(
      ingressAllowed(policies, server, 4222, {
        kind: 'pod',
        namespace: 'other',
        namespaceLabels: { 'kubernetes.io/metadata.name': 'other' },
        labels: { 'app.kubernetes.io/part-of': 'orgmesh' },
      }),
    ).toBe(false);
    expect(
      ingressAllowed(policies, server, 6222, {
        kind: 'pod',
        namespace: 'nats',
        namespaceLabels: {},
        labels: server.labels,
      }),
    ).toBe(true);
    expect(ingressAllowed(policies, server, 4222, { kind: 'external' })).toBe(false);
  });

  it('reads DATABASE_URL from the Secret CloudNativePG generates for a 3-instance cluster in the orgmesh namespace', () => {
    expect(cnpgCluster.kind).toBe('Cluster');
    expect(cnpgCluster.metadata.namespace).toBe(OVERLAYS.prod);
    expect(cnpgCluster.spec.instances).toBe(3);
    expect(cnpgCluster.spec.bootstrap.initdb.database).toBe('orgmesh');
    for (const object of workloads('prod')) {
      for (const container of containersOf(object)) {
        const url = resolveEnv(container, objects).find((variable) => variable.name === 'DATABASE_URL');
        if (url) expect(url.secret).toEqual({ name: `${cnpgCluster.metadata.name}-app`, key: 'uri' });
      }
    }
  });

  it('verifies tokens of an external OIDC issuer', () => {
    expect(config['AUTH_MODE']).not.toBe('dev');
    const env = resolveEnv(onlyContainer(deployment('prod', 'gateway')!), objects);
    for (const key of ['AUTH_MODE', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'AUTH_JWKS_URL'])
      expect(env.find((variable) => variable.name === key)?.value).toBeTruthy();
  });

  it.each(platform.map((object) => [label(object), object] as const))(
    'platform %s validates against the Kubernetes API schema',
    (_name, object) => {
      expect(validate(object)).toEqual([]);
    },
  );
});

describe('the manifest checks themselves', () => {
  const sessions = () => structuredClone(deployment('dev', 'sessions')!);

  it('reject a Deployment the API server would refuse', () => {
    const broken = sessions();
    onlyContainer(broken).ports![0]!.containerPort = 'health' as unknown as number;
    delete (broken['spec'] as Record<string, unknown>)['selector'];
    const errors = validate(broken);
    expect(errors.join('\n')).toMatch(/containerPort/);
    expect(errors.join('\n')).toMatch(/selector/);
  });

  it('reject a kind without a registered schema', () => {
    expect(
      validate({ apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: { name: 'x' } }),
    ).toEqual(['no Kubernetes schema registered for postgresql.cnpg.io/v1/Cluster']);
  });

  it('find a configuration key the service does not know', async () => {
    const schema = await findConfigSchema('services/sessions/src', 'SessionsConfigSchema');
    expect(schema?.keys).toContain('SESSIONS_HTTP_PORT');
    expect(schema?.problem('SESSIONS_HTTP_PORTS', '1')).toBe('not a key of the schema');
    expect(schema?.problem('SESSIONS_HTTP_PORT', 'eighty')).toBeDefined();
    expect(schema?.defaultOf('SESSIONS_HTTP_PORT')).toBe(8101);
  });

  it('evaluate a default-deny policy as closed and an empty rule as open', () => {
    const target: Pod = { namespace: 'n', labels: { a: 'b' }, ports: {} };
    const deny = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'd', namespace: 'n' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    };
    const open = {
      ...deny,
      metadata: { name: 'o', namespace: 'n' },
      spec: { podSelector: { matchLabels: { a: 'b' } }, ingress: [{}] },
    };
    expect(ingressAllowed([], target, 1, { kind: 'external' })).toBe(true);
    expect(ingressAllowed([deny], target, 1, { kind: 'external' })).toBe(false);
    expect(ingressAllowed([deny, open], target, 1, { kind: 'external' })).toBe(true);
    expect(
      selects({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['b'] }] }, target.labels),
    ).toBe(false);
  });
});

describe('probe paths exist in the services', () => {
  let server: HealthServer;
  let failing: HealthServer;
  beforeAll(async () => {
    server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      checks: { ok: async () => undefined },
      registry: createMetricsRegistry('probe-test'),
    });
    failing = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      checks: { nats: () => Promise.reject(new Error('down')) },
      registry: createMetricsRegistry('probe-test-failing'),
      checkTimeoutMs: 200,
    });
  });
  afterAll(async () => {
    await server.close();
    await failing.close();
  });

  it('the shared health server (@orgmesh/telemetry) answers /healthz, /readyz and /metrics, and /readyz fails with a failing dependency', async () => {
    const get = async (health: HealthServer, path: string) =>
      (await fetch(`http://127.0.0.1:${health.port}${path}`)).status;
    expect(await get(server, '/healthz')).toBe(200);
    expect(await get(server, '/readyz')).toBe(200);
    expect(await get(server, '/metrics')).toBe(200);
    expect(await get(failing, '/healthz')).toBe(200);
    expect(await get(failing, '/readyz')).toBe(503);
  });

  for (const service of SERVICES) {
    if (!entryPointSource(service.dir)) {
      it.todo(
        `${service.dir}: serves /healthz and /readyz — services/${service.dir}/src/main.ts does not exist yet`,
      );
      continue;
    }
    it(`${service.dir} serves /healthz and /readyz (through the shared health server or its own routes) on ${service.healthPortKey}`, () => {
      const files = serviceSources(service.dir);
      const sources = files.map((file) => readFileSync(file, 'utf8'));
      // startHealthServer directly, or through ServiceHost.serveHealth (@orgmesh/service-host), which calls it.
      const sharedServer = sources.some(
        (text) => text.includes('startHealthServer(') || text.includes('.serveHealth('),
      );
      const ownRoutes = ['healthz', 'readyz'].every((path) =>
        sources.some((text) => new RegExp(`['"\`]/?${path}['"\`]`).test(text)),
      );
      expect(sharedServer || ownRoutes).toBe(true);
      // The port variable is used by code, not only declared in the config schema.
      const users = files.filter(
        (file, index) =>
          !file.endsWith('.config.ts') && new RegExp(`\\b${service.healthPortKey}\\b`).test(sources[index]!),
      );
      expect(users.length).toBeGreaterThan(0);
    });
  }
});

describe('deploy/ commits no secret material', () => {
  it('no manifest, compose file or platform file declares a Secret or a private key', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(ya?ml|conf)$/.test(entry.name)) files.push(path);
      }
    };
    walk(join(REPO_ROOT, 'deploy', 'k8s'));
    walk(join(REPO_ROOT, 'deploy', 'compose'));
    const offending = files.filter((file) => {
      const text = readFileSync(file, 'utf8');
      return /^kind:\s*Secret\s*$/m.test(text) || /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text);
    });
    expect(files.length).toBeGreaterThan(10);
    expect(offending.map((file) => relative(REPO_ROOT, file))).toEqual([]);
  });

  it('every workload is one of a known service, the dev infrastructure, the scripted model or the migration Job', () => {
    const known = new Set([
      'nats',
      'postgres',
      SCRIPTED_MODEL.workload,
      'orgmesh-migrate',
      ...SERVICES.flatMap((service) => service.workloads),
    ]);
    for (const overlay of Object.keys(OVERLAYS) as Overlay[]) {
      expect(
        workloads(overlay)
          .map((object) => object.metadata.name)
          .filter((name) => !known.has(name)),
      ).toEqual([]);
      for (const object of workloads(overlay)) {
        const service = serviceForWorkload(object.metadata.name);
        if (service) expect(podLabels(object)['app.kubernetes.io/name']).toBe(service.dir);
        expect(isObject(object.metadata.labels) && object.metadata.labels['app.kubernetes.io/part-of']).toBe(
          'orgmesh',
        );
      }
    }
  });
});

it('every platform file exists next to the README that documents it', () => {
  for (const file of ['nats-values.yaml', 'nats-network-policy.yaml', 'nats-tls.yaml', 'postgres-cluster.yaml']) {
    expect(existsSync(join(K8S, 'platform', file))).toBe(true);
    expect(readme).toContain(`deploy/k8s/platform/${file}`);
  }
});

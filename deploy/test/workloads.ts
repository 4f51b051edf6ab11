/** Read-only views of rendered workloads used by the manifest tests. */
import { isObject, podSpecOf, type K8sObject } from './kustomize.js';

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
  env?: Array<{ name: string; value?: string; valueFrom?: Record<string, Record<string, unknown>> }>;
  envFrom?: unknown[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}

export interface Probe {
  httpGet?: { path?: string; port: number | string };
  tcpSocket?: { port: number | string };
  exec?: { command: string[] };
}

/** One variable as the container will see it. */
export interface ResolvedEnv {
  name: string;
  source: 'literal' | 'configMap' | 'secret';
  /** Known for literals and ConfigMap keys; unknown for secrets. */
  value?: string;
  /** An optional reference that may leave the variable unset. */
  optional: boolean;
  secret?: { name: string; key: string };
  /** Why the reference cannot be resolved (missing ConfigMap or key), if so. */
  unresolved?: string;
}

export const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'Job', 'DaemonSet', 'CronJob']);

export function ofKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((object) => object.kind === kind);
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((object) => object.kind === kind && object.metadata.name === name);
}

export function containersOf(object: K8sObject): Container[] {
  const podSpec = podSpecOf(object);
  return podSpec && Array.isArray(podSpec['containers'])
    ? (podSpec['containers'] as unknown as Container[])
    : [];
}

export function podLabels(object: K8sObject): Record<string, string> {
  const spec = object['spec'];
  const template = isObject(spec) ? spec['template'] : undefined;
  const metadata = isObject(template) ? template['metadata'] : undefined;
  return isObject(metadata) && isObject(metadata['labels'])
    ? (metadata['labels'] as Record<string, string>)
    : {};
}

export function spec(object: K8sObject): Record<string, unknown> {
  const value = object['spec'];
  return isObject(value) ? (value as Record<string, unknown>) : {};
}

export function namedPorts(container: Container): Record<string, number> {
  return Object.fromEntries(
    (container.ports ?? []).filter((port) => port.name).map((port) => [port.name!, port.containerPort]),
  );
}

/** A probe's or Service's port (number or container port name) as a number, if the container declares it. */
export function resolvePort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number')
    return (container.ports ?? []).some((p) => p.containerPort === port) ? port : undefined;
  if (typeof port === 'string') return namedPorts(container)[port];
  return undefined;
}

export function resolveEnv(container: Container, objects: K8sObject[]): ResolvedEnv[] {
  return (container.env ?? []).map((entry) => {
    if (entry.valueFrom === undefined)
      return { name: entry.name, source: 'literal', value: entry.value ?? '', optional: false };
    const configMapRef = entry.valueFrom['configMapKeyRef'];
    if (configMapRef) {
      const optional = configMapRef['optional'] === true;
      const configMap = find(objects, 'ConfigMap', String(configMapRef['name']));
      const data =
        configMap && isObject(configMap['data']) ? (configMap['data'] as Record<string, string>) : undefined;
      const value = data?.[String(configMapRef['key'])];
      if (value === undefined) {
        return {
          name: entry.name,
          source: 'configMap',
          optional,
          unresolved: optional
            ? undefined
            : `ConfigMap ${String(configMapRef['name'])} has no key ${String(configMapRef['key'])}`,
        };
      }
      return { name: entry.name, source: 'configMap', value, optional };
    }
    const secretRef = entry.valueFrom['secretKeyRef'];
    if (secretRef) {
      return {
        name: entry.name,
        source: 'secret',
        optional: secretRef['optional'] === true,
        secret: { name: String(secretRef['name']), key: String(secretRef['key']) },
      };
    }
    return {
      name: entry.name,
      source: 'literal',
      optional: false,
      unresolved: `unsupported valueFrom ${Object.keys(entry.valueFrom).join(',')}`,
    };
  });
}

/** Matches a label selector's matchLabels (deploy/k8s uses no expressions in workload selectors). */
export function matchLabels(selector: unknown, labels: Record<string, string>): boolean {
  if (!isObject(selector)) return false;
  const wanted = isObject(selector['matchLabels']) ? selector['matchLabels'] : selector;
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

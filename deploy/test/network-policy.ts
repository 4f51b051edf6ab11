/**
 * Evaluates Kubernetes NetworkPolicy ingress rules the way the API defines them, so the tests can
 * ask "may this peer open this port on that pod?" instead of pattern-matching YAML. A pod selected
 * by no Ingress policy accepts everything; once selected, a connection is allowed only if some rule
 * of some selecting policy admits both the peer and the port.
 *
 * Supported: podSelector / namespaceSelector (matchLabels, matchExpressions In, NotIn, Exists,
 * DoesNotExist), ipBlock (treated as "any address outside the cluster's pods"), numeric and named
 * ports. Egress rules are not evaluated (deploy/k8s sets none).
 */
import { isObject, type K8sObject } from './kustomize.js';

export interface Pod {
  namespace: string;
  labels: Record<string, string>;
  /** Container ports by name, for named ports in rules. */
  ports: Record<string, number>;
}

/** Who opens the connection: a pod (with its namespace's labels) or an address outside the pod network. */
export type Peer =
  | {
      kind: 'pod';
      namespace: string;
      namespaceLabels: Record<string, string>;
      labels: Record<string, string>;
    }
  | { kind: 'external' };

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** `true` when the selector selects the labels (an empty selector selects everything). */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const has = expression.key in labels;
    const value = labels[expression.key];
    switch (expression.operator) {
      case 'In':
        if (!has || !(expression.values ?? []).includes(value!)) return false;
        break;
      case 'NotIn':
        if (has && (expression.values ?? []).includes(value!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`label selector operator ${expression.operator} is not supported`);
    }
  }
  return true;
}

export function ingressAllowed(policies: K8sObject[], target: Pod, port: number, peer: Peer): boolean {
  const selecting = policies.filter((policy) => {
    const spec = policy['spec'] as Record<string, unknown>;
    const types = (spec['policyTypes'] as string[] | undefined) ?? ['Ingress'];
    return (
      (policy.metadata.namespace ?? '') === target.namespace &&
      types.includes('Ingress') &&
      selects(spec['podSelector'] as LabelSelector | undefined, target.labels)
    );
  });
  if (!selecting.length) return true;
  return selecting.some((policy) => {
    const rules =
      ((policy['spec'] as Record<string, unknown>)['ingress'] as
        Array<Record<string, unknown>> | undefined) ?? [];
    return rules.some(
      (rule) =>
        portMatches(rule['ports'], target, port) &&
        peerMatches(rule['from'], policy.metadata.namespace ?? '', peer),
    );
  });
}

function portMatches(ports: unknown, target: Pod, port: number): boolean {
  if (!Array.isArray(ports) || ports.length === 0) return true;
  return ports.some((entry) => {
    if (!isObject(entry) || entry['port'] === undefined) return true;
    if ((entry['protocol'] ?? 'TCP') !== 'TCP') return false;
    const wanted = entry['port'];
    const number = typeof wanted === 'number' ? wanted : target.ports[String(wanted)];
    if (number === undefined) return false;
    const end = typeof entry['endPort'] === 'number' ? entry['endPort'] : number;
    return port >= number && port <= end;
  });
}

function peerMatches(from: unknown, policyNamespace: string, peer: Peer): boolean {
  if (!Array.isArray(from) || from.length === 0) return true;
  return from.some((entry) => {
    if (!isObject(entry)) return false;
    if (entry['ipBlock'] !== undefined) return peer.kind === 'external';
    if (peer.kind !== 'pod') return false;
    const namespaceSelector = entry['namespaceSelector'] as LabelSelector | undefined;
    const podSelector = entry['podSelector'] as LabelSelector | undefined;
    const namespaceOk =
      namespaceSelector === undefined
        ? peer.namespace === policyNamespace
        : selects(namespaceSelector, peer.namespaceLabels);
    return namespaceOk && selects(podSelector, peer.labels);
  });
}

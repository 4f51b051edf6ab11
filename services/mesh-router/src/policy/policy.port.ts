import type { PolicyKind } from '@orgmesh/contracts';

/** The registry's answer: may this role send this kind to that role, and which rule says so. */
export interface PolicyVerdict {
  allowed: boolean;
  rule: string;
  /**
   * The role the registry resolved `to` to: a role id resolves to itself, an agent id to its
   * agent's role (the namespaces are disjoint); null when the registry knows neither.
   */
  toRole: string | null;
}

/** An org-chart person an approval escalates to. */
export interface EscalationTarget {
  userId: string;
  role: string;
  name: string | null;
}

/**
 * What the mesh needs from the registry. The domain depends on this port only; the NATS adapter
 * (nats-policy.adapter.ts) calls rpc.registry.v1.resolve-policy and rpc.registry.v1.get-manager.
 */
export interface PolicyPort {
  /** `to` is a role, or an agent id (the registry applies that agent's role's rules). */
  resolve(fromRole: string, to: string, kind: PolicyKind): Promise<PolicyVerdict>;
  /** The approver's manager from the org chart, or null when there is none (top of the chart, unknown approver). */
  managerOf(approver: { role: string; agentId: string | null }): Promise<EscalationTarget | null>;
}

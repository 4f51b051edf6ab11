import type { Subscription } from '@nats-io/nats-core';
import { LocalIssuer, createJwtVerifier } from '@orgmesh/auth';
import {
  AppError,
  GetManager,
  GetProfile,
  ResolvePolicy,
  type OrgUser,
  type PolicyKind,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import {
  createTestContext,
  startTestAgent,
  type TestAgent,
  type TestAgentBehaviour,
  type TestContext,
  namespaceBus,
  serviceTestEnv,
  startTestService,
} from '@orgmesh/testing';
import { loadMeshRouterConfig, type MeshRouterConfig } from '../mesh-router.config.js';
import { startMeshRouterApp, type MeshRouterApp } from '../mesh-router.app.js';

export const silentLogger = createLogger({ service: 'mesh-test', level: 'silent' });

export function testConfig(ctx: TestContext, overrides: Record<string, string> = {}): MeshRouterConfig {
  return loadMeshRouterConfig({ ...serviceTestEnv(ctx, ['MESH_HTTP_PORT']), ...overrides });
}

/** The mesh router on `testConfig` (plus `overrides`), migrated, silent, trusting `issuer`, its jobs running unless `startJobs: false`. */
export function startTestMeshRouter(
  ctx: TestContext,
  issuer: LocalIssuer,
  options: { overrides?: Record<string, string>; startJobs?: boolean } = {},
): Promise<MeshRouterApp> {
  return startTestService(
    startMeshRouterApp,
    (overrides) => testConfig(ctx, overrides),
    {
      overrides: options.overrides,
      startJobs: options.startJobs ?? true,
      verifier: createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks }),
    },
    silentLogger,
  );
}

/** A client bus in the same isolated namespace as the service under test. */
export function clientBus(ctx: TestContext, name = 'mesh-test-client'): Promise<MessageBus> {
  return namespaceBus(ctx, name, { logger: silentLogger });
}

/** `Bearer <jwt>` for an agent of a role. */
export async function bearer(
  issuer: LocalIssuer,
  sub: string,
  role: string,
  scope = 'orgmesh:agent',
): Promise<string> {
  return `Bearer ${await issuer.sign({ sub, role, scope })}`;
}

export interface PolicyRule {
  from: string;
  to: string;
  kind: PolicyKind;
  rule: string;
}

/**
 * The registry's side of the wire contract (rpc.registry.v1.resolve-policy and get-manager),
 * answered from a fixed table: enough to exercise the mesh before the registry service runs
 * here. Everything not granted is refused by `default-deny`, as the registry does.
 */
export class RegistryResponder {
  readonly policyRequests: Array<{ from: string; to: string; kind: PolicyKind }> = [];
  private readonly subs: Subscription[] = [];
  version = 1;

  constructor(
    private readonly bus: MessageBus,
    readonly rules: PolicyRule[],
    private readonly chart: OrgUser[],
    /** Agent id → role: `to` may name an agent, whose role's rules apply. */
    private readonly agents: Record<string, string> = DEMO_AGENTS,
  ) {}

  /** Every role the table mentions: in a rule, the org chart or as an agent's role. */
  get roles(): Set<string> {
    return new Set([
      ...this.rules.flatMap((r) => [r.from, r.to]),
      ...this.chart.map((u) => u.role),
      ...Object.values(this.agents),
    ]);
  }

  start(): this {
    this.subs.push(
      this.bus.serve(
        ResolvePolicy,
        async (request) => {
          this.policyRequests.push(request);
          // As the registry answers: an agent resolves to its role, a role to itself, anything else to null.
          const toRole = this.agents[request.to] ?? (this.roles.has(request.to) ? request.to : null);
          if (toRole === null)
            return {
              allowed: false,
              rule: `default-deny: unknown recipient "${request.to}"`,
              fromRole: request.from,
              toRole,
              version: this.version,
            };
          const rule = this.rules.find(
            (r) => r.from === request.from && r.to === toRole && r.kind === request.kind,
          );
          return {
            allowed: Boolean(rule),
            rule: rule?.rule ?? 'default-deny',
            fromRole: request.from,
            toRole,
            version: this.version,
          };
        },
        { queue: 'registry' },
      ),
      this.bus.serve(
        GetManager,
        async ({ userId }) => {
          const user = this.chart.find((u) => u.userId === userId);
          if (!user) throw new AppError('user_not_found', `user ${userId} not found`);
          return { user, manager: this.chart.find((u) => u.userId === user.reportsToId) ?? null };
        },
        { queue: 'registry' },
      ),
      // The table's roles have no profiles, so no approval rules (ADR 0019): approvals stay with their agents.
      this.bus.serve(
        GetProfile,
        async (request) => {
          throw new AppError('profile_not_found', `no profile for ${JSON.stringify(request)}`);
        },
        { queue: 'registry' },
      ),
    );
    return this;
  }

  stop(): void {
    for (const sub of this.subs.splice(0)) sub.unsubscribe();
  }
}

export const DEMO_AGENTS: Record<string, string> = {
  'finance-agent': 'finance',
  'manager-agent': 'manager',
  'legal-agent': 'legal',
  'audit-agent': 'audit',
  'audit-2': 'audit',
  'cfo-agent': 'executive',
};

export const DEMO_RULES: PolicyRule[] = [
  {
    from: 'finance',
    to: 'manager',
    kind: 'approval',
    rule: 'profile finance-default: mesh.requestApprovalFrom[0] = manager',
  },
  {
    from: 'finance',
    to: 'manager',
    kind: 'notification',
    rule: 'profile finance-default: mesh.notify[0] = manager',
  },
  { from: 'manager', to: 'legal', kind: 'task', rule: 'profile manager-default: mesh.sendTaskTo[0] = legal' },
  {
    from: 'manager',
    to: 'finance',
    kind: 'notification',
    rule: 'profile manager-default: mesh.notify[0] = finance',
  },
  { from: 'finance', to: 'ops', kind: 'task', rule: 'profile finance-default: mesh.sendTaskTo[0] = ops' },
];

const user = (userId: string, role: string, reportsToId: string | null): OrgUser => ({
  userId,
  role,
  reportsToId,
  name: `User ${userId}`,
  email: `${userId}@example.test`,
  department: role,
});

/** The org chart: the manager role's head reports to the CFO (role executive), who reports to nobody. */
export const DEMO_CHART: OrgUser[] = [
  user('cfo', 'executive', null),
  user('manager', 'manager', 'cfo'),
  user('finance', 'finance', 'manager'),
];

export function testAgent(
  ctx: TestContext,
  issuer: LocalIssuer,
  agentId: string,
  role: string,
  behaviour: TestAgentBehaviour,
  extra: { ackWaitMs?: number; maxDeliver?: number } = {},
): Promise<TestAgent> {
  return issuer.sign({ sub: agentId, role }).then((token) =>
    startTestAgent({
      natsUrl: ctx.natsUrl,
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      role,
      agentId,
      token,
      behaviour,
      logger: silentLogger,
      ...extra,
    }),
  );
}

export { rpcError } from '@orgmesh/testing';

export { createTestContext, LocalIssuer };

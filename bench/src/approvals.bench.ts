import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createJwtVerifier, LocalIssuer } from '@orgmesh/auth';
import { Decide, RequestApproval, SessionTransitioned, type Task } from '@orgmesh/contracts';
import { connectBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
// The registry, the mesh router and the sessions service run in this process (their in-process
// entry points), so the figure is the services' work and the bus, not process start-up.
import { loadRegistryConfig, startRegistryApp } from '@orgmesh/registry/testing';
import { loadMeshRouterConfig, startMeshRouterApp } from '@orgmesh/mesh-router/testing';
import { loadSessionsConfig, startSessionsApp } from '@orgmesh/sessions/testing';
import { benchEnv, benchNamespace, progress, runComparison, type BenchResult } from './harness.js';

/**
 * Approvals to people (issue 23, ADR 0019): the person-side round trip — a person's decision
 * (rpc.mesh.v1.decide with an orgmesh:person token) until the requesting agent's session is
 * resumed (its `sessions.v1.transitioned` to `active` heard on core NATS). Target: p50 ≤ 50 ms.
 * Baseline in the same run: the same round trip when the Manager agent decides an approval no rule
 * routes to people (the path as it was before people). The two run interleaved, c=1, each on
 * approvals requested beforehand (the requester's session already paused), so only the decision's
 * path is timed: the route lock, the decision row, the task change, the event, the sessions follower.
 */

const REGISTRY_DIR = fileURLToPath(new URL('../../deploy/registry', import.meta.url));
const ORG_CHART = fileURLToPath(new URL('../../deploy/registry/org-chart.csv', import.meta.url));
const PER_SCENARIO = 150;

export async function run(): Promise<BenchResult[]> {
  const env = benchEnv();
  const ns = await benchNamespace('ap');
  const logger = createLogger({ service: 'bench-approvals', level: process.env['LOG_LEVEL'] ?? 'warn' });
  const cleanups: Array<() => Promise<unknown>> = [() => ns.dispose()];
  const common = {
    NATS_URL: env.natsUrl,
    DATABASE_URL: ns.databaseUrl,
    NATS_SUBJECT_PREFIX: ns.subjectPrefix,
    NATS_NAME_SUFFIX: ns.nameSuffix,
    LOG_LEVEL: 'warn',
  };
  try {
    progress('  registry (shipped org chart and profiles), mesh router and sessions in process');
    const issuer = await LocalIssuer.create();
    const verifier = createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwks: issuer.jwks,
    });
    const registry = await startRegistryApp(
      loadRegistryConfig({
        ...common,
        REGISTRY_HTTP_PORT: '0',
        REGISTRY_DIR,
        REGISTRY_ORG_CHART: ORG_CHART,
        REGISTRY_AUTH: 'off',
      }),
      { logger, migrate: true, startJobs: false },
    );
    cleanups.push(() => registry.close());
    const mesh = await startMeshRouterApp(
      loadMeshRouterConfig({
        ...common,
        MESH_HTTP_PORT: '0',
        MESH_RATE_LIMIT_PER_SECOND: '1000000',
        MESH_RATE_LIMIT_BURST: '1000000',
      }),
      { logger, migrate: true, startJobs: false, verifier },
    );
    cleanups.push(() => mesh.close());
    const sessions = await startSessionsApp(loadSessionsConfig({ ...common, SESSIONS_HTTP_PORT: '0' }), {
      logger,
      migrate: true,
      startJobs: false,
      verifier,
    });
    cleanups.push(() => sessions.close());
    const bus = await connectBus({
      url: env.natsUrl,
      name: 'bench-approvals',
      subjectPrefix: ns.subjectPrefix,
      nameSuffix: ns.nameSuffix,
      logger,
    });
    cleanups.push(() => bus.close());

    const auth = async (sub: string, role: string, scope: string) => ({
      authorization: `Bearer ${await issuer.sign({ sub, role, scope })}`,
    });
    const finance = await auth('finance-agent', 'finance', 'orgmesh:agent');
    const manager = await auth('manager-agent', 'manager', 'orgmesh:agent');
    const person = await auth('u00002', 'person', 'orgmesh:person');

    // Resumed sessions by workflow: each decision's waiter resolves on its requester's resume.
    const paused = new Set<string>();
    const waiters = new Map<string, () => void>();
    bus.nc.subscribe(bus.subject(SessionTransitioned.subject), {
      callback: (_error, msg) => {
        const t = msg.json<{ agentId: string; contextId: string; to: string }>();
        if (t.agentId !== 'finance-agent') return;
        if (t.to === 'paused') paused.add(t.contextId);
        if (t.to === 'active') waiters.get(t.contextId)?.();
      },
    });
    await bus.nc.flush();

    const requestAll = async (approver: string | undefined) => {
      const tasks: Task[] = [];
      for (let i = 0; i < PER_SCENARIO + 20; i++)
        tasks.push(
          await bus.request(
            RequestApproval,
            {
              to: 'manager',
              subject: `bench ${i}`,
              details: { amount: 100 },
              contextId: randomUUID(),
              ...(approver ? { approver } : {}),
            },
            finance,
          ),
        );
      return tasks;
    };
    progress(`  requesting ${2 * (PER_SCENARIO + 20)} approvals (half to a person)`);
    const toPerson = await requestAll('user:u00002');
    const toAgent = await requestAll(undefined);
    for (let i = 0; i < 200 && [...toPerson, ...toAgent].some((t) => !paused.has(t.contextId)); i++)
      await new Promise((resolve) => setTimeout(resolve, 50));

    const roundTrip = (tasks: Task[], who: { authorization: string }) => async (_w: unknown, i: number) => {
      const task = tasks[i];
      if (!task) throw new Error('ran out of requested approvals');
      const resumed = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('requester not resumed in 5 s')), 5_000);
        waiters.set(task.contextId, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      await bus.request(Decide, { id: task.id, decision: 'approve' }, who);
      await resumed;
      waiters.delete(task.contextId);
    };
    return await runComparison(
      [
        {
          name: 'approvals.agent-decides-to-requester-resumed.c1',
          count: PER_SCENARIO,
          warmupMs: 0,
          op: roundTrip(toAgent, manager) as (w: unknown, i: number) => Promise<unknown>,
          notes:
            'the Manager agent decides an approval no rule routes to people; until the requester session is active',
        },
        {
          name: 'approvals.person-decides-to-requester-resumed.c1',
          baseline: 'approvals.agent-decides-to-requester-resumed.c1',
          count: PER_SCENARIO,
          warmupMs: 0,
          op: roundTrip(toPerson, person) as (w: unknown, i: number) => Promise<unknown>,
          notes: 'a person (orgmesh:person) decides an approval routed to them; target p50 ≤ 50 ms',
        },
      ],
      { rounds: 1 },
    );
  } finally {
    for (const step of cleanups.reverse())
      await step().catch((error: unknown) => progress(`  cleanup: ${String(error)}`));
  }
}

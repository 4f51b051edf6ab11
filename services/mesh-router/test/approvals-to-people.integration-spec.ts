import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import {
  CancelTask,
  Decide,
  DelegateApprovals,
  GetDepartmentHead,
  GetTask,
  ImportOrg,
  ListDelegations,
  ListPersonApprovals,
  OrgImported,
  RPC_ACCESS,
  RequestApproval,
  RevokeDelegation,
  SendTask,
  TaskCreated,
  UpdateTask,
  type Task,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { TestContext } from '@orgmesh/testing';
// The real registry runs in-process: its org chart and the shipped profiles' approval rules.
import { startTestRegistry, DEMO_ORG_CHART, DEMO_REGISTRY_DIR } from '@orgmesh/registry/testing';
// The real sessions service follows the mesh's task events (the agents' sessions of the --human path).
import { startTestSessions, type SessionsApp } from '@orgmesh/sessions/testing';
import { startMeshRouterApp, type MeshRouterApp } from '../src/mesh-router.app.js';
import { createJwtVerifier } from '@orgmesh/auth';
import {
  LocalIssuer,
  bearer,
  clientBus,
  createTestContext,
  rpcError,
  silentLogger,
  testConfig,
} from './mesh-harness.js';

/**
 * Issue 23 items 1 and 5, "Bad input and faults" (ADR 0019), against the real registry loaded with
 * the shipped registry (deploy/registry: its org chart and the manager profile's
 * `finance-spend-over-100k` rule) plus two test rules, real NATS and Postgres. The router's clock
 * is moved by hand and its sweep run by hand, so deadlines pass without waiting.
 */
const TEST_RULES = `
  - id: two-directors
    from: [finance]
    when: { field: case, op: '==', value: 2 }
    approvers: [u00002, u00014, u00026]
    quorum: 2
    step_deadline: 10m
    escalate: none
  - id: departed-first
    from: [finance]
    when: { field: case, op: '==', value: 3 }
    approvers: [u99999, u00003]
    step_deadline: 10m
`;

const MINUTE = 60_000;

describe('approvals decided by people of the org chart', () => {
  let ctx: TestContext;
  let issuer: LocalIssuer;
  let dir: string;
  let registry: Awaited<ReturnType<typeof startTestRegistry>>;
  let mesh: MeshRouterApp;
  let sessions: SessionsApp;
  let bus: MessageBus;
  let now = Date.parse('2026-12-07T09:00:00.000Z');
  const clock = { now: () => new Date(now) };
  const tokens: Record<string, string> = {};

  const startMesh = (startJobs: boolean, overrides: Record<string, string> = {}) =>
    startMeshRouterApp(testConfig(ctx, overrides), {
      logger: silentLogger,
      migrate: true,
      startJobs,
      clock,
      verifier: createJwtVerifier({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.jwks }),
    });

  beforeAll(async () => {
    ctx = await createTestContext();
    issuer = await LocalIssuer.create();
    dir = await mkdtemp(join(tmpdir(), 'orgmesh-approvals-'));
    await cp(DEMO_REGISTRY_DIR, dir, { recursive: true });
    const manager = await readFile(join(dir, 'profiles/manager.yaml'), 'utf8');
    // The test rules first: the first matching rule applies, and they match on a field the shipped rule ignores.
    await writeFile(
      join(dir, 'profiles/manager.yaml'),
      manager.replace('approvals:\n', `approvals:${TEST_RULES}`),
    );
    registry = await startTestRegistry(ctx, {
      overrides: { REGISTRY_DIR: dir, REGISTRY_ORG_CHART: DEMO_ORG_CHART },
    });
    mesh = await startMesh(false);
    sessions = await startTestSessions(ctx);
    bus = await clientBus(ctx);
    tokens['finance-agent'] = await bearer(issuer, 'finance-agent', 'finance');
    tokens['manager-agent'] = await bearer(issuer, 'manager-agent', 'manager');
    tokens['admin'] = await bearer(issuer, 'ops-admin', 'admin', 'orgmesh:admin');
    for (const userId of ['u00001', 'u00002', 'u00003', 'u00014', 'u00015', 'u00016', 'u00026'])
      tokens[userId] = await bearer(issuer, userId, 'person', 'orgmesh:person');
  }, 60_000);

  afterAll(async () => {
    await bus?.close();
    await sessions?.close();
    await mesh?.close();
    await registry?.close();
    await ctx?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const as = (who: string) => ({ authorization: tokens[who] as string });
  const request = (details: Record<string, unknown>, extra: { approver?: string } = {}) =>
    bus.request(
      RequestApproval,
      { to: 'manager', subject: `budget ${randomUUID().slice(0, 8)}`, details, ...extra },
      as('finance-agent'),
    );
  const get = (id: string): Promise<Task> => bus.request(GetTask, { id, includeHistory: true }, as('admin'));
  const awaiting = async (who: string) =>
    (await bus.request(ListPersonApprovals, { view: 'awaiting', limit: 50 }, as(who))).items;
  /** Runs an org import and returns once its event is out (the router drops its cached org chart on it). */
  const imported = async (work: () => Promise<unknown>) => {
    const sub = bus.nc.subscribe(bus.subject(OrgImported.subject), { max: 1 });
    const heard = (async () => {
      for await (const _ of sub) return;
    })();
    await work();
    await heard;
    // The router hears the same core-NATS message; give its callback a moment.
    await new Promise((resolve) => setTimeout(resolve, 200));
  };
  /** The newest session of an agent in a context once `done` holds for its status (or after 5 s). */
  const sessionOf = async (agentId: string, contextId: string, done: (status: string) => boolean) => {
    let status: string | undefined;
    for (let i = 0; i < 100; i++) {
      status = (await sessions.service.list({ agentId, contextId, limit: 1 })).items[0]?.status;
      if (status && done(status)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return status;
  };
  const advance = async (ms: number) => {
    now += ms;
    return mesh.approvalJobs.sweepOnce();
  };

  it('item 5: the shipped $125K rule waits for the Manager agent, then escalates to the head of Finance, who approves; a second decision is 409', async () => {
    const approval = await request({ amount: 125_000, currency: 'USD' });
    expect(approval.escalateAt).toBeNull();
    // The Manager agent's two minutes have not passed: nobody is asked yet.
    expect(await awaiting('u00002')).toEqual([]);

    expect(await advance(2 * MINUTE + 1_000)).toEqual({ escalated: 1, ended: 0, failed: 0 });
    const escalated = await get(approval.id);
    expect(escalated.state).toBe('submitted');
    expect(escalated.escalatedTo).toEqual({ userId: 'u00002', role: 'manager', name: 'Yara Quinn' });
    expect(escalated.history?.at(-1)).toMatchObject({
      event: 'escalate',
      actor: 'system',
      reason: expect.stringContaining('escalated to u00002 (Yara Quinn): its agents did not decide in time'),
    });

    // The agent's time is over: its decision is refused, naming the rule.
    const agentRefused = await rpcError(
      bus.request(Decide, { id: approval.id, decision: 'approve' }, as('manager-agent')),
    );
    expect(agentRefused.code).toBe('forbidden');
    expect(agentRefused.details).toMatchObject({ rule: 'manager#finance-spend-over-100k' });

    const inbox = await awaiting('u00002');
    const mine = inbox.find((i) => i.task.id === approval.id);
    expect(mine).toMatchObject({
      rule: 'manager#finance-spend-over-100k',
      status: 'open',
      step: 1,
      awaiting: [{ userId: 'u00002', name: 'Yara Quinn', role: 'manager' }],
      escalationPath: [{ userId: 'u00001', name: 'Ada Bauer', role: 'manager' }],
      task: {
        from: { agentId: 'finance-agent', role: 'finance' },
        details: { amount: 125_000, currency: 'USD' },
      },
    });
    expect(Date.parse(mine!.stepDeadline)).toBe(now + 30 * MINUTE);

    // Someone else of the org chart has no right: 403 naming the rule.
    const stranger = await rpcError(
      bus.request(Decide, { id: approval.id, decision: 'approve' }, as('u00003')),
    );
    expect(stranger.code).toBe('forbidden');
    expect(stranger.details).toMatchObject({ rule: 'manager#finance-spend-over-100k' });
    expect(stranger.message).toContain('rule: manager#finance-spend-over-100k');

    const decided = await bus.request(
      Decide,
      { id: approval.id, decision: 'approve', comment: 'Within the annual plan.' },
      { ...as('u00002'), idempotencyKey: 'click-1' },
    );
    expect(decided.state).toBe('completed');
    expect(decided.decision).toMatchObject({
      decision: 'approve',
      comment: 'Within the annual plan.',
      decidedBy: { agentId: 'u00002', role: 'manager' },
      decidedAt: new Date(now).toISOString(),
    });
    expect(decided.result).toEqual({
      decision: 'approve',
      comment: 'Within the annual plan.',
      rule: 'manager#finance-spend-over-100k',
    });

    // The same request retried with an Idempotency-Key answers the approval as it is; anything else is 409.
    const retried = await bus.request(
      Decide,
      { id: approval.id, decision: 'approve', comment: 'Within the annual plan.' },
      { ...as('u00002'), idempotencyKey: 'click-1' },
    );
    expect(retried).toMatchObject({
      id: approval.id,
      state: 'completed',
      decision: { decidedBy: { agentId: 'u00002' } },
    });
    const twice = await rpcError(bus.request(Decide, { id: approval.id, decision: 'reject' }, as('u00002')));
    expect(twice.code).toBe('approval_already_decided');
    expect(twice.details).toMatchObject({
      earlierDecision: { userId: 'u00002', decision: 'approve', rule: 'manager#finance-spend-over-100k' },
    });

    const history = (await bus.request(ListPersonApprovals, { view: 'decided', limit: 10 }, as('u00002')))
      .items;
    expect(history[0]).toMatchObject({
      task: { id: approval.id, state: 'completed' },
      status: 'ended',
      decisions: [
        { userId: 'u00002', onBehalfOf: null, decision: 'approve', comment: 'Within the annual plan.' },
      ],
    });
    expect(await awaiting('u00002')).not.toContainEqual(
      expect.objectContaining({
        rule: expect.any(String),
        task: expect.objectContaining({ id: approval.id }),
      }),
    );
  });

  it('the automatic path: the Manager agent decides within its time and nobody is asked', async () => {
    const approval = await request({ amount: 125_000 });
    const decided = await bus.request(
      Decide,
      { id: approval.id, decision: 'approve', comment: 'SOX review done' },
      as('manager-agent'),
    );
    expect(decided.decision?.decidedBy.agentId).toBe('manager-agent');
    expect(await advance(3 * MINUTE)).toEqual({ escalated: 0, ended: 0, failed: 0 });
    expect((await get(approval.id)).escalatedTo).toBeNull();
  });

  it('--human: the Manager agent reports input-required and the approval goes to the person at once; the agent may not end it by a report', async () => {
    const approval = await request({ amount: 125_000 });
    await bus.request(UpdateTask, { id: approval.id, state: 'working' }, as('manager-agent'));
    await bus.request(UpdateTask, { id: approval.id, state: 'input-required' }, as('manager-agent'));
    const handed = await get(approval.id);
    expect(handed.state).toBe('input-required');
    expect(handed.escalatedTo?.userId).toBe('u00002');
    expect(handed.history?.at(-1)?.reason).toContain(
      'escalated to u00002 (Yara Quinn): its agent asked for a person',
    );
    expect((await awaiting('u00002')).map((i) => i.task.id)).toContain(approval.id);

    const byReport = await rpcError(
      bus.request(UpdateTask, { id: approval.id, state: 'rejected', reason: 'no' }, as('manager-agent')),
    );
    expect(byReport.code).toBe('forbidden');
    expect(byReport.details).toMatchObject({ rule: 'manager#finance-spend-over-100k' });

    // The sessions service followed: the Manager agent waits (paused) on the approval it handed over.
    expect(await sessionOf('manager-agent', approval.contextId, (s) => s === 'paused')).toBe('paused');

    const decided = await bus.request(
      Decide,
      { id: approval.id, decision: 'reject', comment: 'Not this quarter.' },
      as('u00002'),
    );
    expect(decided.decision).toMatchObject({ decision: 'reject', decidedBy: { agentId: 'u00002' } });
    // A person's decision ends the Manager agent's part too: its session no longer waits.
    // (Resumed on the way: wait for where it ends, not for the first status that is not `paused`.)
    const ended = (s: string) => ['completed', 'failed', 'expired'].includes(s);
    expect(await sessionOf('manager-agent', approval.contextId, ended)).toBe('completed');
    const [managerSession] = (
      await sessions.service.list({ agentId: 'manager-agent', contextId: approval.contextId, limit: 1 })
    ).items;
    expect((await sessions.service.listTransitions(managerSession!.id)).map((t) => t.event)).toEqual([
      'activate',
      'pause',
      'resume',
      'complete',
    ]);
    expect(await sessionOf('u00002', approval.contextId, (s) => s === 'completed')).toBe('completed');
    expect(await sessionOf('finance-agent', approval.contextId, (s) => s === 'active')).toBe('active');
  });

  it('below the threshold no rule applies: the agents decide as before, and a person may not', async () => {
    const approval = await request({ amount: 5_000 });
    expect(approval.escalateAt).not.toBeNull();
    const person = await rpcError(
      bus.request(Decide, { id: approval.id, decision: 'approve' }, as('u00002')),
    );
    expect(person.code).toBe('forbidden');
    expect(person.details).toMatchObject({ rule: 'none' });
    const decided = await bus.request(Decide, { id: approval.id, decision: 'approve' }, as('manager-agent'));
    expect(decided.state).toBe('completed');
  });

  it('an undecided chain climbs the reporting line and ends denied, audited', async () => {
    const approval = await request({ amount: 250_000 });
    await advance(2 * MINUTE + 1_000); // → u00002
    await advance(30 * MINUTE + 1_000); // → u00001
    expect((await get(approval.id)).escalatedTo?.userId).toBe('u00001');
    expect((await awaiting('u00001')).map((i) => i.task.id)).toContain(approval.id);
    expect((await advance(30 * MINUTE + 1_000))?.ended).toBeGreaterThanOrEqual(1);
    const denied = await get(approval.id);
    expect(denied.state).toBe('completed');
    expect(denied.decision).toMatchObject({
      decision: 'reject',
      decidedBy: { agentId: 'system', role: 'system' },
    });
    expect(denied.decision?.comment).toContain(
      'approval chain ended undecided (rule: manager#finance-spend-over-100k)',
    );
    const reasons = (denied.history ?? []).map((h) => h.reason ?? '');
    expect(reasons.filter((r) => r.startsWith('escalated to'))).toHaveLength(2);
    expect(reasons.at(-1)).toMatch(/^reject \(rule: manager#finance-spend-over-100k\): denied/);
  });

  it('quorum: two of three directors; one approval is not enough, the second completes it', async () => {
    const approval = await request({ case: 2, amount: 10 });
    const waiting = await awaiting('u00014');
    expect(waiting.find((i) => i.task.id === approval.id)).toMatchObject({
      rule: 'manager#two-directors',
      steps: [{ kind: 'people', quorum: 2 }],
      escalationPath: [],
    });
    const first = await bus.request(
      Decide,
      { id: approval.id, decision: 'approve', comment: 'ok' },
      as('u00002'),
    );
    expect(first.state).toBe('submitted');
    expect(
      (await awaiting('u00014')).find((i) => i.task.id === approval.id)?.awaiting.map((p) => p.userId),
    ).toEqual(['u00014', 'u00026']);
    const second = await bus.request(Decide, { id: approval.id, decision: 'approve' }, as('u00026'));
    expect(second.state).toBe('completed');
    expect(second.decision).toMatchObject({ decision: 'approve', decidedBy: { agentId: 'u00026' } });
    // The third director comes too late: the approval has ended.
    const late = await rpcError(bus.request(Decide, { id: approval.id, decision: 'reject' }, as('u00014')));
    expect(late.code).toBe('task_illegal_transition');
  });

  it('quorum: two directors approving at the same moment complete it once', async () => {
    const approval = await request({ case: 2 });
    const both = await Promise.all(
      ['u00002', 'u00026', 'u00014'].map((who) =>
        bus.request(Decide, { id: approval.id, decision: 'approve' }, as(who)).then(
          (task) => ({ who, task, code: undefined as string | undefined }),
          (error: { code?: string }) => ({ who, task: undefined, code: error.code }),
        ),
      ),
    );
    // Two settle the quorum; the third finds it ended (or decides first and one of the others does).
    expect(both.filter((b) => b.task).length).toBe(2);
    expect(both.filter((b) => b.code).map((b) => b.code)).toEqual(['task_illegal_transition']);
    const done = await get(approval.id);
    expect(done.state).toBe('completed');
    expect(done.history?.filter((h) => h.event === 'decide')).toHaveLength(1);
  });

  it('quorum: rejected as soon as the quorum cannot be reached', async () => {
    const approval = await request({ case: 2 });
    const one = await bus.request(
      Decide,
      { id: approval.id, decision: 'reject', comment: 'no' },
      as('u00014'),
    );
    expect(one.state).toBe('submitted');
    const two = await bus.request(
      Decide,
      { id: approval.id, decision: 'reject', comment: 'no!' },
      as('u00026'),
    );
    expect(two.decision).toMatchObject({ decision: 'reject', comment: 'no!' });
  });

  it('delegation: a director hands approvals to a colleague, who decides on their behalf', async () => {
    const delegation = await bus.request(
      DelegateApprovals,
      { to: 'u00015', endsAt: new Date(now + 86_400_000).toISOString() },
      as('u00014'),
    );
    expect(delegation).toMatchObject({ from: 'u00014', to: 'u00015' });
    const approval = await request({ case: 2 });
    expect((await awaiting('u00015')).find((i) => i.task.id === approval.id)?.onBehalfOf).toBe('u00014');
    await bus.request(Decide, { id: approval.id, decision: 'approve', comment: 'for Leon' }, as('u00015'));
    // Leon's own decision would be a second one for him.
    const again = await rpcError(bus.request(Decide, { id: approval.id, decision: 'approve' }, as('u00014')));
    expect(again.code).toBe('approval_already_decided');
    expect(again.details).toMatchObject({ earlierDecision: { userId: 'u00015', onBehalfOf: 'u00014' } });
    const done = await bus.request(Decide, { id: approval.id, decision: 'approve' }, as('u00002'));
    expect(done.state).toBe('completed');

    // Leon sees what he gave, Ana what she received; Leon revokes it and Ana decides nothing more for him.
    const mine = await bus.request(ListDelegations, {}, as('u00014'));
    expect(mine.given.map((d) => d.id)).toContain(delegation.id);
    expect((await bus.request(ListDelegations, {}, as('u00015'))).received.map((d) => d.id)).toContain(
      delegation.id,
    );
    const notHers = await rpcError(bus.request(RevokeDelegation, { id: delegation.id }, as('u00015')));
    expect(notHers.code).toBe('not_found');
    const revoked = await bus.request(RevokeDelegation, { id: delegation.id }, as('u00014'));
    expect(Date.parse(revoked.endsAt)).toBeLessThanOrEqual(now);
    const after = await request({ case: 2 });
    expect((await awaiting('u00015')).map((i) => i.task.id)).not.toContain(after.id);
    const refused = await rpcError(bus.request(Decide, { id: after.id, decision: 'approve' }, as('u00015')));
    expect(refused.code).toBe('forbidden');

    const self = await rpcError(
      bus.request(
        DelegateApprovals,
        { to: 'u00014', endsAt: new Date(now + MINUTE).toISOString() },
        as('u00014'),
      ),
    );
    expect(self.code).toBe('validation_failed');
    const nobody = await rpcError(
      bus.request(
        DelegateApprovals,
        { to: 'u77777', endsAt: new Date(now + MINUTE).toISOString() },
        as('u00014'),
      ),
    );
    expect(nobody.code).toBe('validation_failed');
  });

  it('an approver named by the agent (no rule applies) routes to that person', async () => {
    const approval = await request({ amount: 50 }, { approver: 'user:u00014' });
    expect((await awaiting('u00014')).find((i) => i.task.id === approval.id)).toMatchObject({
      rule: 'request',
      escalationPath: [{ userId: 'u00001' }],
    });
    const decided = await bus.request(
      Decide,
      { id: approval.id, decision: 'reject', comment: 'not now' },
      as('u00014'),
    );
    expect(decided.decision).toMatchObject({ decision: 'reject', decidedBy: { agentId: 'u00014' } });
  });

  it('head-of: a role is the person heading it; a department is its head anywhere in the org chart; a department nobody heads is skipped, named, and the chain denied', async () => {
    const ofRole = await request({ amount: 1 }, { approver: 'head-of:legal' });
    // The registry's head of a role: its topmost holder (Leon Okafor, under Legal's manager Leon Schmidt).
    expect((await awaiting('u00016')).find((i) => i.task.id === ofRole.id)).toMatchObject({
      awaiting: [{ userId: 'u00016', role: 'legal' }],
      escalationPath: [{ userId: 'u00014' }, { userId: 'u00001' }],
    });

    const finance = await request({ amount: 1 }, { approver: 'head-of:Finance' });
    expect((await awaiting('u00002')).find((i) => i.task.id === finance.id)).toMatchObject({
      awaiting: [{ userId: 'u00002', name: 'Yara Quinn' }],
      escalationPath: [{ userId: 'u00001' }],
    });

    // Human Resources is not on the Finance agent's reporting line: its head is found all the same
    // (Hana Jensen, the topmost person of the department), by a name in any case.
    const elsewhere = await request({ amount: 1 }, { approver: 'head-of:human resources' });
    expect((await awaiting('u00026')).find((i) => i.task.id === elsewhere.id)).toMatchObject({
      awaiting: [{ userId: 'u00026', name: 'Hana Jensen', role: 'manager' }],
      escalationPath: [{ userId: 'u00001' }],
    });

    const nobody = await request({ amount: 1 }, { approver: 'head-of:Procurement' });
    expect((await get(nobody.id)).history?.map((h) => h.reason)).toContain(
      'skipped head-of:Procurement: department "Procurement" has nobody in the org chart to head it (rule: request)',
    );
    await advance(1_000);
    expect((await get(nobody.id)).decision).toMatchObject({
      decision: 'reject',
      decidedBy: { agentId: 'system' },
    });
  });

  it('the registry answers a department head with ids only; of the bus identities only the mesh router may ask', async () => {
    expect(RPC_ACCESS.find((a) => a.rpc === GetDepartmentHead)?.callers).toEqual(['mesh-router']);
    const head = await bus.request(GetDepartmentHead, { department: 'LEGAL' });
    expect(head).toEqual({ department: 'Legal', userId: 'u00014', role: 'manager' });
    const none = await rpcError(bus.request(GetDepartmentHead, { department: 'Procurement' }));
    expect(none).toMatchObject({ code: 'not_found', details: { department: 'Procurement' } });
  });

  it('the approval, its route and its task-created event commit together: a failed route insert leaves none of them', async () => {
    const subject = `budget ${randomUUID()}`;
    const created = bus.nc.subscribe(bus.subject(TaskCreated.subject));
    const seen: string[] = [];
    void (async () => {
      for await (const m of created) seen.push(m.string());
    })();
    // A failure between the task's insert and its route's: the route's insert violates a check.
    await mesh.db.query(`
      CREATE FUNCTION mesh.refuse_route() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'route refused by the test' USING ERRCODE = 'check_violation'; END $$;
      CREATE TRIGGER refuse_route BEFORE INSERT ON mesh.approval_routes
        FOR EACH ROW EXECUTE FUNCTION mesh.refuse_route();`);
    try {
      const failed = await rpcError(
        bus.request(
          RequestApproval,
          { to: 'manager', subject, details: { amount: 1 }, approver: 'u00003' },
          as('finance-agent'),
        ),
      );
      expect(failed.code).toBe('internal');
    } finally {
      await mesh.db.query(
        `DROP TRIGGER refuse_route ON mesh.approval_routes; DROP FUNCTION mesh.refuse_route();`,
      );
    }
    const count = async (sql: string) =>
      Number((await mesh.db.query<{ n: string }>(sql, [subject])).rows[0]?.n);
    expect(await count(`SELECT count(*) AS n FROM mesh.tasks WHERE subject = $1`)).toBe(0);
    expect(
      await count(
        `SELECT count(*) AS n FROM mesh.approval_routes r JOIN mesh.tasks t ON t.id = r.task_id WHERE t.subject = $1`,
      ),
    ).toBe(0);
    expect(
      await count(`SELECT count(*) AS n FROM mesh.outbox WHERE payload::text LIKE '%' || $1 || '%'`),
    ).toBe(0);

    // The same request without the fault: task, route and event, all three.
    const ok = await bus.request(
      RequestApproval,
      { to: 'manager', subject, details: { amount: 1 }, approver: 'u00003' },
      as('finance-agent'),
    );
    expect(await count(`SELECT count(*) AS n FROM mesh.tasks WHERE subject = $1`)).toBe(1);
    expect((await awaiting('u00003')).map((i) => i.task.id)).toContain(ok.id);
    for (let i = 0; i < 50 && !seen.some((m) => m.includes(ok.id)); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    created.unsubscribe();
    expect(seen.filter((m) => m.includes(subject))).toHaveLength(1);
  });

  it('the planning entries (skips, whom it waits for) commit with the approval and its route: a refused entry leaves nothing', async () => {
    const subject = `budget ${randomUUID()}`;
    const count = async (sql: string, params: unknown[] = []) =>
      Number((await mesh.db.query<{ n: string }>(sql, params)).rows[0]?.n);
    const totals = async () => ({
      tasks: await count(`SELECT count(*) AS n FROM mesh.tasks`),
      routes: await count(`SELECT count(*) AS n FROM mesh.approval_routes`),
      history: await count(`SELECT count(*) AS n FROM mesh.task_events`),
      outbox: await count(`SELECT count(*) AS n FROM mesh.outbox`),
    });
    // The fault: the planning entry's insert is refused, after the task, its create entry and its
    // route were written in the same transaction. The trigger first counts, on a sequence (which no
    // rollback undoes), that it saw the task and its route already there.
    await mesh.db.query(`
      CREATE SEQUENCE mesh.refused_entry_seen;
      CREATE FUNCTION mesh.refuse_entry() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.event = 'escalate' AND EXISTS (SELECT 1 FROM mesh.tasks t JOIN mesh.approval_routes r ON r.task_id = t.id
                                              WHERE t.id = NEW.task_id AND t.subject = '${subject}') THEN
          PERFORM nextval('mesh.refused_entry_seen');
          RAISE EXCEPTION 'planning entry refused by the test' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_entry BEFORE INSERT ON mesh.task_events
        FOR EACH ROW EXECUTE FUNCTION mesh.refuse_entry();`);
    const before = await totals();
    let seen: number;
    try {
      const failed = await rpcError(
        bus.request(RequestApproval, { to: 'manager', subject, details: { case: 3 } }, as('finance-agent')),
      );
      expect(failed.code).toBe('internal');
      seen = await count(`SELECT last_value AS n FROM mesh.refused_entry_seen WHERE is_called`);
    } finally {
      await mesh.db.query(
        `DROP TRIGGER refuse_entry ON mesh.task_events; DROP FUNCTION mesh.refuse_entry(); DROP SEQUENCE mesh.refused_entry_seen;`,
      );
    }
    // The trigger fired once the task and its route were in (so the failure was between their
    // insert and the commit), and the rollback took task, route, history and outbox rows with it.
    expect(seen).toBe(1);
    expect(await totals()).toEqual(before);
    expect(await count(`SELECT count(*) AS n FROM mesh.tasks WHERE subject = $1`, [subject])).toBe(0);
    expect(
      await count(`SELECT count(*) AS n FROM mesh.outbox WHERE payload::text LIKE '%' || $1 || '%'`, [
        subject,
      ]),
    ).toBe(0);

    // Without the fault: the task, its create entry, the planning entries, the route and every
    // outbox row (task-created, the inbox delivery, a task-updated per entry) in one transaction.
    const ok = await bus.request(
      RequestApproval,
      { to: 'manager', subject, details: { case: 3 } },
      as('finance-agent'),
    );
    const { rows: history } = await mesh.db.query<{
      event: string;
      actor: string;
      reason: string | null;
      tx: string;
    }>(
      `SELECT event, actor, reason, xmin::text AS tx FROM mesh.task_events WHERE task_id = $1 ORDER BY seq`,
      [ok.id],
    );
    expect(history.map((h) => [h.event, h.actor, h.reason])).toEqual([
      ['create', 'finance-agent', null],
      ['escalate', 'system', 'skipped u99999: not in the org chart (rule: manager#departed-first)'],
      ['escalate', 'system', 'awaiting u00003 (Lara Kowalski) (rule: manager#departed-first)'],
    ]);
    const { rows: others } = await mesh.db.query<{ tx: string; marked: boolean }>(
      `SELECT xmin::text AS tx, false AS marked FROM mesh.tasks WHERE id = $1
       UNION ALL SELECT xmin::text, false FROM mesh.approval_routes WHERE task_id = $1
       UNION ALL SELECT xmin::text, published_at IS NOT NULL FROM mesh.outbox WHERE payload::text LIKE '%' || $1 || '%'`,
      [ok.id],
    );
    // The task row, its route and four outbox rows (created, delivery, two task-updated). An outbox
    // row already marked published carries the marking statement's xmin (the publisher marks rows
    // after their JetStream ack, with the next task statement or within 50 ms): only unmarked rows
    // still show the transaction that wrote them. Read within milliseconds of the reply, they are
    // almost always all unmarked; a loaded machine may mark some first.
    expect(others).toHaveLength(6);
    const written = [...history, ...others.filter((r) => !r.marked)];
    expect(written.length).toBeGreaterThanOrEqual(5);
    expect(new Set(written.map((r) => r.tx)).size).toBe(1);
    const task = await get(ok.id);
    expect(task.version).toBe(3);
    expect(task.escalatedTo).toMatchObject({ userId: 'u00003' });
  });

  it('an approval its requester cancels no longer waits for anyone', async () => {
    const approval = await request({ amount: 20 }, { approver: 'u00003' });
    expect((await awaiting('u00003')).map((i) => i.task.id)).toContain(approval.id);
    await bus.request(CancelTask, { id: approval.id, reason: 'not needed' }, as('finance-agent'));
    expect((await awaiting('u00003')).map((i) => i.task.id)).not.toContain(approval.id);
    const late = await rpcError(bus.request(Decide, { id: approval.id, decision: 'approve' }, as('u00003')));
    expect(late.code).toBe('task_illegal_transition');
    expect(late.message).toContain('canceled');
  });

  it('a person only decides: sending a task, or listing without a person token, is refused', async () => {
    const send = await rpcError(bus.request(SendTask, { to: 'finance', type: 'x' }, as('u00002')));
    expect(send.code).toBe('forbidden');
    const list = await rpcError(
      bus.request(ListPersonApprovals, { view: 'awaiting', limit: 5 }, as('manager-agent')),
    );
    expect(list.code).toBe('forbidden');
  });

  it('people who left the org chart are skipped, audited: at planning and when the chain reaches them', async () => {
    const approval = await request({ case: 3 });
    const planned = await get(approval.id);
    const reasons = (planned.history ?? []).map((h) => h.reason ?? '');
    expect(reasons).toContain('skipped u99999: not in the org chart (rule: manager#departed-first)');
    expect(
      (await awaiting('u00003')).find((i) => i.task.id === approval.id)?.escalationPath.map((p) => p.userId),
    ).toEqual(['u00002', 'u00001']);

    // Yara Quinn (u00002) leaves: her reports go to Ada Bauer.
    const csv = (await readFile(DEMO_ORG_CHART, 'utf8'))
      .split('\n')
      .filter((line) => !line.startsWith('u00002,'))
      .map((line) => line.replace(/^(u\d+),u00002,/, '$1,u00001,'))
      .join('\n');
    await imported(() => bus.request(ImportOrg, { csv, fileName: 'org-chart.csv' }, as('admin')));

    // Her token still verifies, but she is not in the org chart any more: she decides nothing.
    const gone = await rpcError(bus.request(Decide, { id: approval.id, decision: 'approve' }, as('u00002')));
    expect(gone.code).toBe('forbidden');
    expect(gone.message).toContain('not in the org chart');

    await advance(10 * MINUTE + 1_000);
    const moved = await get(approval.id);
    expect(moved.escalatedTo?.userId).toBe('u00001');
    const after = (moved.history ?? []).map((h) => h.reason ?? '');
    expect(after).toContain('skipped u00002: left the org chart (rule: manager#departed-first)');
    expect(after.at(-1)).toContain('escalated to u00001 (Ada Bauer)');

    // Put the chart back for any later test.
    const shipped = await readFile(DEMO_ORG_CHART, 'utf8');
    await imported(() => bus.request(ImportOrg, { csv: shipped, fileName: 'org-chart.csv' }, as('admin')));
  });

  it('an outage longer than the whole chain: the sweeps run the chain to its end, denied, before the approval expires', async () => {
    const approval = await request({ amount: 400_000 });
    now = Date.parse(approval.deadline) - 10_000; // past every step and the approval's deadline less its margin
    for (let i = 0; i < 5 && !(await get(approval.id)).decision; i++) await advance(0);
    const ended = await get(approval.id);
    expect(ended.state).toBe('completed');
    expect(ended.decision).toMatchObject({ decision: 'reject', decidedBy: { agentId: 'system' } });
    expect(ended.history?.filter((h) => h.reason?.startsWith('escalated to')).map((h) => h.reason)).toEqual([
      expect.stringContaining('u00002'),
      expect.stringContaining('u00001'),
    ]);
  });

  it('a deadline that passes while the mesh router is down is honoured when it starts again', async () => {
    const approval = await request({ amount: 300_000 });
    await mesh.close();
    now += 10 * MINUTE; // the Manager agent's two minutes pass with no router running
    // An hour between sweeps: only the sweep at start-up can have escalated it.
    mesh = await startMesh(true, { MESH_DEADLINE_SWEEP_INTERVAL: '1h' });
    try {
      for (let i = 0; i < 100 && !(await get(approval.id)).escalatedTo; i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await get(approval.id)).escalatedTo?.userId).toBe('u00002');
    } finally {
      await mesh.approvalJobs.stop();
    }
  });
});

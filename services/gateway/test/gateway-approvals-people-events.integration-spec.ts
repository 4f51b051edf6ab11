import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Task } from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
// Every service runs in-process, for real, each trusting the gateway's built-in issuer through its JWKS.
import { DEMO_ORG_CHART, startTestRegistry } from '@orgmesh/registry/testing';
import {
  testConfig as meshTestConfig,
  startMeshRouterApp,
  type MeshRouterApp,
} from '@orgmesh/mesh-router/testing';
import { startTestSessions } from '@orgmesh/sessions/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import {
  api,
  devToken,
  silentLogger,
  SseClient,
  startTestGateway,
  type TestSessions,
} from './gateway-harness.js';

interface PersonPage {
  items: Array<{ task: Task }>;
  nextCursor: string | null;
}

/**
 * Issue 23: a signed-in person's event stream and paged inbox. The people's tokens carry the org
 * role `manager`, so the agent rule (a task to role `manager`) would show them every approval sent
 * to the managers; the person rule shows only what the mesh says they may follow.
 */
describe('gateway: a person’s event stream and paged approvals', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let registry: Awaited<ReturnType<typeof startTestRegistry>>;
  let mesh: MeshRouterApp;
  let sessions: TestSessions;
  const tokens: Record<string, string> = {};
  const clients: SseClient[] = [];

  beforeAll(async () => {
    ctx = await createTestContext();
    gateway = await startTestGateway(ctx, {
      AUTH_DEV_CLIENTS: 'u00002:manager:person,u00003:manager:person,u00004:finance:person',
      GATEWAY_SSE_HEARTBEAT: '200ms',
    });
    registry = await startTestRegistry(ctx, {
      overrides: {
        REGISTRY_AUTH: 'on',
        AUTH_ISSUER: gateway.url,
        GATEWAY_URL: gateway.url,
        REGISTRY_ORG_CHART: DEMO_ORG_CHART,
      },
    });
    mesh = await startMeshRouterApp(meshTestConfig(ctx, { AUTH_ISSUER: gateway.url }), {
      logger: silentLogger,
      migrate: true,
      startJobs: false,
    });
    sessions = await startTestSessions(ctx);
    for (const client of ['admin', 'finance-agent', 'manager-agent', 'u00002', 'u00003', 'u00004'])
      tokens[client] = await devToken(gateway, client);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await gateway?.close();
    await mesh?.close();
    await registry?.close();
    await sessions?.close();
    await ctx?.dispose();
  });

  const as = (client: string) => tokens[client] as string;
  const open = async (path: string, client: string, lastEventId?: string) => {
    const stream = await SseClient.open(gateway, path, { token: as(client), lastEventId });
    clients.push(stream);
    expect(stream.status).toBe(200);
    await expectEventually(() => expect(stream.initialId()).toBeDefined());
    return stream;
  };
  const approval = async (subject: string, approver?: string) => {
    const created = await api<Task>(gateway, 'POST', '/v1/approvals', {
      token: as('finance-agent'),
      body: { to: 'manager', subject, details: { amount: 1_000 }, ...(approver ? { approver } : {}) },
    });
    expect(created.status).toBe(202);
    return created.body.id;
  };
  const taskIdsOf = (stream: SseClient) =>
    stream
      .events()
      .filter((e) => e.event.startsWith('mesh.'))
      .map((e) => (e.data.payload as { task: Task }).task.id);

  it('streams a person the changes of their approvals only, live and replayed from Last-Event-ID', async () => {
    const person = await open('/v1/events', 'u00002');
    const meshOnly = await open('/v1/events?subject=mesh.>', 'u00002');
    const admin = await open('/v1/events?subject=mesh.>', 'admin');

    const mine = await approval('Printer for the Finance floor', 'user:u00002');
    // Routed to Ada only (she has no manager): not Yara's. An agents' approval (to role manager, Yara's
    // token role) and a task between agents: neither.
    const adas = await approval('Board dinner', 'user:u00001');
    const agents = await approval('Stationery');
    const task = await api<Task>(gateway, 'POST', '/v1/tasks', {
      token: as('manager-agent'),
      body: { to: 'legal', type: 'sox-review', input: { contract: 'c-42' } },
    });
    expect(task.status).toBe(202);
    const decided = await api<Task>(gateway, 'POST', `/v1/tasks/${mine}/decision`, {
      token: as('u00002'),
      body: { decision: 'approve' },
    });
    expect(decided.status).toBe(200);

    // Everything happened (the admin sees all of it); the decision is the last mesh event, so once the
    // person has it, every earlier one was filtered already.
    await expectEventually(() =>
      expect(new Set(taskIdsOf(admin))).toEqual(new Set([mine, adas, agents, task.body.id])),
    );
    const decideOf = (stream: SseClient) =>
      stream
        .events()
        .some((e) => e.data.payload?.change?.event === 'decide' && e.data.payload.task.id === mine);
    await expectEventually(() => expect(decideOf(person) && decideOf(meshOnly)).toBe(true));
    expect(new Set(taskIdsOf(person))).toEqual(new Set([mine]));
    expect(new Set(taskIdsOf(meshOnly))).toEqual(new Set([mine]));
    // The awaiting audit (escalatedTo Yara) and the decision at least; task-created too once the route exists.
    expect(taskIdsOf(meshOnly).length).toBeGreaterThanOrEqual(2);
    // No registry event and no one else's session (the requesting agent's paused session, for one).
    await expectEventually(async () => {
      const paused = await api<{ items: unknown[] }>(gateway, 'GET', '/v1/sessions?agentId=finance-agent', {
        token: as('admin'),
      });
      expect(paused.body.items.length).toBeGreaterThan(0);
    });
    expect(person.events().filter((e) => !e.event.startsWith('mesh.'))).toEqual(
      person.events().filter((e) => e.event.startsWith('sessions.') && e.data.payload.agentId === 'u00002'),
    );

    // Another person, whose token role is also `manager`, sees none of it.
    const stranger = await open('/v1/events?subject=mesh.>', 'u00003', meshOnly.initialId());
    // Yara, replaying from where her stream began, gets exactly what she saw live.
    const replay = await open('/v1/events?subject=mesh.>', 'u00002', meshOnly.initialId());
    await expectEventually(() => expect(replay.events().length).toBe(meshOnly.events().length));
    expect(replay.events().map((e) => e.id)).toEqual(meshOnly.events().map((e) => e.id));
    // The admin's replay from the same point has the others' events: the stranger's filter had them to drop.
    const adminReplay = await open('/v1/events?subject=mesh.>', 'admin', meshOnly.initialId());
    await expectEventually(() => expect(adminReplay.events().length).toBe(admin.events().length));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(stranger.events()).toEqual([]);
  });

  it('streams a delegate the approvals waiting for the person who delegated to them', async () => {
    const delegate = await open('/v1/events?subject=mesh.>', 'u00004');
    const admin = await open('/v1/events?subject=mesh.>', 'admin');
    const before = await approval('Before the delegation', 'user:u00003');
    const given = await api(gateway, 'POST', '/v1/approvals/delegations', {
      token: as('u00003'),
      body: { to: 'u00004', endsAt: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect(given.status).toBe(201);
    const forLara = await approval('Team lunch', 'user:u00003');
    await expectEventually(() => expect(new Set(taskIdsOf(admin))).toEqual(new Set([before, forLara])));
    // The delegation covers what waits for Lara now: the earlier approval's later changes too.
    const decided = await api(gateway, 'POST', `/v1/tasks/${before}/decision`, {
      token: as('u00004'),
      body: { decision: 'reject', comment: 'for Lara' },
    });
    expect(decided.status).toBe(200);
    await expectEventually(() => expect(taskIdsOf(delegate)).toContain(before));
    expect(new Set(taskIdsOf(delegate))).toEqual(new Set([forLara, before]));
  });

  it('pages awaiting=me and decided=me by keyset cursor and refuses a forged cursor', async () => {
    const ids: string[] = [];
    for (const subject of ['Page one', 'Page two', 'Page three'])
      ids.push(await approval(subject, 'user:u00002'));
    const walk = async (view: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const path: string = `/v1/approvals?${view}=me&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const page = await api<PersonPage>(gateway, 'GET', path, { token: as('u00002') });
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(2);
        if (page.body.nextCursor) expect(page.body.items).toHaveLength(2);
        seen.push(...page.body.items.map((i) => i.task.id));
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor);
      return { seen, pages };
    };
    const awaiting = await walk('awaiting');
    expect(awaiting.pages).toBeGreaterThanOrEqual(2);
    expect(new Set(awaiting.seen).size).toBe(awaiting.seen.length);
    expect(awaiting.seen).toEqual(expect.arrayContaining(ids));

    for (const id of ids) {
      const res = await api(gateway, 'POST', `/v1/tasks/${id}/decision`, {
        token: as('u00002'),
        body: { decision: 'approve' },
      });
      expect(res.status).toBe(200);
    }
    const decided = await walk('decided');
    expect(decided.pages).toBeGreaterThanOrEqual(2);
    expect(new Set(decided.seen).size).toBe(decided.seen.length);
    // Newest decision first: the three just decided lead, latest first.
    expect(decided.seen.slice(0, 3)).toEqual([...ids].reverse());
    expect((await walk('awaiting')).seen.filter((id) => ids.includes(id))).toEqual([]);

    const first = await api<PersonPage>(gateway, 'GET', '/v1/approvals?decided=me&limit=1', {
      token: as('u00002'),
    });
    const cursor = first.body.nextCursor as string;
    expect(cursor).toEqual(expect.any(String));
    for (const forged of ['not-a-cursor', Buffer.from('{"v":"d","t":"x","i":"y"}').toString('base64url')]) {
      const res = await api(gateway, 'GET', `/v1/approvals?decided=me&cursor=${forged}`, {
        token: as('u00002'),
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code: 'invalid_cursor' });
    }
    // A decided=me cursor is not an awaiting=me one.
    const crossed = await api(gateway, 'GET', `/v1/approvals?awaiting=me&cursor=${cursor}`, {
      token: as('u00002'),
    });
    expect(crossed.status).toBe(400);
    expect(crossed.body).toMatchObject({ code: 'invalid_cursor' });
  });
});

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
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken, silentLogger, startTestGateway, type TestSessions } from './gateway-harness.js';
import { startTestSessions } from '@orgmesh/sessions/testing';

/**
 * Issue 23 at the REST edge (ADR 0019): a signed-in person (scope orgmesh:person, sub = user id;
 * here dev clients of kind person) lists what waits for them with GET /v1/approvals?awaiting=me and
 * decides with POST /v1/tasks/{id}/decision; refusals are problem+json with the mesh's codes.
 * The approval is routed to a person by the agent naming the approver (`user:u00002`).
 */
describe('gateway: approvals decided by people', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let registry: Awaited<ReturnType<typeof startTestRegistry>>;
  let mesh: MeshRouterApp;
  let sessions: TestSessions;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    ctx = await createTestContext();
    gateway = await startTestGateway(ctx, { AUTH_DEV_CLIENTS: 'u00002:person:person,u00003:person:person' });
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
    for (const client of ['admin', 'finance-agent', 'manager-agent', 'u00002', 'u00003'])
      tokens[client] = await devToken(gateway, client);
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await mesh?.close();
    await registry?.close();
    await sessions?.close();
    await ctx?.dispose();
  });

  const as = (client: string) => tokens[client] as string;

  it('lists the approval waiting for the person, decides it once, refuses the second decision and a stranger', async () => {
    const created = await api<Task>(gateway, 'POST', '/v1/approvals', {
      token: as('finance-agent'),
      body: {
        to: 'manager',
        subject: 'Conference travel',
        details: { amount: 2_400 },
        approver: 'user:u00002',
      },
    });
    expect(created.status).toBe(202);
    const id = created.body.id;
    // The requesting agent's session pauses on its request, as for an approval an agent decides.
    const requesterSession = async () =>
      (
        await api<{ items: Array<{ status: string }> }>(
          gateway,
          'GET',
          `/v1/sessions?agentId=finance-agent&contextId=${created.body.contextId}`,
          { token: as('admin') },
        )
      ).body.items[0]?.status;
    await expectEventually(async () => expect(await requesterSession()).toBe('paused'));

    const whoami = await api(gateway, 'GET', '/v1/auth/whoami', { token: as('u00002') });
    expect(whoami.body).toMatchObject({ kind: 'person', subject: 'u00002' });

    const inbox = await api<{ items: Array<Record<string, unknown>>; nextCursor: null }>(
      gateway,
      'GET',
      '/v1/approvals?awaiting=me&limit=20',
      { token: as('u00002') },
    );
    expect(inbox.status).toBe(200);
    expect(inbox.body.nextCursor).toBeNull();
    expect(inbox.body.items.find((i) => (i['task'] as Task).id === id)).toMatchObject({
      rule: 'request',
      status: 'open',
      awaiting: [{ userId: 'u00002', name: 'Yara Quinn', role: 'manager' }],
      escalationPath: [{ userId: 'u00001', name: 'Ada Bauer', role: 'manager' }],
      task: { from: { agentId: 'finance-agent', role: 'finance' }, subject: 'Conference travel' },
    });

    // A person without awaiting/decided, and the agents' routes, are not theirs.
    expect((await api(gateway, 'GET', '/v1/approvals', { token: as('u00002') })).status).toBe(400);
    expect((await api(gateway, 'GET', '/v1/tasks', { token: as('u00002') })).status).toBe(403);
    expect((await api(gateway, 'GET', '/v1/sessions', { token: as('u00002') })).status).toBe(403);
    // An agent asking for a person's view is refused by the mesh.
    expect(
      (await api(gateway, 'GET', '/v1/approvals?awaiting=me', { token: as('manager-agent') })).status,
    ).toBe(403);

    const stranger = await api(gateway, 'POST', `/v1/tasks/${id}/decision`, {
      token: as('u00003'),
      body: { decision: 'approve' },
    });
    expect(stranger.status).toBe(403);
    expect(stranger.headers.get('content-type')).toContain('application/problem+json');
    expect(stranger.body).toMatchObject({ code: 'forbidden', title: 'Forbidden', rule: 'request' });

    const decided = await api<Task>(gateway, 'POST', `/v1/tasks/${id}/decision`, {
      token: as('u00002'),
      body: { decision: 'approve', comment: 'Enjoy the conference.' },
    });
    expect(decided.status).toBe(200);
    expect(decided.body.decision).toMatchObject({ decision: 'approve', decidedBy: { agentId: 'u00002' } });
    // The person's decision resumes it.
    await expectEventually(async () => expect(await requesterSession()).toBe('active'));

    const twice = await api(gateway, 'POST', `/v1/tasks/${id}/decision`, {
      token: as('u00002'),
      body: { decision: 'reject' },
    });
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({
      code: 'approval_already_decided',
      title: 'Approval already decided',
      earlierDecision: { userId: 'u00002', decision: 'approve', comment: 'Enjoy the conference.' },
    });

    const mine = await api<{ items: Array<{ task: Task }> }>(gateway, 'GET', '/v1/approvals?decided=me', {
      token: as('u00002'),
    });
    expect(mine.body.items.map((i) => i.task.id)).toContain(id);
  });

  it('delegates approvals to another person for a period', async () => {
    const ends = new Date(Date.now() + 86_400_000).toISOString();
    const delegation = await api(gateway, 'POST', '/v1/approvals/delegations', {
      token: as('u00002'),
      body: { to: 'u00003', endsAt: ends },
    });
    expect(delegation.status).toBe(201);
    expect(delegation.body).toMatchObject({ from: 'u00002', to: 'u00003', endsAt: ends });
    const byAgent = await api(gateway, 'POST', '/v1/approvals/delegations', {
      token: as('manager-agent'),
      body: { to: 'u00003', endsAt: ends },
    });
    expect(byAgent.status).toBe(403);

    const created = await api<Task>(gateway, 'POST', '/v1/approvals', {
      token: as('finance-agent'),
      body: { to: 'manager', subject: 'Team offsite', details: { amount: 900 }, approver: 'u00002' },
    });
    const forYara = await api<{ items: Array<{ task: Task; onBehalfOf: string | null }> }>(
      gateway,
      'GET',
      '/v1/approvals?awaiting=me',
      { token: as('u00003') },
    );
    expect(forYara.body.items.find((i) => i.task.id === created.body.id)?.onBehalfOf).toBe('u00002');
    const decided = await api<Task>(gateway, 'POST', `/v1/tasks/${created.body.id}/decision`, {
      token: as('u00003'),
      body: { decision: 'approve', comment: 'for Yara' },
    });
    expect(decided.status).toBe(200);
  });
});

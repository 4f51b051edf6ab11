import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Task } from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
// Every service runs in-process, for real, each trusting the gateway's built-in issuer through its JWKS.
import { DEMO_ORG_CHART, demoFiles } from '@orgmesh/registry/testing';
import * as grpc from '@grpc/grpc-js';
import type { GatewayApp } from '../src/gateway.app.js';
import { findProtoDir, loadGatewayProtos } from '../src/grpc/grpc.server.js';
import { api, devToken, SseClient, startGatewayStack, type GatewayStack } from './gateway-harness.js';

describe('gateway REST → mesh router and registry → Postgres', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let stack: GatewayStack;
  const tokens: Record<string, string> = {};
  const as = (client: string) => tokens[client] as string;

  beforeAll(async () => {
    ctx = await createTestContext();
    stack = await startGatewayStack(ctx);
    gateway = stack.gateway;
    for (const client of ['admin', 'viewer', 'finance-agent', 'manager-agent', 'legal-agent'])
      tokens[client] = await devToken(gateway, client);
  });

  afterAll(async () => {
    await stack?.close();
    await ctx?.dispose();
  });

  describe('mesh', () => {
    it('runs an approval from Finance to Manager: requested, listed in the inbox, decided, visible to the requester', async () => {
      const key = randomUUID();
      const request = {
        to: 'manager',
        subject: 'Q3 budget',
        details: { amount: 12_000 },
        contextId: `ctx-${key}`,
      };
      const created = await api<Task>(gateway, 'POST', '/v1/approvals', {
        token: as('finance-agent'),
        body: request,
        headers: { 'idempotency-key': key },
      });
      expect(created.status).toBe(202);
      expect(created.body).toMatchObject({
        kind: 'approval',
        from: { agentId: 'finance-agent', role: 'finance' },
        to: { role: 'manager' },
        state: 'submitted',
        contextId: `ctx-${key}`,
        subject: 'Q3 budget',
      });
      for (const field of ['id', 'createdAt']) expect(created.body).toHaveProperty(field);

      const repeated = await api<Task>(gateway, 'POST', '/v1/approvals', {
        token: as('finance-agent'),
        body: request,
        headers: { 'idempotency-key': key },
      });
      expect(repeated.body.id).toBe(created.body.id);

      const inbox = await api(gateway, 'GET', '/v1/approvals?role=manager&direction=inbound', {
        token: as('manager-agent'),
      });
      expect(inbox.status).toBe(200);
      expect(inbox.body.items.map((t: Task) => t.id)).toContain(created.body.id);

      const decided = await api<Task>(gateway, 'POST', `/v1/tasks/${created.body.id}/decision`, {
        token: as('manager-agent'),
        body: { decision: 'approve', comment: 'within budget' },
      });
      expect(decided.status).toBe(200);
      expect(decided.body).toMatchObject({
        state: 'completed',
        decision: {
          decision: 'approve',
          comment: 'within budget',
          decidedBy: { agentId: 'manager-agent', role: 'manager' },
        },
      });

      const status = await api<Task>(gateway, 'GET', `/v1/tasks/${created.body.id}`, {
        token: as('finance-agent'),
      });
      expect(status.body.state).toBe('completed');
      expect(status.body.history?.map((h) => h.event)).toEqual(expect.arrayContaining(['create', 'decide']));

      const again = await api(gateway, 'POST', `/v1/tasks/${created.body.id}/decision`, {
        token: as('manager-agent'),
        body: { decision: 'reject' },
      });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('task_illegal_transition');
    });

    it('runs a task from Manager to Legal through working and completed, and a cancellation', async () => {
      const task = await api<Task>(gateway, 'POST', '/v1/tasks', {
        token: as('manager-agent'),
        body: { to: 'legal', type: 'sox-review', input: { contract: 'c-42' } },
      });
      expect(task.status).toBe(202);
      expect(task.body).toMatchObject({
        kind: 'task',
        type: 'sox-review',
        from: { role: 'manager' },
        to: { role: 'legal' },
        state: 'submitted',
      });
      const working = await api<Task>(gateway, 'POST', `/v1/tasks/${task.body.id}/updates`, {
        token: as('legal-agent'),
        body: { state: 'working' },
      });
      expect(working.body).toMatchObject({
        state: 'working',
        assignee: { agentId: 'legal-agent', role: 'legal' },
      });
      const done = await api<Task>(gateway, 'POST', `/v1/tasks/${task.body.id}/updates`, {
        token: as('legal-agent'),
        body: { state: 'completed', result: { verdict: 'approve' } },
      });
      expect(done.body).toMatchObject({ state: 'completed', result: { verdict: 'approve' } });

      const other = await api<Task>(gateway, 'POST', '/v1/tasks', {
        token: as('manager-agent'),
        body: { to: 'legal', type: 'nda' },
      });
      const canceled = await api<Task>(gateway, 'POST', `/v1/tasks/${other.body.id}/cancel`, {
        token: as('manager-agent'),
        body: { reason: 'no longer needed' },
      });
      expect(canceled.status).toBe(200);
      expect(canceled.body.state).toBe('canceled');
      const tasks = await api(gateway, 'GET', '/v1/tasks?direction=outbound&limit=1', {
        token: as('manager-agent'),
      });
      expect(tasks.body.items).toHaveLength(1);
      expect(tasks.body.nextCursor).not.toBeNull();
    });

    it('delivers notifications', async () => {
      const note = await api<Task>(gateway, 'POST', '/v1/notifications', {
        token: as('finance-agent'),
        body: { to: 'manager', message: 'invoice paid', priority: 'high' },
      });
      expect(note.status).toBe(202);
      expect(note.body).toMatchObject({ kind: 'notification', message: 'invoice paid', priority: 'high' });
      const list = await api(gateway, 'GET', '/v1/notifications?role=manager', {
        token: as('manager-agent'),
      });
      expect(list.body.items.map((t: Task) => t.id)).toContain(note.body.id);
    });

    it('refuses an agent sending as another role (403) and a send the policy refuses (403 naming the rule)', async () => {
      const impersonation = await api(gateway, 'POST', '/v1/tasks', {
        token: as('finance-agent'),
        body: { to: 'legal', type: 'x', from: 'manager' },
      });
      expect(impersonation.status).toBe(403);
      expect(impersonation.body).toMatchObject({ code: 'forbidden', callerRole: 'finance', role: 'manager' });
      const denied = await api(gateway, 'POST', '/v1/tasks', {
        token: as('legal-agent'),
        body: { to: 'finance', type: 'ledger-fix' },
      });
      expect(denied.status).toBe(403);
      expect(denied.body.code).toBe('policy_denied');
      expect(JSON.stringify(denied.body)).toMatch(/rule|deny/);
      const viewer = await api(gateway, 'POST', '/v1/notifications', {
        token: as('viewer'),
        body: { to: 'manager', message: 'hi' },
      });
      expect(viewer.status).toBe(403);
    });

    it('streams mesh events to the parties only', async () => {
      const financeEvents = await SseClient.open(gateway, '/v1/events?subject=mesh.v1.*', {
        token: as('finance-agent'),
      });
      const legalEvents = await SseClient.open(gateway, '/v1/events?subject=mesh.v1.*', {
        token: as('legal-agent'),
      });
      try {
        await expectEventually(() =>
          expect(financeEvents.initialId() !== undefined && legalEvents.initialId() !== undefined).toBe(true),
        );
        const note = await api<Task>(gateway, 'POST', '/v1/notifications', {
          token: as('finance-agent'),
          body: { to: 'manager', message: 'sse probe' },
        });
        await expectEventually(() =>
          expect(financeEvents.events().some((e) => e.data.payload.task.id === note.body.id)).toBe(true),
        );
        const ours = financeEvents.events().find((e) => e.data.payload.task.id === note.body.id);
        expect(ours?.event).toBe('mesh.v1.task-created');
        expect(ours?.id).toMatch(/^\d+$/);
        // Legal is no party to it; a later event of Legal's own arrives, the finance one never does.
        const mine = await api<Task>(gateway, 'POST', '/v1/tasks', {
          token: as('manager-agent'),
          body: { to: 'legal', type: 'sse-probe' },
        });
        await expectEventually(() =>
          expect(legalEvents.events().some((e) => e.data.payload.task.id === mine.body.id)).toBe(true),
        );
        expect(legalEvents.events().some((e) => e.data.payload.task.id === note.body.id)).toBe(false);
      } finally {
        await financeEvents.close();
        await legalEvents.close();
      }
    });
  });

  describe('registry', () => {
    it('lists agents with cursor pagination and shows one with its presence', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: any } = await api(
          gateway,
          'GET',
          `/v1/agents?limit=10${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          { token: as('viewer') },
        );
        expect(page.status).toBe(200);
        seen.push(...page.body.items.map((i: { agent: { id: string } }) => i.agent.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(expect.arrayContaining(['finance-agent', 'manager-agent', 'legal-agent']));
      expect(new Set(seen).size).toBe(seen.length);

      const agent = await api(gateway, 'GET', '/v1/agents/finance-agent', { token: as('legal-agent') });
      expect(agent.body).toMatchObject({
        agent: { id: 'finance-agent', role: 'finance' },
        presence: { online: false },
      });
      expect((await api(gateway, 'GET', '/v1/agents/no-such-agent', { token: as('admin') })).body.code).toBe(
        'agent_not_found',
      );
    });

    it("renders an agent's config for itself or an admin, and detects drift from heartbeats", async () => {
      // The finance agent runs an OpenAI model, so its client is Goose.
      const config = await api(gateway, 'GET', '/v1/agents/finance-agent/config?format=goose', {
        token: as('finance-agent'),
      });
      expect(config.status).toBe(200);
      expect(config.body.files.map((f: { path: string }) => f.path)).toEqual(
        expect.arrayContaining(['.config/goose/config.yaml', '.goosehints', '.gooseignore']),
      );
      const claude = await api(gateway, 'GET', '/v1/agents/finance-agent/config?format=claude-code', {
        token: as('admin'),
      });
      expect(claude.status).toBe(400);
      expect(config.body.configHash).toMatch(/^sha256:/);
      expect(
        (
          await api(gateway, 'GET', '/v1/agents/finance-agent/config?format=goose', {
            token: as('legal-agent'),
          })
        ).status,
      ).toBe(403);
      expect(
        (await api(gateway, 'GET', '/v1/agents/finance-agent/config?format=vim', { token: as('admin') })).body
          .issues[0].path,
      ).toBe('query.format');

      const viewerEvents = await SseClient.open(
        gateway,
        '/v1/events?subject=registry.v1.drift-detected,registry.v1.drift-cleared',
        { token: as('viewer') },
      );
      const legalEvents = await SseClient.open(
        gateway,
        '/v1/events?subject=registry.v1.drift-detected,registry.v1.drift-cleared',
        { token: as('legal-agent') },
      );
      await expectEventually(() =>
        expect(viewerEvents.initialId() !== undefined && legalEvents.initialId() !== undefined).toBe(true),
      );
      const drifted = await api(gateway, 'POST', '/v1/agents/finance-agent/heartbeat', {
        token: as('finance-agent'),
        body: { configHash: `sha256:${'f'.repeat(64)}`, format: 'goose' },
      });
      expect(drifted.status).toBe(200);
      expect(drifted.body.drift).toBe(true);
      expect(
        (await api(gateway, 'GET', '/v1/agents/finance-agent/drift', { token: as('viewer') })).body,
      ).toMatchObject({ agentId: 'finance-agent', drift: true, online: true });
      await api(gateway, 'POST', '/v1/agents/finance-agent/heartbeat', {
        token: as('finance-agent'),
        body: { configHash: config.body.configHash, format: 'goose' },
      });
      expect(
        (await api(gateway, 'GET', '/v1/agents/finance-agent/drift', { token: as('viewer') })).body.drift,
      ).toBe(false);
      // Registry events stream too: the viewer sees the finance agent's drift come and go, Legal does not.
      await expectEventually(() =>
        expect(viewerEvents.events().map((e) => [e.event, e.data.payload.agentId])).toEqual([
          ['registry.v1.drift-detected', 'finance-agent'],
          ['registry.v1.drift-cleared', 'finance-agent'],
        ]),
      );
      expect(legalEvents.events()).toEqual([]);
      await viewerEvents.close();
      await legalEvents.close();
      const someoneElse = await api(gateway, 'POST', '/v1/agents/legal-agent/heartbeat', {
        token: as('finance-agent'),
        body: { configHash: config.body.configHash },
      });
      expect(someoneElse.status).toBe(403);
    });

    it('serves profiles by role and id', async () => {
      const byRole = await api(gateway, 'GET', '/v1/profiles?role=finance', { token: as('finance-agent') });
      expect(byRole.status).toBe(200);
      expect(byRole.body.profile).toMatchObject({ role: 'finance', isDefault: true });
      expect(byRole.body.jws.split('.')).toHaveLength(3);
      const byId = await api(gateway, 'GET', `/v1/profiles/${byRole.body.profile.id}`, {
        token: as('viewer'),
      });
      expect(byId.body.profile.id).toBe(byRole.body.profile.id);
    });

    it('imports the org chart (admin only, all or nothing) and serves its users', async () => {
      const csv = readFileSync(DEMO_ORG_CHART, 'utf8');
      expect(
        (
          await api(gateway, 'POST', '/v1/org/import', {
            token: as('manager-agent'),
            rawBody: csv,
            headers: { 'content-type': 'text/csv' },
          })
        ).status,
      ).toBe(403);
      const imported = await api(gateway, 'POST', '/v1/org/import', {
        token: as('admin'),
        rawBody: csv,
        headers: { 'content-type': 'text/csv' },
      });
      expect(imported.status).toBe(200);
      expect(imported.body.users).toBe(csv.trim().split('\n').length - 1);

      const cycle =
        'user_id,reports_to_id,name,role,email,department\na,b,A,finance,a@x.test,F\nb,a,B,manager,b@x.test,F\n';
      const refused = await api(gateway, 'POST', '/v1/org/import', {
        token: as('admin'),
        body: { csv: cycle, fileName: 'cycle.csv' },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('validation_failed');
      const users = await api(gateway, 'GET', '/v1/users?limit=5', { token: as('admin') });
      expect(users.body.items).toHaveLength(5);
      // The whole directory is for admins only (issue 18); a viewer still reads one user and their manager.
      expect((await api(gateway, 'GET', '/v1/users', { token: as('viewer') })).status).toBe(403);
      expect(users.body.orgVersion).toBe(imported.body.orgVersion);
      expect((await api(gateway, 'GET', '/v1/users', { token: as('finance-agent') })).status).toBe(403);

      const someone = users.body.items.find((u: { userId: string }) => u.userId !== 'u00001');
      const user = await api(gateway, 'GET', `/v1/users/${someone.userId}`, { token: as('admin') });
      expect(user.body.user.userId).toBe(someone.userId);
      expect(user.body).toHaveProperty('manager');
    });

    it('assigns profiles (admin only) and accepts registry writes from admins only', async () => {
      const users = await api(gateway, 'GET', '/v1/users?limit=500', { token: as('admin') });
      const financeUser =
        users.body.items.find(
          (u: { department: string; userId: string }) => u.department === 'Finance' && u.userId === 'u00004',
        ) ?? users.body.items[3];
      const person = await api(gateway, 'GET', `/v1/users/${financeUser.userId}`, { token: as('admin') });
      const profile = await api(gateway, 'GET', `/v1/profiles?role=${person.body.user.role}`, {
        token: as('admin'),
      });
      const assign = (token: string) =>
        api(gateway, 'PUT', `/v1/users/${financeUser.userId}/profile`, {
          token,
          body: { profileId: profile.body.profile.id },
        });
      expect((await assign(as('finance-agent'))).status).toBe(403);
      expect((await assign(as('viewer'))).status).toBe(403);
      const assigned = await assign(as('admin'));
      expect(assigned.status).toBe(200);
      expect(assigned.body).toMatchObject({
        userId: financeUser.userId,
        profileId: profile.body.profile.id,
        assignedBy: 'admin',
      });

      const files = await demoFiles();
      expect(
        (await api(gateway, 'PUT', '/v1/registry', { token: as('manager-agent'), body: { files } })).status,
      ).toBe(403);
      const load = await api(gateway, 'PUT', '/v1/registry', { token: as('admin'), body: { files } });
      expect(load.status).toBe(200);
      expect(load.body.changed).toBe(false);
    });
  });

  describe('over gRPC', () => {
    const call = <T = any>(client: any, method: string, request: unknown, token: string): Promise<T> =>
      new Promise((resolve, reject) => {
        const metadata = new grpc.Metadata();
        metadata.set('authorization', `Bearer ${token}`);
        client[method](request, metadata, (error: grpc.ServiceError | null, response: T) =>
          error ? reject(error) : resolve(response),
        );
      });

    it('requests and decides an approval through Mesh, and reads agents through Registry', async () => {
      const loaded = grpc.loadPackageDefinition(loadGatewayProtos(findProtoDir())) as any;
      const address = `127.0.0.1:${gateway.grpcPort}`;
      const meshClient = new loaded.orgmesh.v1.Mesh(address, grpc.credentials.createInsecure());
      const registryClient = new loaded.orgmesh.v1.Registry(address, grpc.credentials.createInsecure());
      try {
        const details = {
          structValue: {
            fields: {
              amount: { numberValue: 5000 },
              lines: { listValue: { values: [{ stringValue: 'laptops' }] } },
            },
          },
        };
        const task = await call(
          meshClient,
          'RequestApproval',
          { to: { role: 'manager' }, subject: 'hardware', details },
          as('finance-agent'),
        );
        expect(task).toMatchObject({
          kind: 'approval',
          from: { agentId: 'finance-agent', role: 'finance' },
          to: { role: 'manager' },
          state: 'submitted',
          subject: 'hardware',
          details,
        });
        expect(task.decision).toBeUndefined();
        const decided = await call(
          meshClient,
          'Decide',
          { id: task.id, decision: 'reject', comment: 'over budget' },
          as('manager-agent'),
        );
        expect(decided).toMatchObject({
          state: 'completed',
          decision: { decision: 'reject', comment: 'over budget', decidedBy: { role: 'manager' } },
        });
        const fetched = await call(
          meshClient,
          'GetTask',
          { id: task.id, includeHistory: true },
          as('finance-agent'),
        );
        expect(fetched.history.map((h: { event: string }) => h.event)).toEqual(
          expect.arrayContaining(['create', 'decide']),
        );

        const agent = await call(registryClient, 'GetAgent', { id: 'legal-agent' }, as('viewer'));
        expect(agent.agent).toMatchObject({ id: 'legal-agent', role: 'legal' });
        expect(Object.keys(agent.expectedConfigHashes).length).toBeGreaterThan(0);
        const page = await call(registryClient, 'ListAgents', { limit: 2 }, as('viewer'));
        expect(page.items).toHaveLength(2);
        expect(page.nextCursor).toEqual(expect.any(String));
        const next = await call(
          registryClient,
          'ListAgents',
          { limit: 2, cursor: page.nextCursor },
          as('viewer'),
        );
        expect(next.items[0].agent.id).not.toBe(page.items[0].agent.id);
        const refused = await call(registryClient, 'ListUsers', {}, as('finance-agent')).catch(
          (e: grpc.ServiceError) => e,
        );
        expect((refused as grpc.ServiceError).code).toBe(grpc.status.PERMISSION_DENIED);
      } finally {
        meshClient.close();
        registryClient.close();
      }
    });
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Session, Task } from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import * as grpc from '@grpc/grpc-js';
// Every service runs in-process, for real, each trusting the gateway's built-in issuer through its JWKS.
import type { GatewayApp } from '../src/gateway.app.js';
import { findProtoDir, loadGatewayProtos } from '../src/grpc/grpc.server.js';
import { api, devToken, SseClient, startGatewayStack, type GatewayStack } from './gateway-harness.js';

const CALLERS = [
  'finance-agent',
  'accounts-payable-agent',
  'accounts-receivable-agent',
  'manager-agent',
  'legal-agent',
  'viewer',
  'admin',
] as const;
type CallerName = (typeof CALLERS)[number];
type TaskName = 'toPayables' | 'toFinanceRole' | 'approval' | 'takenByLegal' | 'toReceivables';

/**
 * Who sees which task, written out by hand (not computed by the rule under test): the sender, the
 * agent a task was addressed to, every agent of a role a task was addressed to when no agent was
 * named, the assignee; admins and viewers everything. An agent of the same role as a task addressed
 * to one agent does not see it.
 */
const EXPECTED: Record<CallerName, TaskName[]> = {
  'finance-agent': ['toPayables', 'toFinanceRole', 'approval'],
  'accounts-payable-agent': ['toPayables', 'toFinanceRole'],
  'accounts-receivable-agent': ['toFinanceRole', 'toReceivables'],
  'manager-agent': ['toFinanceRole', 'approval', 'takenByLegal', 'toReceivables'],
  'legal-agent': ['takenByLegal'],
  viewer: ['toPayables', 'toFinanceRole', 'approval', 'takenByLegal', 'toReceivables'],
  admin: ['toPayables', 'toFinanceRole', 'approval', 'takenByLegal', 'toReceivables'],
};

/** The ids of the tasks of `contextId` in a stream's task events. */
function taskIdsIn(stream: SseClient, contextId: string): Set<string> {
  return new Set(
    stream
      .events()
      .map((e) => e.data?.payload?.task as Task | undefined)
      .filter((task): task is Task => task?.contextId === contextId)
      .map((task) => task.id),
  );
}

/** A gRPC Struct value's field, or undefined. */

function structField(value: any, field: string): any {
  return value?.structValue?.fields?.[field];
}

/** WatchEvents from a cursor until the sentinel arrives; the task ids of `contextId` it delivered. */
async function watchTaskIds(
  gateway: GatewayApp,
  token: string,
  cursor: string,
  contextId: string,
  sentinels: string,
): Promise<string[]> {
  const loaded = grpc.loadPackageDefinition(loadGatewayProtos(findProtoDir())) as any;
  const client = new loaded.orgmesh.v1.Events(
    `127.0.0.1:${gateway.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const seen: Array<{ id: string; contextId: string }> = [];
  const call = client.WatchEvents(
    { subjects: ['mesh.v1.*'], cursor },
    metadata,
  ) as grpc.ClientReadableStream<unknown>;
  call.on('data', (event: { payload: unknown }) => {
    const task = structField(event.payload, 'task');
    seen.push({
      id: structField(task, 'id')?.stringValue,
      contextId: structField(task, 'contextId')?.stringValue,
    });
  });
  call.on('error', () => undefined);
  try {
    await expectEventually(() => expect(seen.some((t) => t.contextId === sentinels)).toBe(true));
    return [...new Set(seen.filter((t) => t.contextId === contextId).map((t) => t.id))].sort();
  } finally {
    call.cancel();
    client.close();
  }
}

// Issue 18: SSE live, SSE replay (Last-Event-ID), gRPC WatchEvents, REST get and REST list (the mesh
// router's SQL) agree, for every (caller, task) pair, because they all apply the one rule in libs/contracts.
describe('one visibility rule: SSE live, SSE replay, WatchEvents, REST get and REST list agree', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let stack: GatewayStack;
  const tokens = {} as Record<CallerName, string>;
  const live = {} as Record<CallerName, SseClient>;
  const tasks = {} as Record<TaskName, Task>;
  const contextId = `visibility-${randomUUID()}`;
  const sentinels = `sentinel-${randomUUID()}`;
  let before: string;

  async function send(from: CallerName, path: string, body: Record<string, unknown>): Promise<Task> {
    const res = await api<Task>(gateway, 'POST', path, { token: tokens[from], body: { contextId, ...body } });
    expect([res.status, res.body]).toEqual([202, expect.objectContaining({ id: expect.any(String) })]);
    return res.body;
  }

  /**
   * Notifications from the manager to every role, sent after the tasks: once a stream has delivered
   * the one it may see, it has decided on every earlier event (streams deliver in sequence order).
   */
  async function waitPastTheTasks(stream: SseClient): Promise<void> {
    await expectEventually(() =>
      expect(
        stream.events().some((e) => (e.data?.payload?.task as Task | undefined)?.contextId === sentinels),
      ).toBe(true),
    );
  }

  beforeAll(async () => {
    ctx = await createTestContext();
    stack = await startGatewayStack(ctx);
    gateway = stack.gateway;
    for (const caller of CALLERS) tokens[caller] = await devToken(gateway, caller);

    for (const caller of CALLERS) {
      live[caller] = await SseClient.open(gateway, '/v1/events?subject=mesh.v1.*', { token: tokens[caller] });
    }
    await expectEventually(() => expect(CALLERS.every((c) => live[c].initialId() !== undefined)).toBe(true));
    before = live.admin.initialId() as string;

    tasks.toPayables = await send('finance-agent', '/v1/tasks', {
      to: { role: 'finance', agentId: 'accounts-payable-agent' },
      type: 'invoice-check',
      input: { invoice: 'INV-7', iban: 'DE02120300000000202051' },
    });
    tasks.toFinanceRole = await send('manager-agent', '/v1/tasks', { to: 'finance', type: 'forecast' });
    tasks.approval = await send('finance-agent', '/v1/approvals', {
      to: 'manager',
      subject: 'Q3 budget',
      details: { amount: 12_000 },
    });
    tasks.takenByLegal = await send('manager-agent', '/v1/tasks', { to: 'legal', type: 'contract-review' });
    tasks.toReceivables = await send('manager-agent', '/v1/tasks', {
      to: { agentId: 'accounts-receivable-agent' },
      type: 'dunning',
      input: { customer: 'ACME' },
    });
    const taken = await api<Task>(gateway, 'POST', `/v1/tasks/${tasks.takenByLegal.id}/updates`, {
      token: tokens['legal-agent'],
      body: { state: 'working' },
    });
    expect(taken.body.assignee).toEqual({ agentId: 'legal-agent', role: 'legal' });
    for (const role of ['finance', 'manager', 'legal']) {
      const note = await api(gateway, 'POST', '/v1/notifications', {
        token: tokens['manager-agent'],
        body: { to: role, message: 'end of the matrix', contextId: sentinels },
      });
      expect(note.status).toBe(202);
    }
    await Promise.all(CALLERS.map((caller) => waitPastTheTasks(live[caller])));
  });

  afterAll(async () => {
    await Promise.allSettled(Object.values(live).map((s) => s.close()));
    await stack?.close();
    await ctx?.dispose();
  });

  const expectedIds = (caller: CallerName): string[] => EXPECTED[caller].map((name) => tasks[name].id).sort();

  it.each(CALLERS)(
    '%s: SSE live, SSE replay, WatchEvents, REST get and REST list show the same tasks',
    async (caller) => {
      const expected = expectedIds(caller);
      // SSE live.
      expect([...taskIdsIn(live[caller], contextId)].sort()).toEqual(expected);

      // SSE replay from before the tasks (Last-Event-ID), what a reconnecting client receives.
      const replay = await SseClient.open(gateway, '/v1/events?subject=mesh.v1.*', {
        token: tokens[caller],
        lastEventId: before,
      });
      try {
        await waitPastTheTasks(replay);
        expect([...taskIdsIn(replay, contextId)].sort()).toEqual(expected);
      } finally {
        await replay.close();
      }

      // gRPC WatchEvents from the same cursor.
      expect(await watchTaskIds(gateway, tokens[caller], before, contextId, sentinels)).toEqual(expected);

      // REST get, each task.
      const gets: Record<string, number> = {};
      for (const [name, task] of Object.entries(tasks)) {
        gets[name] = (await api(gateway, 'GET', `/v1/tasks/${task.id}`, { token: tokens[caller] })).status;
      }
      expect(gets).toEqual(
        Object.fromEntries(
          Object.keys(tasks).map((name) => [name, EXPECTED[caller].includes(name as TaskName) ? 200 : 403]),
        ),
      );

      // REST list: the mesh router's SQL filter.
      const list = await api<{ items: Task[] }>(
        gateway,
        'GET',
        `/v1/tasks?contextId=${contextId}&limit=100`,
        {
          token: tokens[caller],
        },
      );
      expect(list.status).toBe(200);
      expect(list.body.items.map((t) => t.id).sort()).toEqual(expected);
    },
  );

  it("never streams a task's input to an agent of the same role it was not addressed to", () => {
    const raw = JSON.stringify(live['accounts-receivable-agent'].events());
    expect(raw).not.toContain('DE02120300000000202051');
    expect(JSON.stringify(live['accounts-payable-agent'].events())).toContain('DE02120300000000202051');
  });

  it("shows an agent its own sessions only, live and over REST, and refuses it another agent's session (403)", async () => {
    const stream = await SseClient.open(gateway, '/v1/events?subject=sessions.v1.*', {
      token: tokens['finance-agent'],
    });
    try {
      await expectEventually(() => expect(stream.initialId()).toBeDefined());
      const open = async (caller: CallerName) => {
        const res = await api<Session>(gateway, 'POST', '/v1/sessions', {
          token: tokens[caller],
          body: { agentId: caller, contextId: `sessions-${contextId}` },
        });
        expect(res.status).toBe(201);
        return res.body;
      };
      const payables = await open('accounts-payable-agent');
      const own = await open('finance-agent');
      await expectEventually(() =>
        expect(stream.events().some((e) => e.data?.payload?.id === own.id)).toBe(true),
      );
      const agentsSeen = new Set(stream.events().map((e) => e.data?.payload?.agentId));
      expect(agentsSeen).toEqual(new Set(['finance-agent']));

      const get = await api(gateway, 'GET', `/v1/sessions/${payables.id}`, {
        token: tokens['finance-agent'],
      });
      expect(get.status).toBe(403);
      const list = await api<{ items: Session[] }>(
        gateway,
        'GET',
        `/v1/sessions?contextId=sessions-${contextId}`,
        {
          token: tokens['finance-agent'],
        },
      );
      expect(list.body.items.map((s) => s.id)).toEqual([own.id]);

      // Acting on it: refused, nothing written; an admin may, and is recorded as the actor.
      const fail = await api(gateway, 'PUT', `/v1/sessions/${payables.id}/events`, {
        token: tokens['finance-agent'],
        body: { event: 'fail' },
      });
      expect(fail.status).toBe(403);
      const after = await api<Session>(gateway, 'GET', `/v1/sessions/${payables.id}`, {
        token: tokens.admin,
      });
      expect([after.body.status, after.body.version]).toEqual(['pending', 0]);
      const byAdmin = await api<Session>(gateway, 'PUT', `/v1/sessions/${payables.id}/events`, {
        token: tokens.admin,
        body: { event: 'fail', reason: 'stuck' },
      });
      expect(byAdmin.body.status).toBe('failed');
      const history = await api<{ items: Array<{ actor: string }> }>(
        gateway,
        'GET',
        `/v1/sessions/${payables.id}/transitions`,
        { token: tokens['accounts-payable-agent'] },
      );
      expect(history.body.items.map((t) => t.actor)).toEqual(['admin']);
    } finally {
      await stream.close();
    }
  });
});

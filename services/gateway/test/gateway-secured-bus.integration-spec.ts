import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { PermissionViolationError } from '@nats-io/nats-core';
import { MeshAgent } from '@orgmesh/agent-sdk';
import type { Session, Task } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import {
  createTestContext,
  expectEventually,
  startSecuredNats,
  startTestAgent,
  type SecuredNats,
  type TestAgent,
  type TestContext,
} from '@orgmesh/testing';
import type { GatewayApp } from '../src/gateway.app.js';
// The real services, each on a secured bus with its own generated credential (issue 18): a
// permission the contracts' access table forgot fails one of these flows.
import { startTestSessions } from '@orgmesh/sessions/testing';
import { testConfig as meshTestConfig, startMeshRouterApp } from '@orgmesh/mesh-router/testing';
import { DEMO_ORG_CHART, startTestRegistry } from '@orgmesh/registry/testing';
import { NatsRegistryReader } from '@orgmesh/privacy-proxy/testing';
import { api, devToken, SseClient, silentLogger, startTestGateway } from './gateway-harness.js';
import { a2aClient, asTask, sendRequest, startPushReceiver, userMessage } from './a2a-harness.js';

describe('the services on a secured bus, each with its own credential', () => {
  let ctx: TestContext;
  let nats: SecuredNats;
  let gateway: GatewayApp;
  let legal: TestAgent;
  let proxyBus: MessageBus;
  const closers: Array<() => Promise<unknown>> = [];
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    const base = await createTestContext();
    nats = await startSecuredNats({
      subjectPrefix: base.subjectPrefix,
      nameSuffix: base.nameSuffix,
      agents: [
        { agentId: 'legal-agent', agentRole: 'legal' },
        { agentId: 'manager-agent', agentRole: 'manager' },
      ],
    });
    ctx = { ...base, natsUrl: nats.url };
    const seed = (identity: string) => ({ NATS_NKEY_SEED_FILE: nats.seedFile(identity) });
    // A2A push receivers listen on loopback in this test (refused unless allowed, ADR 0018).
    gateway = await startTestGateway(ctx, {
      ...seed('gateway'),
      GATEWAY_A2A_PUSH_ALLOW: '127.0.0.1',
      // A signed-in person of the demo org chart (issue 23): their event stream asks the mesh.
      AUTH_DEV_CLIENTS: 'u00002:manager:person',
    });
    closers.push(() => gateway.close());
    const registry = await startTestRegistry(ctx, {
      overrides: {
        REGISTRY_AUTH: 'on',
        AUTH_ISSUER: gateway.url,
        GATEWAY_URL: gateway.url,
        REGISTRY_ORG_CHART: DEMO_ORG_CHART,
        ...seed('registry'),
      },
    });
    closers.push(() => registry.close());
    const mesh = await startMeshRouterApp(
      meshTestConfig(ctx, { AUTH_ISSUER: gateway.url, ...seed('mesh-router') }),
      {
        logger: silentLogger,
        migrate: true,
        startJobs: false,
      },
    );
    closers.push(() => mesh.close());
    const sessions = await startTestSessions(ctx, { overrides: seed('sessions') });
    closers.push(() => sessions.close());
    for (const client of ['admin', 'manager-agent', 'legal-agent', 'finance-agent', 'u00002'])
      tokens[client] = await devToken(gateway, client);
    legal = await startTestAgent({
      natsUrl: nats.url,
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      role: 'legal',
      agentId: 'legal-agent',
      token: tokens['legal-agent']!,
      nkeySeedFile: nats.seedFile('agent-legal-agent'),
      behaviour: { kind: 'complete', result: { verdict: 'ok' } },
    });
    closers.push(() => legal.stop());
    proxyBus = await connectBus({
      url: nats.url,
      name: 'privacy-proxy',
      nkeySeedFile: nats.seedFile('privacy-proxy'),
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger: silentLogger,
    });
    closers.push(() => proxyBus.close());
  }, 120_000);

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await nats?.dispose();
    await ctx?.dispose();
  });

  it('runs a task through the gateway to an agent on its own credential and back, streaming its events', async () => {
    const events = await SseClient.open(gateway, '/v1/events?subject=mesh.v1.*', {
      token: tokens['manager-agent'],
    });
    try {
      await expectEventually(() => expect(events.initialId()).toBeDefined());
      const created = await api<Task>(gateway, 'POST', '/v1/tasks', {
        token: tokens['manager-agent'],
        body: { to: 'legal', type: 'secured-probe', input: { n: 1 } },
        headers: { 'idempotency-key': randomUUID() },
      });
      expect(created.status).toBe(202);
      await expectEventually(
        async () => {
          const task = await api<Task>(gateway, 'GET', `/v1/tasks/${created.body.id}`, {
            token: tokens['manager-agent'],
          });
          expect(task.body).toMatchObject({ state: 'completed', result: { verdict: 'ok' } });
        },
        { timeoutMs: 30_000 },
      );
      expect(legal.received.map((t) => t.id)).toContain(created.body.id);
      await expectEventually(() =>
        expect(
          events
            .events()
            .filter((e) => e.data.payload.task.id === created.body.id)
            .map((e) => e.event),
        ).toEqual(expect.arrayContaining(['mesh.v1.task-created', 'mesh.v1.task-updated'])),
      );
      // The sessions service follows the mesh through its durable on the MESH stream.
      await expectEventually(
        async () => {
          const list = await api<{ items: Session[] }>(gateway, 'GET', '/v1/sessions?agentId=legal-agent', {
            token: tokens['admin'],
          });
          expect(list.body.items.some((s) => s.status === 'completed')).toBe(true);
        },
        { timeoutMs: 30_000 },
      );
    } finally {
      await events.close();
    }
  }, 90_000);

  it("streams a person their approval's changes, the gateway asking the mesh on its own credential (issue 23)", async () => {
    const events = await SseClient.open(gateway, '/v1/events?subject=mesh.v1.*', { token: tokens['u00002'] });
    try {
      expect(events.status).toBe(200);
      await expectEventually(() => expect(events.initialId()).toBeDefined());
      const created = await api<Task>(gateway, 'POST', '/v1/approvals', {
        token: tokens['finance-agent'],
        body: { to: 'manager', subject: 'Secured approval probe', approver: 'user:u00002' },
      });
      expect(created.status).toBe(202);
      const decided = await api<Task>(gateway, 'POST', `/v1/tasks/${created.body.id}/decision`, {
        token: tokens['u00002'],
        body: { decision: 'approve' },
      });
      expect(decided.status).toBe(200);
      await expectEventually(() =>
        expect(events.events().some((e) => e.data.payload.change?.event === 'decide')).toBe(true),
      );
      expect(new Set(events.events().map((e) => e.data.payload.task.id))).toEqual(new Set([created.body.id]));
    } finally {
      await events.close();
    }
  }, 60_000);

  it('lets an SDK agent on its own credential hear and wait for the changes of the tasks it sent (ADR 0011)', async () => {
    const manager = await MeshAgent.connect({
      natsUrl: nats.url,
      nkeySeedFile: nats.seedFile('agent-manager-agent'),
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      credentials: {
        gatewayUrl: gateway.url,
        clientId: 'manager-agent',
        clientSecret: 'manager-agent-dev-secret',
      },
      agentId: 'manager-agent',
      logger: silentLogger,
    });
    closers.push(() => manager.stop());
    const refused: string[] = [];
    void (async () => {
      for await (const status of manager.bus.nc.status()) {
        if (status.type === 'error' && status.error instanceof PermissionViolationError)
          refused.push(`${status.error.operation} ${status.error.subject}`);
      }
    })();
    const heard: string[] = [];
    manager.onTaskUpdate((change) => heard.push(`${change.task.id}:${change.task.state}`));
    const sent = await manager.sendTask('legal', 'secured-sdk-probe', { n: 2 });
    const ended = await manager.waitForTask(sent.id, { timeoutMs: 30_000 });
    expect(ended).toMatchObject({ state: 'completed', result: { verdict: 'ok' } });
    // Heard on its own mesh.v1.updates.manager-agent, the only task changes its credential may see.
    await expectEventually(() => expect(heard).toContain(`${sent.id}:completed`));
    await manager.bus.nc.flush();
    expect(refused).toEqual([]);
  }, 60_000);

  it('keeps A2A push configs in its own stream and delivers them, on its own credential (STORE_ACCESS)', async () => {
    const hook = await startPushReceiver();
    closers.push(() => hook.close());
    const client = await a2aClient(gateway, tokens['manager-agent']!, '/a2a/legal-agent');
    // Without the stream's permissions the gateway starts without push and its cards say so.
    expect((await client.getAgentCard()).capabilities?.pushNotifications).toBe(true);
    const request = sendRequest(userMessage('Review, and tell my webhook'));
    request.configuration = {
      acceptedOutputModes: [],
      returnImmediately: true,
      taskPushNotificationConfig: {
        tenant: '',
        id: '',
        taskId: '',
        url: hook.url,
        token: 'secured-push',
        authentication: undefined,
      },
    };
    // The gateway started before the mesh router created MESH, so its push durable started a moment
    // after; it starts at the gateway's start, so a task the agent finished in that moment is pushed
    // too (ADR 0018) and one message suffices (it was sent up to three times before that fix).
    const completed = () =>
      hook.received.some((r) => JSON.stringify(r.body).includes('TASK_STATE_COMPLETED'));
    const task = asTask(await client.sendMessage(request));
    const configs = await client.listTaskPushNotificationConfig({
      tenant: '',
      taskId: task.id,
      pageSize: 10,
      pageToken: '',
    });
    expect(configs.configs).toEqual([expect.objectContaining({ taskId: task.id, url: hook.url })]);
    await expectEventually(() => expect(completed()).toBe(true), { timeoutMs: 30_000 });
    expect(completed()).toBe(true);
    expect(hook.received.every((r) => r.headers['x-a2a-notification-token'] === 'secured-push')).toBe(true);
  }, 60_000);

  it('creates and transitions a session through the gateway', async () => {
    const created = await api<Session>(gateway, 'POST', '/v1/sessions', {
      token: tokens['legal-agent'],
      body: { agentId: 'legal-agent', metadata: { probe: 'secured' } },
    });
    expect(created.status).toBe(201);
    const moved = await api<Session>(gateway, 'PUT', `/v1/sessions/${created.body.id}/events`, {
      token: tokens['legal-agent'],
      body: { event: 'activate' },
    });
    expect(moved.status).toBe(200);
    expect(moved.body.status).toBe('active');
  });

  it("lets the privacy proxy's registry reader read profiles, agents and the directory", async () => {
    const reader = new NatsRegistryReader(proxyBus, 5_000);
    const directory = await reader.getDirectory();
    expect(Array.isArray(directory?.people)).toBe(true);
    const agent = await reader.getAgent('legal-agent');
    expect(agent).toBeDefined();
    // Admins read it through the gateway on a subject of its own, verified at the registry.
    const users = await api(gateway, 'GET', '/v1/users', { token: tokens['admin'] });
    expect(users.status).toBe(200);
  });
});

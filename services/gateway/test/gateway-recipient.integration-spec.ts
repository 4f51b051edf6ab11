import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Task } from '@orgmesh/contracts';
import { createTestContext, type TestContext } from '@orgmesh/testing';
// The real registry (demo directory) and mesh router run in-process behind the gateway.
import * as grpc from '@grpc/grpc-js';
import type { GatewayApp } from '../src/gateway.app.js';
import { findProtoDir, loadGatewayProtos } from '../src/grpc/grpc.server.js';
import { api, devToken, startGatewayStack, type GatewayStack } from './gateway-harness.js';

/**
 * Issue 17, "addresses mean one thing": `POST /v1/tasks {"to":"accounts-payable-agent"}` was stored
 * as a task for a role named accounts-payable-agent, which that agent could not read. In the demo
 * registry accounts-payable-agent and treasury-agent act for finance, finance-agent too; finance
 * may send tasks to finance, legal only to legal.
 */
describe('gateway REST: a recipient is resolved against the real registry and stored as resolved', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let stack: GatewayStack;
  const tokens: Record<string, string> = {};
  const as = (client: string) => tokens[client] as string;
  let grpcMesh: grpc.Client & Record<string, Function>; // eslint-disable-line @typescript-eslint/no-unsafe-function-type

  beforeAll(async () => {
    ctx = await createTestContext();
    stack = await startGatewayStack(ctx, { sessions: false });
    gateway = stack.gateway;
    for (const client of [
      'admin',
      'finance-agent',
      'accounts-payable-agent',
      'treasury-agent',
      'manager-agent',
      'legal-agent',
    ])
      tokens[client] = await devToken(gateway, client);
    const loaded = grpc.loadPackageDefinition(loadGatewayProtos(findProtoDir())) as unknown as {
      orgmesh: {
        v1: { Mesh: new (address: string, credentials: grpc.ChannelCredentials) => typeof grpcMesh };
      };
    };
    grpcMesh = new loaded.orgmesh.v1.Mesh(`127.0.0.1:${gateway.grpcPort}`, grpc.credentials.createInsecure());
  });

  /** A unary Mesh call over gRPC as `sender`: the answer, or the ServiceError. */
  const grpcCall = (method: string, sender: string, request: unknown) =>
    new Promise<{ error: grpc.ServiceError | null; response: Task | undefined }>((resolve) => {
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${as(sender)}`);
      grpcMesh[method]?.(request, metadata, (error: grpc.ServiceError | null, response?: Task) =>
        resolve({ error, response }),
      );
    });

  afterAll(async () => {
    grpcMesh?.close();
    await stack?.close();
    await ctx?.dispose();
  });

  const send = (sender: string, to: unknown, contextId: string, path = '/v1/tasks') =>
    api<Task & { code?: string; issues?: Array<{ path: string; message: string }> }>(gateway, 'POST', path, {
      token: as(sender),
      body:
        path === '/v1/tasks'
          ? { to, type: 'pay-invoice', contextId }
          : path === '/v1/approvals'
            ? { to, subject: 'Supplier payment', contextId }
            : { to, message: 'Invoice paid', contextId },
    });
  const stored = async (contextId: string) =>
    (
      await api<{ items: Task[] }>(gateway, 'GET', `/v1/tasks?contextId=${contextId}&direction=any`, {
        token: as('admin'),
      })
    ).body.items;
  const read = (reader: string, id: string) =>
    api<Task>(gateway, 'GET', `/v1/tasks/${id}`, { token: as(reader) });

  it('stores "accounts-payable-agent" as that agent of finance, and that agent can read it', async () => {
    const contextId = `ap-${randomUUID()}`;
    const created = await send('finance-agent', 'accounts-payable-agent', contextId);
    expect(created.status).toBe(202);
    expect(created.body.to).toEqual({ role: 'finance', agentId: 'accounts-payable-agent' });

    const byAgent = await read('accounts-payable-agent', created.body.id);
    expect(byAgent.status).toBe(200);
    expect(byAgent.body.to).toEqual({ role: 'finance', agentId: 'accounts-payable-agent' });
    // One agent, not its role: another finance agent may not read it.
    expect((await read('treasury-agent', created.body.id)).status).toBe(403);
    expect((await stored(contextId)).map((t) => t.id)).toEqual([created.body.id]);
  });

  it('evaluates the policy for the agent: legal may not send finance a task by naming its agent', async () => {
    const contextId = `policy-${randomUUID()}`;
    const denied = await send('legal-agent', 'accounts-payable-agent', contextId);
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ code: 'policy_denied', to: 'accounts-payable-agent', from: 'legal' });
    // …and may send to a legal agent by its id, stored with the role the registry gives it.
    const allowed = await send('legal-agent', 'privacy-counsel-agent', contextId);
    expect(allowed.status).toBe(202);
    expect(allowed.body.to).toEqual({ role: 'legal', agentId: 'privacy-counsel-agent' });
    expect((await stored(contextId)).map((t) => t.id)).toEqual([allowed.body.id]);
  });

  it('resolves {agentId} the same way, for tasks, approvals and notifications', async () => {
    const contextId = `object-${randomUUID()}`;
    const task = await send('finance-agent', { agentId: 'accounts-payable-agent' }, contextId);
    expect(task.status).toBe(202);
    expect(task.body.to).toEqual({ role: 'finance', agentId: 'accounts-payable-agent' });
    expect((await read('accounts-payable-agent', task.body.id)).status).toBe(200);

    const approval = await send('finance-agent', 'manager-agent', contextId, '/v1/approvals');
    const note = await send('finance-agent', { agentId: 'manager-agent' }, contextId, '/v1/notifications');
    for (const created of [approval, note]) {
      expect(created.status).toBe(202);
      expect(created.body.to).toEqual({ role: 'manager', agentId: 'manager-agent' });
      expect((await read('manager-agent', created.body.id)).status).toBe(200);
    }
  });

  it('over gRPC, a Recipient with agent_id only is that agent of its role; an agent in role is refused', async () => {
    const contextId = `grpc-${randomUUID()}`;
    const sent = await grpcCall('SendTask', 'finance-agent', {
      to: { agentId: 'accounts-payable-agent' },
      type: 'pay-invoice',
      contextId,
    });
    expect(sent.error).toBeNull();
    // toMatchObject: the decoded message also carries proto3's synthetic `_agentId` oneof marker.
    expect(sent.response?.to).toMatchObject({ role: 'finance', agentId: 'accounts-payable-agent' });
    expect((await read('accounts-payable-agent', sent.response?.id as string)).status).toBe(200);

    const refused = await grpcCall('SendTask', 'finance-agent', {
      to: { role: 'accounts-payable-agent' },
      type: 'pay-invoice',
      contextId,
    });
    expect(refused.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((await stored(contextId)).map((t) => t.id)).toEqual([sent.response?.id]);
  });

  it('keeps a role string a role inbox any agent of the role may read', async () => {
    const created = await send('finance-agent', 'finance', `role-${randomUUID()}`);
    expect(created.status).toBe(202);
    expect(created.body.to).toEqual({ role: 'finance', agentId: null });
    expect((await read('treasury-agent', created.body.id)).status).toBe(200);
  });

  it('refuses {role: "legal", agentId: "finance-agent"} (not an agent of legal), storing nothing', async () => {
    const contextId = `wrong-role-${randomUUID()}`;
    const refused = await send(
      'accounts-payable-agent',
      { role: 'legal', agentId: 'finance-agent' },
      contextId,
    );
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      code: 'validation_failed',
      issues: [{ path: 'to.agentId', message: 'not an agent of role legal' }],
    });
    expect(await stored(contextId)).toEqual([]);
  });

  it('refuses a name that is neither an agent nor a role with 400 naming `to`, storing nothing', async () => {
    const contextId = `unknown-${randomUUID()}`;
    for (const [to, path] of [
      ['accounts-payable', 'to'],
      [{ agentId: 'accounts-payable' }, 'to.agentId'],
      [{ role: 'accounts-payable-agent' }, 'to.role'],
    ] as const) {
      const refused = await send('finance-agent', to, contextId);
      expect({
        to,
        status: refused.status,
        code: refused.body.code,
        path: refused.body.issues?.[0]?.path,
      }).toEqual({
        to,
        status: 400,
        code: 'validation_failed',
        path,
      });
    }
    // A misspelt key is refused by the contract rather than read as the whole role.
    const misspelt = await send(
      'finance-agent',
      { role: 'finance', agent_id: 'accounts-payable-agent' },
      contextId,
    );
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.code).toBe('validation_failed');
    expect(await stored(contextId)).toEqual([]);
  });
});

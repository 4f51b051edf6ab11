import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { TaskPushNotificationConfig } from '@a2a-js/sdk';
import { RequestMalformedError, TaskNotFoundError } from '@a2a-js/sdk/errors';
import type { Task } from '@orgmesh/contracts';
import { createTestContext, expectEventually, type TestContext } from '@orgmesh/testing';
import type { GatewayApp } from '../src/gateway.app.js';
import { api, devToken } from './gateway-harness.js';
import {
  a2aClient,
  asTask,
  sendRequest,
  startA2AStack,
  startPushReceiver,
  userMessage,
} from './a2a-harness.js';

function pushConfig(
  url: string,
  extra: Partial<TaskPushNotificationConfig> = {},
): TaskPushNotificationConfig {
  return { tenant: '', id: '', taskId: '', url, token: '', authentication: undefined, ...extra };
}

/** The A2A state names of the pushed bodies (`statusUpdate`), and `artifact` for artifact updates. */
function pushedKinds(bodies: unknown[]): string[] {
  return bodies.map((body) => {
    const b = body as { statusUpdate?: { status?: { state?: string } }; artifactUpdate?: unknown };
    return b.statusUpdate ? (b.statusUpdate.status?.state ?? '?') : b.artifactUpdate ? 'artifact' : '?';
  });
}

describe('A2A push notifications (durable configs, at-least-once delivery, SSRF checks)', () => {
  let ctx: TestContext;
  let stack: Awaited<ReturnType<typeof startA2AStack>>;
  let gateway: GatewayApp;
  const tokens: Record<string, string> = {};
  const as = (client: string) => tokens[client] as string;
  const receivers: Array<{ close(): Promise<void> }> = [];
  const receiver = async (options?: { failFirst?: number }) => {
    const r = await startPushReceiver(options);
    receivers.push(r);
    return r;
  };
  const update = async (id: string, body: Record<string, unknown>) => {
    const res = await api<Task>(gateway, 'POST', `/v1/tasks/${id}/updates`, {
      token: as('legal-agent'),
      body,
    });
    expect(res.status).toBe(200);
  };

  beforeAll(async () => {
    ctx = await createTestContext();
    // Only the receivers' own address is allowed, exactly: other loopback addresses stay refused.
    stack = await startA2AStack(ctx, { GATEWAY_A2A_PUSH_ALLOW: '127.0.0.1' });
    gateway = stack.gateway;
    for (const client of ['manager-agent', 'legal-agent', 'admin'])
      tokens[client] = await devToken(gateway, client);
  });

  afterAll(async () => {
    await stack?.close();
    await Promise.all(receivers.map((r) => r.close()));
    await ctx?.dispose();
  });

  it('pushes every change of the task in order, with the configured Authorization and token', async () => {
    const hook = await receiver();
    const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
    expect((await client.getAgentCard()).capabilities?.pushNotifications).toBe(true);
    const request = sendRequest(userMessage('Review and tell my webhook'));
    request.configuration = {
      acceptedOutputModes: [],
      returnImmediately: true,
      taskPushNotificationConfig: pushConfig(hook.url, {
        token: 'notification-token-1',
        authentication: { scheme: 'Bearer', credentials: 'receiver-secret' },
      }),
    };
    const task = asTask(await client.sendMessage(request));
    const configs = await client.listTaskPushNotificationConfig({
      tenant: '',
      taskId: task.id,
      pageSize: 10,
      pageToken: '',
    });
    expect(configs.configs).toEqual([expect.objectContaining({ taskId: task.id, url: hook.url })]);

    await update(task.id, { state: 'working' });
    await update(task.id, { state: 'completed', result: { verdict: 'compliant' } });
    await expectEventually(() => expect(hook.received).toHaveLength(3));
    expect(pushedKinds(hook.received.map((r) => r.body))).toEqual([
      'TASK_STATE_WORKING',
      'artifact',
      'TASK_STATE_COMPLETED',
    ]);
    for (const { headers, body } of hook.received) {
      expect(headers['authorization']).toBe('Bearer receiver-secret');
      expect(headers['x-a2a-notification-token']).toBe('notification-token-1');
      expect(headers['content-type']).toBe('application/a2a+json');
      expect(JSON.stringify(body)).toContain(task.id);
    }
  });

  it('creates, reads, lists and deletes a config of an existing task; another caller sees none of it', async () => {
    const hook = await receiver();
    const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
    const task = asTask(await client.sendMessage(sendRequest(userMessage('configure me later'))));
    const created = await client.createTaskPushNotificationConfig(
      pushConfig(hook.url, { taskId: task.id, id: 'cfg-1' }),
    );
    expect(created).toMatchObject({ id: 'cfg-1', taskId: task.id, url: hook.url });
    expect(
      await client.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'cfg-1' }),
    ).toMatchObject({
      id: 'cfg-1',
    });
    // The admin may see the task, but the config is the manager's.
    const admin = await a2aClient(gateway, as('admin'), '/a2a/legal-agent');
    const theirs = await admin.listTaskPushNotificationConfig({
      tenant: '',
      taskId: task.id,
      pageSize: 10,
      pageToken: '',
    });
    expect(theirs.configs).toEqual([]);
    await expect(
      admin.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'cfg-1' }),
    ).rejects.toBeInstanceOf(TaskNotFoundError);

    await update(task.id, { state: 'working' });
    await expectEventually(() => expect(hook.received).toHaveLength(1));
    await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'cfg-1' });
    await expect(
      client.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'cfg-1' }),
    ).rejects.toBeInstanceOf(TaskNotFoundError);
    // After the delete, a later change reaches no one: a second task's change proves the dispatcher moved past it.
    const probe = await receiver();
    const other = asTask(await client.sendMessage(sendRequest(userMessage('probe'))));
    await client.createTaskPushNotificationConfig(pushConfig(probe.url, { taskId: other.id }));
    await update(task.id, { state: 'completed', result: 'done' });
    await update(other.id, { state: 'working' });
    await expectEventually(() => expect(probe.received).toHaveLength(1));
    expect(hook.received).toHaveLength(1);
  });

  it('retries a failing receiver with backoff until it takes the change; one that keeps failing is marked failing', async () => {
    const flaky = await receiver({ failFirst: 2 });
    const dead = await receiver();
    dead.failing.value = true;
    const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
    const task = asTask(await client.sendMessage(sendRequest(userMessage('deliver despite failures'))));
    await client.createTaskPushNotificationConfig(pushConfig(flaky.url, { taskId: task.id, id: 'flaky' }));
    await client.createTaskPushNotificationConfig(pushConfig(dead.url, { taskId: task.id, id: 'dead' }));

    await update(task.id, { state: 'working' });
    await expectEventually(() => expect(flaky.received).toHaveLength(1), { timeoutMs: 15_000 });
    expect(flaky.attempts()).toBe(3);
    // Six attempts (0.2 s … 3.2 s apart), then the config is failing: visible as a metric and no more attempts.
    await expectEventually(() => expect(dead.attempts()).toBe(6), { timeoutMs: 15_000 });
    await expectEventually(async () => {
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      expect(metrics).toMatch(/orgmesh_gateway_a2a_push_configs_failed_total\S* 1/);
    });
    dead.failing.value = false;
    await update(task.id, { state: 'completed', result: 'ok' });
    await expectEventually(() => expect(flaky.received).toHaveLength(3));
    expect(dead.attempts()).toBe(6);
    expect(dead.received).toHaveLength(0);
  }, 40_000);

  it('refuses callbacks to loopback, private and link-local addresses unless allow-listed, and then creates nothing', async () => {
    const client = await a2aClient(gateway, as('manager-agent'), '/a2a/legal-agent');
    const task = asTask(await client.sendMessage(sendRequest(userMessage('where may you call?'))));
    const refused: Array<[string, RegExp]> = [
      ['http://127.0.0.2:9/hook', /loopback/],
      ['http://[::1]:9/hook', /loopback/],
      ['http://10.1.2.3/hook', /private/],
      ['http://192.168.0.7/hook', /private/],
      ['http://169.254.169.254/latest/meta-data', /link-local/],
      ['http://user:secret@127.0.0.1:9/hook', /credentials/],
      ['file:///etc/passwd', /http or https/],
      ['not a url', /not a URL/],
    ];
    for (const [url, reason] of refused) {
      const error = await client
        .createTaskPushNotificationConfig(pushConfig(url, { taskId: task.id }))
        .catch((e: unknown) => e);
      expect({ url, refused: error instanceof RequestMalformedError }).toEqual({ url, refused: true });
      expect((error as Error).message).toMatch(reason);
    }
    const none = await client.listTaskPushNotificationConfig({
      tenant: '',
      taskId: task.id,
      pageSize: 10,
      pageToken: '',
    });
    expect(none.configs).toEqual([]);

    // A message whose push URL is refused creates no task.
    const contextId = `refused-${randomUUID()}`;
    const request = sendRequest(userMessage('never sent', { contextId }));
    request.configuration = {
      acceptedOutputModes: [],
      returnImmediately: true,
      taskPushNotificationConfig: pushConfig('http://10.0.0.1/hook'),
    };
    await expect(client.sendMessage(request)).rejects.toBeInstanceOf(RequestMalformedError);
    const listed = await api(gateway, 'GET', `/v1/tasks?contextId=${contextId}`, {
      token: as('manager-agent'),
    });
    expect(listed.body.items).toEqual([]);
  });
});

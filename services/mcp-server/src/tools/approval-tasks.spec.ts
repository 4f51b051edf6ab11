import { describe, expect, it } from '@jest/globals';
import type { Task } from '@orgmesh/contracts';
import { GatewayClient } from '../gateway/gateway.client.js';
import { StaticTokenSource } from '../gateway/token.provider.js';
import {
  approvalProgress,
  approvalResult,
  inlineTask,
  mcpStatusOf,
  MeshTaskStore,
  toMcpTask,
  type ApprovalProgressNotification,
} from './approval-tasks.js';
import { toolFailure } from './tool-result.js';
import { GatewayError } from '../gateway/gateway.errors.js';

const approval = (state: Task['state'], extra: Partial<Task> = {}): Task =>
  ({
    id: '0b6f0d3e-6c1f-4c55-9d51-6f3f3f1b2a10',
    kind: 'approval',
    from: { agentId: 'finance-agent', role: 'finance' },
    to: { role: 'manager', agentId: null },
    state,
    reason: null,
    decision: null,
    createdAt: '2026-12-06T10:00:00.000Z',
    updatedAt: '2026-12-06T10:05:00.000Z',
    ...extra,
  }) as Task;

/** A store whose gateway is never reached: the inline ids answer without it. */
const offline = new MeshTaskStore({
  gateway: new GatewayClient({ gatewayUrl: 'http://127.0.0.1:9', tokens: new StaticTokenSource('t') }),
  callerRole: async () => 'finance',
  pollIntervalMs: 250,
});

describe('approvals as MCP tasks', () => {
  it('maps the mesh states to the requester’s task status', () => {
    expect(
      (
        ['submitted', 'working', 'input-required', 'completed', 'rejected', 'failed', 'canceled'] as const
      ).map((state) => mcpStatusOf({ state })),
    ).toEqual(['working', 'working', 'working', 'completed', 'completed', 'failed', 'cancelled']);
  });

  it('is the mesh task: same id and timestamps, ttl null, the poll interval advertised', () => {
    expect(toMcpTask(approval('submitted'), 250)).toEqual({
      taskId: '0b6f0d3e-6c1f-4c55-9d51-6f3f3f1b2a10',
      status: 'working',
      statusMessage: 'submitted: waiting for manager to decide',
      createdAt: '2026-12-06T10:00:00.000Z',
      lastUpdatedAt: '2026-12-06T10:05:00.000Z',
      ttl: null,
      pollInterval: 250,
    });
  });

  it('answers a mesh failure as a tool error with its own code, a decision as a result', () => {
    const failed = approvalResult(approval('failed', { reason: 'deadline_exceeded' }));
    expect(failed.isError).toBe(true);
    expect(failed.content[0]).toMatchObject({
      text: expect.stringMatching(/^approval_failed: .*deadline_exceeded/),
    });
    const decided = approvalResult(
      approval('completed', {
        decision: {
          decision: 'reject',
          comment: null,
          decidedBy: { agentId: 'manager-agent', role: 'manager' },
          decidedAt: '2026-12-06T10:05:00.000Z',
        },
      }),
    );
    expect(decided.isError).toBeUndefined();
    expect(decided.structuredContent).toMatchObject({ decision: { decision: 'reject' } });
  });

  it('an inline task carries its result in its id, readable by any store without the mesh', async () => {
    const refusal = toolFailure(new GatewayError('policy_denied', 'finance may not ask legal', 403));
    const task = inlineTask(refusal, new Date('2026-12-06T10:00:00Z'));
    expect(task).toMatchObject({
      status: 'failed',
      statusMessage: 'policy_denied: finance may not ask legal',
    });
    expect(await offline.getTask(task.taskId)).toEqual(task);
    expect(await offline.getTaskResult(task.taskId)).toEqual(refusal);
    // A forged or damaged id is no task, and is never sent to the gateway.
    expect(await offline.getTask('inline.bm90IGpzb24')).toBeNull();
    expect(await offline.getTask('not-a-uuid')).toBeNull();
  });
});

describe('approvalProgress', () => {
  it('sends nothing for a call without a progress token', () => {
    expect(approvalProgress(undefined, async () => undefined)).toBeUndefined();
  });

  it('sends each step as notifications/progress naming the approval, its state and whom it waits for', async () => {
    const sent: ApprovalProgressNotification[] = [];
    const onProgress = approvalProgress('tok-1', async (notification) => void sent.push(notification));
    await onProgress?.(approval('submitted'), 1);
    await onProgress?.(approval('working', { to: { role: 'manager', agentId: 'manager-agent' } }), 2);
    expect(sent).toEqual([
      {
        method: 'notifications/progress',
        params: {
          progressToken: 'tok-1',
          progress: 1,
          message: 'approval 0b6f0d3e-6c1f-4c55-9d51-6f3f3f1b2a10: submitted, waiting for manager',
        },
      },
      {
        method: 'notifications/progress',
        params: {
          progressToken: 'tok-1',
          progress: 2,
          message: 'approval 0b6f0d3e-6c1f-4c55-9d51-6f3f3f1b2a10: working, waiting for manager-agent',
        },
      },
    ]);
  });
});

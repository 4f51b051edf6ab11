import { describe, expect, it } from '@jest/globals';
import { TaskState, type Part, type Task as A2ATask } from '@a2a-js/sdk';
import type { Task as MeshTask } from '@orgmesh/contracts';
import { continuationInput, outcomeOf, requestFor, textOf } from './a2a-mapping.js';

const text = (value: string): Part => ({
  content: { $case: 'text', value },
  metadata: undefined,
  filename: '',
  mediaType: 'text/plain',
});
const data = (value: unknown): Part => ({
  content: { $case: 'data', value },
  metadata: undefined,
  filename: '',
  mediaType: 'application/json',
});

function remoteTask(state: TaskState, said?: string, artifacts: Part[][] = []): A2ATask {
  return {
    id: 'remote-1',
    contextId: 'ctx-remote',
    status: {
      state,
      message: said
        ? {
            messageId: 'm',
            contextId: '',
            taskId: '',
            role: 2,
            parts: [text(said)],
            metadata: undefined,
            extensions: [],
            referenceTaskIds: [],
          }
        : undefined,
      timestamp: undefined,
    },
    artifacts: artifacts.map((parts, i) => ({
      artifactId: `a${i}`,
      name: '',
      description: '',
      parts,
      metadata: undefined,
      extensions: [],
    })),
    history: [],
    metadata: undefined,
  };
}

function meshTask(input: MeshTask['input']): MeshTask {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    kind: 'task',
    from: { agentId: 'manager-agent', role: 'manager' },
    to: { role: 'legal', agentId: null },
    type: 'sox-review',
    input,
    contextId: 'ctx-1',
    deadline: '2030-01-01T00:00:00.000Z',
  } as unknown as MeshTask;
}

describe('A2A → mesh outcome', () => {
  it('maps every remote state: running, interrupted (with the question), ended (with the reason)', () => {
    expect(outcomeOf(remoteTask(TaskState.TASK_STATE_SUBMITTED), 'Counsel')).toEqual({ kind: 'running' });
    expect(outcomeOf(remoteTask(TaskState.TASK_STATE_WORKING), 'Counsel')).toEqual({ kind: 'running' });
    expect(outcomeOf(remoteTask(TaskState.TASK_STATE_INPUT_REQUIRED, 'Which amount?'), 'Counsel')).toEqual({
      kind: 'input-required',
      reason: 'Counsel asks: Which amount?',
    });
    expect(outcomeOf(remoteTask(TaskState.TASK_STATE_AUTH_REQUIRED), 'Counsel')).toEqual({
      kind: 'input-required',
      reason: 'Counsel needs authorization',
    });
    expect(outcomeOf(remoteTask(TaskState.TASK_STATE_FAILED, 'no jurisdiction'), 'Counsel')).toEqual({
      kind: 'failed',
      reason: 'Counsel failed the task: no jurisdiction',
    });
    expect(outcomeOf(remoteTask(TaskState.TASK_STATE_REJECTED), 'Counsel')).toEqual({
      kind: 'rejected',
      reason: 'Counsel rejected the task',
    });
    expect(outcomeOf(remoteTask(TaskState.TASK_STATE_CANCELED), 'Counsel')).toEqual({
      kind: 'failed',
      reason: 'Counsel canceled the task',
    });
  });

  it('a completed task: the artifacts are the answer (text and data), else its final status message', () => {
    expect(
      outcomeOf(
        remoteTask(TaskState.TASK_STATE_COMPLETED, 'done', [
          [text('Approve.'), data({ rule: 'SOX 404' })],
          [text('Cite 404.')],
        ]),
        'Counsel',
      ),
    ).toEqual({
      kind: 'completed',
      result: {
        text: 'Approve.\nCite 404.',
        data: [{ rule: 'SOX 404' }],
        a2a: { agent: 'Counsel', taskId: 'remote-1', contextId: 'ctx-remote' },
      },
    });
    expect(outcomeOf(remoteTask(TaskState.TASK_STATE_COMPLETED, 'Approve.'), 'Counsel')).toEqual({
      kind: 'completed',
      result: { text: 'Approve.', a2a: { agent: 'Counsel', taskId: 'remote-1', contextId: 'ctx-remote' } },
    });
  });
});

describe('mesh task → A2A message', () => {
  it("sends input.text (or a string input, or the input's JSON) as text, the input as data, the mesh ids as metadata", () => {
    const structured = requestFor(meshTask({ text: 'Compliant?', amount: 5 }));
    expect(structured.message?.messageId).toBe('00000000-0000-4000-8000-000000000001');
    expect(textOf(structured.message?.parts ?? [])).toBe('Compliant?');
    expect(structured.message?.parts[1]?.content).toEqual({
      $case: 'data',
      value: { text: 'Compliant?', amount: 5 },
    });
    expect(structured.message?.metadata).toEqual({
      orgmesh: {
        taskId: '00000000-0000-4000-8000-000000000001',
        contextId: 'ctx-1',
        type: 'sox-review',
        fromRole: 'manager',
        deadline: '2030-01-01T00:00:00.000Z',
      },
    });
    expect(structured.configuration?.returnImmediately).toBe(false);

    const plain = requestFor(meshTask('Is this compliant?'));
    expect(textOf(plain.message?.parts ?? [])).toBe('Is this compliant?');
    expect(plain.message?.parts).toHaveLength(1);

    expect(textOf(requestFor(meshTask({ amount: 5 })).message?.parts ?? [])).toBe('{"amount":5}');
    expect(textOf(requestFor(meshTask(null)).message?.parts ?? [])).toBe('null');
  });

  it('continues the remote task on a later turn: its task and context ids, a message id of the turn', () => {
    const task = { ...meshTask({ text: 'It is $40,000.', amount: 40_000 }), version: 4 };
    const continued = requestFor(task, { taskId: 'remote-1', contextId: 'ctx-remote' });
    expect(continued.message).toMatchObject({
      taskId: 'remote-1',
      contextId: 'ctx-remote',
      messageId: '00000000-0000-4000-8000-000000000001@v4',
    });
    expect(textOf(continued.message?.parts ?? [])).toBe('It is $40,000.');
    const first = requestFor(task);
    expect(first.message).toMatchObject({ taskId: '', contextId: '', messageId: task.id });
  });

  it("sends a continuation without an A2A sender's earlier messages (the remote task has them)", () => {
    const input = {
      text: 'It is $40,000.',
      a2a: { message: { messageId: 'm2' }, earlier: [{ messageId: 'm1' }] },
    };
    expect(continuationInput(input)).toEqual({
      text: 'It is $40,000.',
      a2a: { message: { messageId: 'm2' } },
    });
    expect(continuationInput({ amount: 5 })).toEqual({ amount: 5 });
    expect(continuationInput('yes')).toBe('yes');
  });
});

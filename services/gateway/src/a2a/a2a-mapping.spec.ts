import { describe, expect, it } from '@jest/globals';
import { Message, Role, TaskState as A2AState } from '@a2a-js/sdk';
import { TASK_STATES, type Task } from '@orgmesh/contracts';
import {
  a2aStateOf,
  changeEvents,
  idempotencyKeyOf,
  isFinalOrInterrupted,
  meshInputOf,
  meshStateOf,
  textPart,
  toA2ATask,
} from './a2a-mapping.js';

const NOW = '2026-12-06T10:00:00.000Z';

function meshTask(overrides: Partial<Task> = {}): Task {
  return {
    id: '6f1c1f5e-1b7a-4f43-9d8e-0d0b7f6f2a11',
    kind: 'task',
    from: { agentId: 'manager-agent', role: 'manager' },
    to: { role: 'legal', agentId: 'legal-agent' },
    assignee: null,
    type: 'a2a-message',
    subject: null,
    input: null,
    details: null,
    message: null,
    priority: 'normal',
    state: 'submitted',
    reason: null,
    contextId: 'ctx-1',
    deadline: NOW,
    escalateAt: null,
    result: null,
    decision: null,
    escalatedTo: null,
    escalatedAt: null,
    version: 1,
    createdAt: NOW,
    updatedAt: NOW,
    ...overrides,
  };
}

const userMessage: Message = {
  messageId: 'm-1',
  contextId: '',
  taskId: '',
  role: Role.ROLE_USER,
  parts: [textPart('Is this SOX compliant?'), textPart('Contract c-42.')],
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
};

describe('A2A ↔ mesh mapping', () => {
  it('maps every mesh state to its A2A state and back', () => {
    const expected: Record<string, A2AState> = {
      submitted: A2AState.TASK_STATE_SUBMITTED,
      working: A2AState.TASK_STATE_WORKING,
      'input-required': A2AState.TASK_STATE_INPUT_REQUIRED,
      completed: A2AState.TASK_STATE_COMPLETED,
      failed: A2AState.TASK_STATE_FAILED,
      canceled: A2AState.TASK_STATE_CANCELED,
      rejected: A2AState.TASK_STATE_REJECTED,
    };
    for (const state of TASK_STATES) {
      expect(a2aStateOf({ kind: 'task', state })).toBe(expected[state]);
      expect(meshStateOf(expected[state] as A2AState)).toBe(state);
    }
    expect(meshStateOf(A2AState.TASK_STATE_UNSPECIFIED)).toBeUndefined();
    expect(meshStateOf(A2AState.TASK_STATE_AUTH_REQUIRED)).toBeUndefined();
  });

  it('shows an undecided approval as INPUT_REQUIRED, a decided one as its outcome', () => {
    expect(a2aStateOf({ kind: 'approval', state: 'submitted' })).toBe(A2AState.TASK_STATE_INPUT_REQUIRED);
    expect(isFinalOrInterrupted({ kind: 'approval', state: 'submitted' })).toBe(true);
    expect(a2aStateOf({ kind: 'approval', state: 'completed' })).toBe(A2AState.TASK_STATE_COMPLETED);
    expect(isFinalOrInterrupted({ kind: 'task', state: 'working' })).toBe(false);
  });

  it('round-trips the A2A message through the mesh input: the history shows the message as sent', () => {
    const input = meshInputOf(userMessage);
    expect(input.text).toBe('Is this SOX compliant?\nContract c-42.');
    const task = toA2ATask(meshTask({ input: JSON.parse(JSON.stringify(input)) }));
    expect(task.history).toHaveLength(1);
    expect(Message.toJSON(task.history[0] as Message)).toEqual(Message.toJSON(userMessage));
    expect(toA2ATask(meshTask({ input: JSON.parse(JSON.stringify(input)) }), 0).history).toEqual([]);
  });

  it('shows a task created over REST with its input as a data part, and its result as the artifact', () => {
    const task = toA2ATask(
      meshTask({ input: { contract: 'c-42' }, state: 'completed', result: { verdict: 'ok' }, version: 3 }),
    );
    expect(task.history[0]?.parts[0]?.content).toEqual({ $case: 'data', value: { contract: 'c-42' } });
    expect(task.artifacts).toHaveLength(1);
    expect(task.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'data', value: { verdict: 'ok' } });
    expect(task.metadata?.['orgmesh']).toMatchObject({ kind: 'task', version: 3, type: 'a2a-message' });
  });

  it('puts the reason in the status message and emits the artifact before the final status', () => {
    const events = changeEvents(
      meshTask({ state: 'completed', result: 'approved', reason: 'done', version: 4 }),
    );
    expect(events.map((e) => e.payload?.$case)).toEqual(['artifactUpdate', 'statusUpdate']);
    const status = events[1]?.payload;
    if (status?.$case !== 'statusUpdate') throw new Error('expected a status update');
    expect(status.value.status?.state).toBe(A2AState.TASK_STATE_COMPLETED);
    expect(status.value.status?.message?.parts[0]?.content).toEqual({ $case: 'text', value: 'done' });
    expect(changeEvents(meshTask({ state: 'working' })).map((e) => e.payload?.$case)).toEqual([
      'statusUpdate',
    ]);
  });

  it('derives a valid, stable idempotency key from any messageId', () => {
    const key = idempotencyKeyOf('message id with spaces and ünïcödé'.repeat(20));
    expect(key).toMatch(/^[\x21-\x7e]{1,200}$/);
    expect(idempotencyKeyOf('a')).toBe(idempotencyKeyOf('a'));
    expect(idempotencyKeyOf('a')).not.toBe(idempotencyKeyOf('b'));
  });
});

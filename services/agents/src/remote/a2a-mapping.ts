import {
  Role,
  TaskState as A2AState,
  type Artifact,
  type Message as A2AMessage,
  type Part,
  type SendMessageRequest,
  type Task as A2ATask,
} from '@a2a-js/sdk';
import type { Task as MeshTask } from '@orgmesh/contracts';

/**
 * What a remote A2A task's state means for the mesh task it serves (the reverse of the gateway's
 * mesh → A2A mapping, ADR 0018; the mesh names its states as A2A does):
 * - `running`: still going (submitted, working): wait for more;
 * - `input-required` / `auth-required`: the remote agent waits for someone; the mesh task becomes
 *   `input-required` with the agent's question as its reason (the mesh has no way to answer it, so
 *   the mesh's deadline and escalation take it from there);
 * - `completed` / `failed` / `rejected` / `canceled`: the end.
 */
export type RemoteOutcome =
  | { kind: 'running' }
  | { kind: 'input-required'; reason: string }
  | { kind: 'completed'; result: RemoteResult }
  | { kind: 'failed'; reason: string }
  | { kind: 'rejected'; reason: string };

/** The mesh task's result for a remote answer: its text, its structured parts, and where it came from. */
export interface RemoteResult {
  [key: string]: unknown;
  text: string;
  data?: unknown[];
  a2a: { agent: string; taskId: string | null; contextId: string | null };
}

export function outcomeOf(task: A2ATask, agentName: string): RemoteOutcome {
  const state = task.status?.state ?? A2AState.TASK_STATE_UNSPECIFIED;
  const said = textOf(task.status?.message?.parts ?? []);
  switch (state) {
    case A2AState.TASK_STATE_COMPLETED:
      return { kind: 'completed', result: resultOf(task, agentName) };
    case A2AState.TASK_STATE_INPUT_REQUIRED:
      return { kind: 'input-required', reason: clip(`${agentName} asks: ${said || 'more input'}`) };
    case A2AState.TASK_STATE_AUTH_REQUIRED:
      return {
        kind: 'input-required',
        reason: clip(`${agentName} needs authorization${said ? `: ${said}` : ''}`),
      };
    case A2AState.TASK_STATE_FAILED:
      return { kind: 'failed', reason: clip(`${agentName} failed the task${said ? `: ${said}` : ''}`) };
    case A2AState.TASK_STATE_REJECTED:
      return { kind: 'rejected', reason: clip(`${agentName} rejected the task${said ? `: ${said}` : ''}`) };
    case A2AState.TASK_STATE_CANCELED:
      return { kind: 'failed', reason: clip(`${agentName} canceled the task${said ? `: ${said}` : ''}`) };
    default:
      return { kind: 'running' };
  }
}

/** A direct answer (a Message instead of a task) completes the mesh task with it. */
export function messageResult(message: A2AMessage, agentName: string): RemoteResult {
  const data = dataOf(message.parts);
  return {
    text: textOf(message.parts),
    ...(data.length ? { data } : {}),
    a2a: { agent: agentName, taskId: message.taskId || null, contextId: message.contextId || null },
  };
}

function resultOf(task: A2ATask, agentName: string): RemoteResult {
  const parts = task.artifacts.flatMap((a: Artifact) => a.parts);
  // An agent that answers in its final status message rather than an artifact is read there.
  const source = parts.length ? parts : (task.status?.message?.parts ?? []);
  const data = dataOf(source);
  return {
    text: textOf(source),
    ...(data.length ? { data } : {}),
    a2a: { agent: agentName, taskId: task.id, contextId: task.contextId || null },
  };
}

/**
 * The A2A message a mesh task becomes: its input's text (`input.text` when the sender gave one, as
 * the gateway's A2A tasks do, a string input as is, anything else as JSON), the input itself as a
 * data part, and the mesh's identifiers in `metadata.orgmesh`. The message id is the mesh task's id:
 * a redelivery of the task sends the same message id, which an agent that dedupes recognises.
 *
 * A later turn (the sender added input, the remote agent had asked for it) continues the remote
 * task: its `taskId` and `contextId`, and `<mesh task id>@v<version>` as the message id.
 */
export function requestFor(task: MeshTask, continuing?: RemoteTaskRef): SendMessageRequest {
  const input = task.input;
  const text =
    typeof input === 'string'
      ? input
      : isRecord(input) && typeof input['text'] === 'string'
        ? input['text']
        : JSON.stringify(input ?? null);
  const parts: Part[] = [
    { content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' },
  ];
  if (input !== null && typeof input !== 'string')
    parts.push({
      content: { $case: 'data', value: input },
      metadata: undefined,
      filename: '',
      mediaType: 'application/json',
    });
  return {
    tenant: '',
    message: {
      messageId: continuing ? `${task.id}@v${task.version}` : task.id,
      contextId: continuing?.contextId ?? '',
      taskId: continuing?.taskId ?? '',
      role: Role.ROLE_USER,
      parts,
      metadata: {
        orgmesh: {
          taskId: task.id,
          contextId: task.contextId,
          type: task.type,
          fromRole: task.from.role,
          deadline: task.deadline,
        },
      },
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: {
      acceptedOutputModes: [],
      taskPushNotificationConfig: undefined,
      returnImmediately: false,
    },
    metadata: undefined,
  };
}

/** The remote task a mesh task's next turn continues. */
export interface RemoteTaskRef {
  taskId: string;
  contextId: string;
}

/**
 * What a continuation sends: the turn's input, without an A2A sender's earlier messages
 * (`a2a.earlier`, which the gateway keeps in the input): the remote task has those turns already.
 */
export function continuationInput(input: unknown): unknown {
  if (!isRecord(input) || !isRecord(input['a2a']) || !('earlier' in input['a2a'])) return input;
  const { earlier: _earlier, ...a2a } = input['a2a'];
  return { ...input, a2a };
}

export function textOf(parts: readonly Part[]): string {
  return parts
    .flatMap((p) => (p.content?.$case === 'text' ? [p.content.value] : []))
    .join('\n')
    .trim();
}

function dataOf(parts: readonly Part[]): unknown[] {
  // Through JSON: the mesh stores results as JSON, and a remote value may hold what JSON cannot.
  return parts.flatMap((p) =>
    p.content?.$case === 'data' && p.content.value !== undefined
      ? [JSON.parse(JSON.stringify(p.content.value)) as unknown]
      : [],
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clip(text: string): string {
  return text.length > 2000 ? `${text.slice(0, 1999)}…` : text;
}

import { createHash } from 'node:crypto';
import {
  Message as A2AMessageCodec,
  Role,
  TaskState as A2AState,
  type Artifact,
  type Message as A2AMessage,
  type Part,
  type StreamResponse,
  type Task as A2ATask,
  type TaskStatus,
} from '@a2a-js/sdk';
import { TERMINAL_TASK_STATES, type Task as MeshTask, type TaskState } from '@orgmesh/contracts';

/**
 * The A2A task *is* the mesh task: same id, same context id, its state mapped one to one (the mesh
 * names its states as A2A does). An approval that waits for a decision is `INPUT_REQUIRED`: someone
 * other than the agent has to answer before it can go on.
 */
const STATES: Record<TaskState, A2AState> = {
  submitted: A2AState.TASK_STATE_SUBMITTED,
  working: A2AState.TASK_STATE_WORKING,
  'input-required': A2AState.TASK_STATE_INPUT_REQUIRED,
  completed: A2AState.TASK_STATE_COMPLETED,
  failed: A2AState.TASK_STATE_FAILED,
  canceled: A2AState.TASK_STATE_CANCELED,
  rejected: A2AState.TASK_STATE_REJECTED,
};

/** The mesh state an A2A `ListTasks` status filter names (undefined: no filter, or none the mesh has). */
export function meshStateOf(state: A2AState): TaskState | undefined {
  if (state === A2AState.TASK_STATE_UNSPECIFIED) return undefined;
  return (Object.entries(STATES) as Array<[TaskState, A2AState]>).find(([, a]) => a === state)?.[0];
}

export function a2aStateOf(task: Pick<MeshTask, 'kind' | 'state'>): A2AState {
  if (task.kind === 'approval' && (task.state === 'submitted' || task.state === 'working')) {
    return A2AState.TASK_STATE_INPUT_REQUIRED;
  }
  return STATES[task.state];
}

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_TASK_STATES.includes(state);
}

/** Where a blocking send or a `SendStreamingMessage` stream stops: a terminal or an interrupted state. */
export function isFinalOrInterrupted(task: Pick<MeshTask, 'kind' | 'state'>): boolean {
  return isTerminal(task.state) || a2aStateOf(task) === A2AState.TASK_STATE_INPUT_REQUIRED;
}

export function textPart(text: string): Part {
  return {
    content: { $case: 'text', value: text },
    metadata: undefined,
    filename: '',
    mediaType: 'text/plain',
  };
}

export function dataPart(value: unknown): Part {
  return {
    content: { $case: 'data', value },
    metadata: undefined,
    filename: '',
    mediaType: 'application/json',
  };
}

function agentMessage(task: MeshTask, parts: Part[], suffix: string): A2AMessage {
  return {
    // Derived, so the same status has the same message id on every replica and every read.
    messageId: `${task.id}:${suffix}`,
    contextId: task.contextId,
    taskId: task.id,
    role: Role.ROLE_AGENT,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

export function statusOf(task: MeshTask): TaskStatus {
  return {
    state: a2aStateOf(task),
    message: task.reason ? agentMessage(task, [textPart(task.reason)], `v${task.version}`) : undefined,
    timestamp: task.updatedAt,
  };
}

/** A completed task's result (or an approval's decision) as its one artifact. */
export function artifactsOf(task: MeshTask): Artifact[] {
  if (task.state !== 'completed') return [];
  const value = task.kind === 'approval' ? task.decision : task.result;
  if (value === null || value === undefined) return [];
  return [
    {
      artifactId: `${task.id}:result`,
      name: task.kind === 'approval' ? 'decision' : 'result',
      description: '',
      parts: [typeof value === 'string' ? textPart(value) : dataPart(value)],
      metadata: undefined,
      extensions: [],
    },
  ];
}

/** What a mesh task's `input` holds when it was sent over A2A: the text for agents, the message as sent. */
export interface A2AInput {
  text: string;
  /** `earlier`: the messages before this one, oldest first, when the sender continued the task. */
  a2a: { message: unknown; earlier?: unknown[] };
}

/** Earlier messages a continued task's input keeps (the oldest go first): its history in A2A. */
const EARLIER_MESSAGES_KEPT = 20;

function isA2AInput(input: unknown): input is A2AInput {
  return (
    typeof input === 'object' &&
    input !== null &&
    typeof (input as { a2a?: { message?: unknown } }).a2a?.message === 'object'
  );
}

/**
 * The task's first user message: the A2A message it was created from, or for a task created over REST,
 * gRPC or MCP a message carrying its input (approvals: their subject and details; notifications: the text).
 */
function requestMessage(task: MeshTask): A2AMessage | undefined {
  if (isA2AInput(task.input)) {
    try {
      return A2AMessageCodec.fromJSON(task.input.a2a.message);
    } catch {
      // A hand-written input that only looks like ours: shown as data below.
    }
  }
  const parts: Part[] = [];
  if (task.subject) parts.push(textPart(task.subject));
  if (task.message) parts.push(textPart(task.message));
  for (const value of [task.input, task.details])
    if (value !== null && value !== undefined) parts.push(dataPart(value));
  if (!parts.length) return undefined;
  return {
    messageId: `${task.id}:request`,
    contextId: task.contextId,
    taskId: task.id,
    role: Role.ROLE_USER,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

/** The mesh facts A2A has no field for, under `metadata.orgmesh`. */
function meshMetadata(task: MeshTask): Record<string, unknown> {
  return {
    orgmesh: {
      kind: task.kind,
      type: task.type,
      from: task.from,
      to: task.to,
      assignee: task.assignee,
      priority: task.priority,
      deadline: task.deadline,
      version: task.version,
      createdAt: task.createdAt,
      ...(task.escalatedTo ? { escalatedTo: task.escalatedTo, escalatedAt: task.escalatedAt } : {}),
    },
  };
}

export function toA2ATask(task: MeshTask, historyLength?: number): A2ATask {
  const messages = historyOf(task);
  const history =
    historyLength === undefined ? messages : historyLength > 0 ? messages.slice(-historyLength) : [];
  return {
    id: task.id,
    contextId: task.contextId,
    status: statusOf(task),
    artifacts: artifactsOf(task),
    history,
    metadata: meshMetadata(task),
  };
}

export function taskEvent(task: MeshTask): StreamResponse {
  return { payload: { $case: 'task', value: toA2ATask(task) } };
}

/** The stream events of one mesh change: the result artifact (when completed with one), then the status. */
export function changeEvents(task: MeshTask): StreamResponse[] {
  const events: StreamResponse[] = artifactsOf(task).map((artifact) => ({
    payload: {
      $case: 'artifactUpdate',
      value: {
        taskId: task.id,
        contextId: task.contextId,
        artifact,
        append: false,
        lastChunk: true,
        metadata: undefined,
      },
    },
  }));
  events.push({
    payload: {
      $case: 'statusUpdate',
      value: {
        taskId: task.id,
        contextId: task.contextId,
        status: statusOf(task),
        metadata: meshMetadata(task),
      },
    },
  });
  return events;
}

/** The text of a message's text parts, for agents that read `input.text`. */
export function messageText(message: A2AMessage): string {
  return message.parts
    .map((part) => (part.content?.$case === 'text' ? part.content.value : ''))
    .filter(Boolean)
    .join('\n');
}

export function meshInputOf(message: A2AMessage): A2AInput {
  return { text: messageText(message), a2a: { message: A2AMessageCodec.toJSON(message) } };
}

/**
 * The input of a task its sender continues with `message` (AddTaskInput): the new message is the
 * input (its text is what an agent reads), the messages before it are kept as `earlier`, so the
 * task's A2A history still holds every turn (up to EARLIER_MESSAGES_KEPT).
 */
export function continuedInputOf(task: MeshTask, message: A2AMessage): A2AInput {
  const earlier = historyOf(task)
    .map((m) => A2AMessageCodec.toJSON(m))
    .slice(-EARLIER_MESSAGES_KEPT);
  return {
    text: messageText(message),
    a2a: { message: A2AMessageCodec.toJSON(message), ...(earlier.length ? { earlier } : {}) },
  };
}

/** The messageId of the task's latest message from its sender (its input), if it came over A2A. */
export function latestMessageIdOf(task: MeshTask): string | undefined {
  return isA2AInput(task.input) ? requestMessage(task)?.messageId : undefined;
}

/** The task's messages, oldest first: the earlier turns a sender added, then the current input. */
function historyOf(task: MeshTask): A2AMessage[] {
  const request = requestMessage(task);
  if (!request) return [];
  const earlier: A2AMessage[] = [];
  if (isA2AInput(task.input) && Array.isArray(task.input.a2a.earlier)) {
    for (const value of task.input.a2a.earlier) {
      try {
        earlier.push(A2AMessageCodec.fromJSON(value));
      } catch {
        // Not a message: left out of the history.
      }
    }
  }
  return [...earlier, request];
}

/**
 * The idempotency key of a send: the client's `messageId`, which A2A makes unique per message, so a
 * client that retries a send (a timeout, a lost answer) gets the task of its first attempt. Hashed so
 * any messageId fits the key's alphabet and length; the gateway scopes it to the caller.
 */
export function idempotencyKeyOf(messageId: string): string {
  return `a2a-${createHash('sha256').update(messageId).digest('base64url')}`;
}

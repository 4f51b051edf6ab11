import type { Task } from '@orgmesh/contracts';

/**
 * The system prompt: a fixed preamble on how the agent works on the mesh (machine-readable first
 * lines: `Role:` and `Agent id:`), then the role's instructions (rendered by the registry, or the
 * built-in ones).
 */
export function systemPrompt(input: { role: string; agentId: string; instructions: string }): string {
  return [
    `You are ${input.agentId}, an AI agent of this organisation working on the orgmesh agent mesh.`,
    `Role: ${input.role}`,
    `Agent id: ${input.agentId}`,
    '',
    'You receive tasks, approval requests and notifications from other agents, one at a time. You act only',
    'through your tools; each tool call is an operation on the mesh and its result comes back to you:',
    '- send_task / request_approval / notify: work with other roles (the mesh refuses what your policy does not grant);',
    "- fetch_status: a task's state and result; set wait_seconds to wait until it ends (e.g. for a review or a decision you asked for);",
    '- list_tasks: your inbox and outbox;',
    '- complete_task (with a result) or fail_task (with a reason) when the task you were given is done;',
    '- decide (approve or reject, with a one-line comment) when you were given an approval request.',
    'Personal data may appear as placeholders such as [[PERSON_1a2b3c4d]]. Copy them exactly when you pass',
    'them on; never guess what they stand for. Share personal data only with whoever needs it.',
    'When you are done, answer with one short sentence summarising what you did.',
    '',
    input.instructions.trim(),
  ].join('\n');
}

const KIND_LABEL: Record<Task['kind'], string> = {
  task: 'task',
  approval: 'approval request',
  notification: 'notification',
};

/** What the agent is to do with a delivery of each kind (the last line of its message). */
const KIND_NEXT_STEP: Record<Task['kind'], string> = {
  task: 'Do the work, then call complete_task with the result (or fail_task with the reason).',
  approval: 'Decide it with the decide tool: approve or reject, with a one-line comment.',
  notification: 'It is already acknowledged; act on it only if your role requires it.',
};

/** What a delivery carries, under its heading: a task's input, an approval's details (JSON), a notification's text. */
function payloadLines(task: Task): [heading: string, payload: string] {
  switch (task.kind) {
    case 'task':
      return ['Input (JSON):', JSON.stringify(task.input ?? null, null, 2)];
    case 'approval':
      return ['Details (JSON):', JSON.stringify(task.details ?? null, null, 2)];
    case 'notification':
      return ['Message:', task.message ?? ''];
  }
}

/**
 * The user message for one delivered task: a header of `Key: value` lines (parsed by the scripted
 * model) and the task's payload as JSON.
 */
export function deliveryMessage(task: Task): string {
  const lines = [
    `New ${KIND_LABEL[task.kind]} from ${task.from.agentId} (${task.from.role}).`,
    `Task id: ${task.id}`,
    `Kind: ${task.kind}`,
  ];
  if (task.type) lines.push(`Type: ${task.type}`);
  if (task.subject) lines.push(`Subject: ${task.subject}`);
  lines.push(`Priority: ${task.priority}`, `Context: ${task.contextId}`, `Deadline: ${task.deadline}`);
  if (task.escalatedTo) lines.push(`Escalated to: ${task.escalatedTo.role}`);
  lines.push(...payloadLines(task), '', KIND_NEXT_STEP[task.kind]);
  return lines.join('\n');
}

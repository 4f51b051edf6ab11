/**
 * The scripted model's "reasoning": a pure function from a chat conversation to the next assistant
 * turn. It is not an LLM. It recognises the reference agents' conversations (the system prompt's
 * `Role:` line, the delivered task in the first user message, the tool results so far) and plays
 * the Finance → Manager → Legal scenario deterministically: the same conversation always gives
 * the same answer. Every value it writes into a tool call is either a constant of the script or
 * copied from the conversation it received, so personal data only ever comes back as the
 * placeholders the privacy proxy put in.
 */
import { MESH_TOOL } from '@orgmesh/contracts';

/** The messages the script reads (a subset of the OpenAI chat shape). */
export interface ScriptMessage {
  role: string;
  content?: unknown;
  tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }>;
  tool_call_id?: string;
}

export type ScriptedTurn =
  | { kind: 'tool_calls'; calls: Array<{ name: string; arguments: Record<string, unknown> }> }
  | { kind: 'text'; text: string };

/** The delivered task, as the reference agents describe it in their first user message. */
export interface Brief {
  kind: 'task' | 'approval' | 'notification';
  taskId: string;
  fromAgent: string;
  fromRole: string;
  type?: string;
  subject?: string;
  payload: unknown;
}

interface Step {
  name: string;
  args: Record<string, unknown>;
  ok: boolean;
  result: Record<string, unknown>;
}

export const SOX_REVIEW_THRESHOLD = 100_000;
/** A request field (copied by Finance into the approval's details) asking that a person decide it. */
export const HUMAN_APPROVAL_FIELD = 'human_approval';
const MAX_WAITS = 6;
const WAIT_SECONDS = 120;
const TERMINAL = new Set(['completed', 'failed', 'canceled', 'rejected']);

export function scriptedTurn(messages: readonly ScriptMessage[]): ScriptedTurn {
  const role = roleOf(messages);
  const briefIndex = messages.findIndex((m) => m.role === 'user');
  const brief = briefIndex >= 0 ? parseBrief(textOf(messages[briefIndex]!.content)) : undefined;
  if (!role || !brief) return unscripted(messages);
  const steps = stepsAfter(messages, briefIndex);
  if (brief.kind === 'notification') return text('Noted.');
  switch (role) {
    case 'finance':
      return brief.kind === 'task'
        ? finance(brief, steps)
        : text('(scripted model) Finance has no script for approvals.');
    case 'manager':
      return brief.kind === 'approval' ? managerApproval(brief, steps) : acknowledgeTask(brief, steps);
    case 'legal':
      return brief.kind === 'task'
        ? legal(brief, steps)
        : text('(scripted model) Legal has no script for approvals.');
    default:
      return brief.kind === 'task'
        ? acknowledgeTask(brief, steps)
        : text(`(scripted model) No script for role ${role}.`);
  }
}

// ------------------------------------------------------------------ playbooks

/** Finance: ask the manager to approve the budget, wait for the decision, complete its task with the outcome. */
function finance(brief: Brief, steps: Step[]): ScriptedTurn {
  const input = asRecord(brief.payload);
  const request = last(steps, MESH_TOOL.requestApproval);
  if (!request) {
    return call(MESH_TOOL.requestApproval, {
      to: 'manager',
      subject: budgetSubject(input, brief),
      details: { ...(input ?? { request: brief.payload }), budget_task_id: brief.taskId },
    });
  }
  if (!request.ok)
    return call(MESH_TOOL.failTask, {
      task_id: brief.taskId,
      reason: `The approval request was refused: ${errorOf(request)}`,
    });
  const approvalId = String(request.result['task_id'] ?? '');
  const decided = waitFor(steps, approvalId);
  if (decided.kind !== 'ended') return decided.turn;
  const status = decided.status;
  const decision = typeof status['decision'] === 'string' ? status['decision'] : undefined;
  const outcome =
    decision === 'approve' ? 'approved' : decision === 'reject' ? 'rejected' : String(status['state']);
  const completion = last(steps, MESH_TOOL.completeTask);
  if (!completion) {
    return call(MESH_TOOL.completeTask, {
      task_id: brief.taskId,
      result: {
        outcome,
        approval_task_id: approvalId,
        decision: decision ?? null,
        comment: status['comment'] ?? null,
        decided_by: status['decided_by'] ?? null,
        ...(outcome === 'approved' ? { next: 'Budget released for commitment' } : {}),
      },
    });
  }
  if (!completion.ok) return text(`Could not complete the budget request: ${errorOf(completion)}`);
  return text(`Budget request completed: ${outcome}.`);
}

/** Manager: above the SOX threshold, consult Legal and wait for its review; then decide with a one-line reason. */
function managerApproval(brief: Brief, steps: Step[]): ScriptedTurn {
  const details = asRecord(brief.payload) ?? {};
  const amount = toNumber(details['amount']);
  const decision = last(steps, MESH_TOOL.decide);
  if (decision)
    return text(
      decision.ok
        ? `Decided: ${String(decision.args['decision'])}.`
        : `Could not record the decision: ${errorOf(decision)}`,
    );
  // The requester asked for a person's decision (`npm run demo -- --human`): the Manager decides
  // nothing and ends its turn; the agent runtime then reports the approval input-required (A2A's
  // human-in-the-loop state), and the mesh hands it to the people of the manager profile's rule.
  if (details[HUMAN_APPROVAL_FIELD] === true)
    return text('A person decides this approval (the request asks for a human decision): left to them.');
  if (amount !== undefined && amount <= SOX_REVIEW_THRESHOLD) {
    return call(MESH_TOOL.decide, {
      task_id: brief.taskId,
      decision: 'approve',
      comment: 'Approved: below the $100,000 SOX review threshold and within plan.',
    });
  }
  const review = last(steps, MESH_TOOL.sendTask);
  if (!review) {
    const employee = asRecord(details['employee']);
    return call(MESH_TOOL.sendTask, {
      to: 'legal',
      type: 'sox-review',
      input: {
        approval_task_id: brief.taskId,
        subject: brief.subject ?? null,
        amount: details['amount'] ?? null,
        currency: details['currency'] ?? 'USD',
        department: details['department'] ?? null,
        quarter: details['quarter'] ?? null,
        requested_by: brief.fromAgent,
        // Only what the review needs: the payee's name, none of the payroll identifiers.
        ...(employee?.['name'] !== undefined ? { payee: employee['name'] } : {}),
        question:
          'SOX review: may this spend be approved (approval authority, segregation of duties, documentation)?',
      },
    });
  }
  if (!review.ok)
    return call(MESH_TOOL.decide, {
      task_id: brief.taskId,
      decision: 'reject',
      comment: `Rejected: the SOX review could not be requested (${errorOf(review)}).`,
    });
  const reviewId = String(review.result['task_id'] ?? '');
  const answered = waitFor(steps, reviewId);
  if (answered.kind !== 'ended') return answered.turn;
  const result = asRecord(answered.status['result']) ?? {};
  const recommendation = typeof result['recommendation'] === 'string' ? result['recommendation'] : undefined;
  const approve =
    answered.status['state'] === 'completed' &&
    recommendation !== undefined &&
    /^approve/i.test(recommendation);
  const quarter = typeof details['quarter'] === 'string' ? `${details['quarter']} ` : '';
  return call(MESH_TOOL.decide, {
    task_id: brief.taskId,
    decision: approve ? 'approve' : 'reject',
    comment: approve
      ? `Approved: within the ${quarter}plan; Legal's SOX review recommends "${recommendation}".`
      : `Rejected: Legal's SOX review did not recommend approval (${recommendation ?? String(answered.status['state'])}).`,
  });
}

/** Legal: a SOX review answered with a recommendation and the rule it rests on. */
function legal(brief: Brief, steps: Step[]): ScriptedTurn {
  const input = asRecord(brief.payload) ?? {};
  const completion = last(steps, MESH_TOOL.completeTask);
  if (completion)
    return text(completion.ok ? 'Review sent.' : `Could not send the review: ${errorOf(completion)}`);
  const isSox = (brief.type ?? '').includes('sox');
  return call(MESH_TOOL.completeTask, {
    task_id: brief.taskId,
    result: isSox
      ? {
          recommendation: 'approve with conditions',
          rule: 'SOX §404 (internal control over financial reporting) and §302: spend approved by an authorised approver, segregation of duties, documented',
          conditions: [
            'The approver is not the requester (segregation of duties)',
            'File the decision and this review with the budget record',
            "Keep the payee's payroll identifiers out of the budget record",
          ],
          reviewed: input['approval_task_id'] ?? null,
        }
      : { recommendation: 'no legal objection', rule: 'general review', reviewed: brief.taskId },
  });
}

function acknowledgeTask(brief: Brief, steps: Step[]): ScriptedTurn {
  const completion = last(steps, MESH_TOOL.completeTask);
  if (completion) return text(completion.ok ? 'Done.' : `Could not complete: ${errorOf(completion)}`);
  return call(MESH_TOOL.completeTask, { task_id: brief.taskId, result: { acknowledged: true } });
}

/** Waits (fetch_status with wait_seconds) for a task to end, a bounded number of times. */
function waitFor(
  steps: Step[],
  taskId: string,
): { kind: 'ended'; status: Record<string, unknown> } | { kind: 'wait'; turn: ScriptedTurn } {
  const fetches = steps.filter((s) => s.name === MESH_TOOL.fetchStatus && s.args['task_id'] === taskId);
  const latest = fetches[fetches.length - 1];
  if (latest?.ok && TERMINAL.has(String(latest.result['state'])))
    return { kind: 'ended', status: latest.result };
  if (fetches.length >= MAX_WAITS) return { kind: 'wait', turn: text(`Gave up waiting for task ${taskId}.`) };
  return { kind: 'wait', turn: call(MESH_TOOL.fetchStatus, { task_id: taskId, wait_seconds: WAIT_SECONDS }) };
}

// ------------------------------------------------------------------ parsing

export function roleOf(messages: readonly ScriptMessage[]): string | undefined {
  for (const message of messages) {
    if (message.role !== 'system') continue;
    const match = /^Role: ([a-z][a-z0-9-]*)\s*$/m.exec(textOf(message.content));
    if (match?.[1]) return match[1];
  }
  return undefined;
}

const KINDS: Record<string, Brief['kind']> = {
  task: 'task',
  'approval request': 'approval',
  notification: 'notification',
};

export function parseBrief(content: string): Brief | undefined {
  const head = /^New (task|approval request|notification) from (\S+) \((\S+)\)\.\s*$/m.exec(content);
  const id = /^Task id: (.+)$/m.exec(content);
  if (!head?.[1] || !head[2] || !head[3] || !id?.[1]) return undefined;
  const line = (key: string) => new RegExp(`^${key}: (.+)$`, 'm').exec(content)?.[1]?.trim();
  const brief: Brief = {
    kind: KINDS[head[1]]!,
    fromAgent: head[2],
    fromRole: head[3],
    taskId: id[1].trim(),
    payload: null,
  };
  const type = line('Type');
  const subject = line('Subject');
  if (type) brief.type = type;
  if (subject) brief.subject = subject;
  const marker = /^(?:Input|Details) \(JSON\):$/m.exec(content);
  if (marker) {
    const rest = content.slice(marker.index + marker[0].length);
    const end = rest.lastIndexOf('\n\n');
    brief.payload = parseLenientJson(end >= 0 ? rest.slice(0, end) : rest);
  } else {
    const message = /^Message:\n([\s\S]*?)(?:\n\n|$)/m.exec(content);
    brief.payload = message?.[1] ?? null;
  }
  return brief;
}

/**
 * JSON as the privacy proxy may have left it: a number it masked is a bare placeholder
 * (`"amount": [[ACCOUNT_1a2b3c4d]]`), which is quoted back into a string.
 */
export function parseLenientJson(raw: string): unknown {
  const trimmed = raw.trim();
  if (!trimmed) return null;
  try {
    return JSON.parse(trimmed);
  } catch {
    try {
      return JSON.parse(trimmed.replace(/(?<!")(\[\[[A-Z]+_[0-9a-f]+\]\])(?!")/g, '"$1"'));
    } catch {
      return trimmed;
    }
  }
}

function stepsAfter(messages: readonly ScriptMessage[], briefIndex: number): Step[] {
  const steps: Step[] = [];
  const byId = new Map<string, Step>();
  for (const message of messages.slice(briefIndex + 1)) {
    if (message.role === 'assistant') {
      for (const toolCall of message.tool_calls ?? []) {
        const args = asRecord(parseLenientJson(toolCall.function?.arguments ?? '')) ?? {};
        const step: Step = { name: toolCall.function?.name ?? '', args, ok: false, result: {} };
        steps.push(step);
        if (toolCall.id) byId.set(toolCall.id, step);
      }
    } else if (message.role === 'tool' && message.tool_call_id) {
      const step = byId.get(message.tool_call_id);
      if (!step) continue;
      const result = asRecord(parseLenientJson(textOf(message.content))) ?? {};
      step.result = result;
      step.ok = !('error' in result);
    }
  }
  return steps;
}

/**
 * A conversation outside the script (e.g. the demo's Claude Code step): says so, and names the
 * placeholders of the last user message, copied, so a client sees the proxy restore them in the answer.
 */
function unscripted(messages: readonly ScriptMessage[]): ScriptedTurn {
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const named = [...new Set(textOf(lastUser?.content).match(/\[\[[A-Z][A-Z0-9_]*_[0-9a-f]{8,16}\]\]/g) ?? [])];
  return text(
    '(scripted model) This conversation is not one the script knows: no reply.' +
      (named.length > 0 ? ` It names ${named.join(', ')}.` : ''),
  );
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string'
          ? (part as { text: string }).text
          : '',
      )
      .join('');
  }
  return '';
}

function budgetSubject(input: Record<string, unknown> | undefined, brief: Brief): string {
  if (!input) return `Approve: ${brief.type ?? 'request'}`;
  const words = [input['quarter'], input['department']].filter((w) => typeof w === 'string').join(' ');
  const amount =
    input['amount'] !== undefined
      ? `${typeof input['currency'] === 'string' ? `${input['currency']} ` : ''}${String(input['amount'])}`
      : '';
  return `Approve the ${words ? `${words} ` : ''}budget${amount ? `: ${amount}` : ''}`;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\s*[\d,.]+\s*$/.test(value)) {
    const n = Number(value.replace(/,/g, ''));
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function last(steps: Step[], name: string): Step | undefined {
  for (let i = steps.length - 1; i >= 0; i--) if (steps[i]!.name === name) return steps[i];
  return undefined;
}

function errorOf(step: Step): string {
  const error = asRecord(step.result['error']);
  return typeof error?.['message'] === 'string' ? error['message'] : 'unknown error';
}

function call(name: string, args: Record<string, unknown>): ScriptedTurn {
  return { kind: 'tool_calls', calls: [{ name, arguments: args }] };
}

function text(value: string): ScriptedTurn {
  return { kind: 'text', text: value };
}

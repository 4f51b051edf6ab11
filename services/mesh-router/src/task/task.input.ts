import { AppError, canonicalJson, inboxSubject, type Task } from '@orgmesh/contracts';
import type { Caller } from './task.access.js';
import { notAParty } from './task.errors.js';
import { isTerminalTaskState } from './task.fsm.js';
import type { TaskDecisionOutcome } from './task.repository.types.js';
import type { TaskService } from './task.service.js';

/**
 * AddTaskInput (issue 25): the sender of an open task gives it more input, as an A2A client does
 * when it answers a task that asked for input or continues one in flight. The narrowest change the
 * mesh needed: the task's input is replaced by the sender's (the sender composes it; A2A keeps the
 * earlier turns in it), the history records an `input` entry, an input-required task goes back to
 * working (the agent has what it asked for), and the task is delivered again to the one who works on
 * it (its assignee, else its recipient's inbox), as an escalation delivers it to a manager.
 *
 * Only tasks (an approval is answered by its decision, a notification by its receipt), only their
 * sender (as for cancel: the sender owns the request), only while open. The same input again is a
 * no-op (a retried A2A message), so a retry adds nothing.
 */
export async function addTaskInput(
  tasks: TaskService,
  caller: Caller,
  command: { id: string; input: unknown },
  now: () => Date = () => new Date(),
): Promise<Task> {
  // Read first through the visibility rule: a task the caller may not see is not found / not a party.
  await tasks.get(caller, command.id, false);
  const input = command.input;
  const { task } = await tasks.applyOutcome(command.id, caller.agentId, (current): TaskDecisionOutcome => {
    if (caller.person || current.from.agentId !== caller.agentId) throw notAParty(current.id, 'add input to');
    if (current.kind !== 'task') {
      throw new AppError(
        'task_illegal_transition',
        `task ${current.id} is a ${current.kind}: only a task takes input from its sender`,
        { details: { id: current.id, kind: current.kind, state: current.state } },
      );
    }
    if (isTerminalTaskState(current.state)) {
      throw new AppError(
        'task_illegal_transition',
        `task ${current.id} is ${current.state}: a finished task takes no more input`,
        { details: { id: current.id, kind: current.kind, state: current.state } },
      );
    }
    if (sameJson(current.input, input ?? null)) return { kind: 'noop' };
    const worker = current.assignee
      ? { role: current.assignee.role, agentId: current.assignee.agentId }
      : current.to;
    return {
      kind: 'change',
      event: 'input',
      to: current.state === 'input-required' ? 'working' : current.state,
      reason: 'input from the sender',
      patch: { input },
      deliverTo: inboxSubject(worker),
      now: now(),
    };
  });
  return task;
}

/**
 * Equal as JSON whatever the order of object keys: the stored input comes back from Postgres jsonb,
 * which orders keys its own way (shorter first), so comparing serialisations as sent would take a
 * retried `{text, a2a}` for new input and deliver the task again.
 */
function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

import { AppError, type TaskFsmEvent, type TaskKind, type TaskState } from '@orgmesh/contracts';

export function taskNotFound(id: string): AppError {
  return new AppError('task_not_found', `task ${id} not found`, { details: { id } });
}

export function illegalTaskTransition(
  id: string,
  kind: TaskKind,
  currentState: TaskState,
  event: TaskFsmEvent,
  allowed: TaskFsmEvent[],
): AppError {
  return new AppError(
    'task_illegal_transition',
    `${kind} ${id} is ${currentState}: "${event}" is not allowed` +
      (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (it has ended and accepts nothing)'),
    { details: { currentState, event, allowedEvents: allowed } },
  );
}

/** A refused send: 403 naming the registry rule that refused it. */
export function policyDenied(rule: string, from: string, to: string, kind: TaskKind): AppError {
  return new AppError('policy_denied', `${from} may not send a ${kind} to ${to} (rule: ${rule})`, {
    details: { rule, from, to, kind },
  });
}

export function notAParty(id: string, action: string): AppError {
  return new AppError('forbidden', `caller may not ${action} task ${id}`, { details: { id, action } });
}

export function rateLimited(agentId: string, retryAfterMs: number): AppError {
  return new AppError(
    'rate_limited',
    `sender ${agentId} is over its rate limit; retry in ${retryAfterMs} ms`,
    {
      details: { retryAfterMs },
    },
  );
}

export function payloadTooLarge(field: string, bytes: number, limit: number): AppError {
  return new AppError('payload_too_large', `${field} is ${bytes} bytes; the limit is ${limit}`, {
    details: { field, bytes, limit },
  });
}

export function idempotencyKeyReused(key: string): AppError {
  return new AppError('conflict', `idempotency key "${key}" was already used with a different request`, {
    details: { key },
  });
}

export function invalidDeadline(message: string): AppError {
  return new AppError('validation_failed', message, { details: { issues: [{ path: 'deadline', message }] } });
}

export function agentNotOfRole(agentId: string, role: string): AppError {
  return new AppError('validation_failed', `agent ${agentId} does not act for role ${role}`, {
    details: { issues: [{ path: 'to.agentId', message: `not an agent of role ${role}` }] },
  });
}

/** Where in the request the recipient was named: `to` (a bare id), `to.role` or `to.agentId`. */
export type RecipientPath = 'to' | 'to.role' | 'to.agentId';

/** `to` is an object naming neither a role nor an agent. */
export function noRecipient(): AppError {
  const message = 'name a role, an agent, or both';
  return new AppError('validation_failed', message, { details: { issues: [{ path: 'to', message }] } });
}

/** `to` names nobody the registry knows: refused before anything is stored. */
export function unknownRecipient(path: RecipientPath, id: string): AppError {
  const what = path === 'to' ? 'agent or role' : path === 'to.role' ? 'role' : 'agent';
  const message = `no ${what} "${id}" in the registry`;
  return new AppError('validation_failed', message, { details: { issues: [{ path, message }] } });
}

/** `to` names an agent where a role was asked for, or the reverse. */
export function recipientOfOtherKind(path: 'to.role' | 'to.agentId', id: string): AppError {
  const message =
    path === 'to.role'
      ? `"${id}" is an agent, not a role: name it as {agentId}`
      : `"${id}" is a role, not an agent: name it as {role}`;
  return new AppError('validation_failed', message, { details: { issues: [{ path, message }] } });
}

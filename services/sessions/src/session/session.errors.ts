import { AppError, type SessionEventName, type SessionState } from '@orgmesh/contracts';

export function sessionNotFound(id: string): AppError {
  return new AppError('session_not_found', `session ${id} not found`, { details: { id } });
}

export function illegalTransition(id: string, currentState: SessionState, event: SessionEventName, allowed: SessionEventName[]): AppError {
  return new AppError(
    'session_illegal_transition',
    `session ${id} is ${currentState}: event "${event}" is not allowed` +
      (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (terminal state accepts no events)'),
    { details: { currentState, event, allowedEvents: allowed } },
  );
}

export function versionConflict(id: string, expected: number, actual: number): AppError {
  return new AppError('conflict', `session ${id} is at version ${actual}, not ${expected}`, {
    details: { expectedVersion: expected, currentVersion: actual },
  });
}

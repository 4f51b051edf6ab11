import { keysetCursor, type KeysetPosition, type Task } from '@orgmesh/contracts';

/**
 * The list-tasks cursor: the last task's `(createdAt, id)`, newest first. The one place it is read:
 * a forged or future cursor is `invalid_cursor` here, before the repository builds its query.
 */
export function encodeTaskCursor(task: Pick<Task, 'createdAt' | 'id'>): string {
  return keysetCursor.encode({ createdAt: task.createdAt, id: task.id });
}

/** `now` is the service's clock: a position later than it (beyond the skew) was never issued. */
export function decodeTaskCursor(cursor: string, now: Date): KeysetPosition {
  return keysetCursor.decode(cursor, now);
}

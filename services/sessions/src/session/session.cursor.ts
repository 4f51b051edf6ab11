import { keysetCursor, type KeysetPosition, type Session } from '@orgmesh/contracts';

/**
 * The list-sessions cursor: the last session's `(createdAt, id)`, newest first. The one place it is
 * read: a forged or future cursor is `invalid_cursor` here, before the repository builds its query.
 */
export function encodeSessionCursor(session: Pick<Session, 'createdAt' | 'id'>): string {
  return keysetCursor.encode({ createdAt: session.createdAt, id: session.id });
}

/** `now` is the service's clock: a position later than it (beyond the skew) was never issued. */
export function decodeSessionCursor(cursor: string, now: Date): KeysetPosition {
  return keysetCursor.decode(cursor, now);
}

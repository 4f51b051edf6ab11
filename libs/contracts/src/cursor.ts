import { z } from 'zod';
import { AppError } from './errors.js';

/**
 * Page cursors are opaque to callers but not to the service that reads them: a cursor is parsed
 * into its typed position here, before any query sees it, so a forged one is `invalid_cursor`
 * (400) and never reaches SQL as "invalid input syntax for type uuid" (issue 17).
 */

/** Longer than any cursor a list issues; the gateway's query schema uses the same bound. */
export const MAX_CURSOR_LENGTH = 2000;

/**
 * How far a keyset cursor's timestamp may lie ahead of the reading service's clock: cursors are
 * issued by any replica, and replicas' clocks differ a little. Beyond it, the cursor was forged.
 */
export const CURSOR_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The `cursor` field of list requests: any string up to the bound. Deliberately not checked here:
 * the service that issued it parses it (`defineCursor`), so anything it did not issue, garbage and
 * NUL included, is `invalid_cursor` rather than a generic validation error.
 */
export const PageCursor = z
  .string()
  .max(MAX_CURSOR_LENGTH)
  .describe('The `nextCursor` of the previous page (opaque).');

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The one error every cursor problem becomes; `reason` names what was wrong, never echoes the cursor. */
export function invalidCursor(reason: string): AppError {
  return new AppError('invalid_cursor', 'invalid cursor: pass the nextCursor of a previous page', {
    details: { issues: [{ path: 'cursor', message: reason }] },
  });
}

export interface CursorCodec<T> {
  encode(position: T): string;
  /** The typed position, or `invalid_cursor`. */
  decode(cursor: string): T;
}

/**
 * A cursor codec: base64url of the JSON of `schema`'s value. Decoding checks the alphabet (Node's
 * base64 decoder silently skips foreign characters), UTF-8, JSON and then the schema.
 */
export function defineCursor<S extends z.ZodType>(schema: S): CursorCodec<z.output<S>> {
  return {
    encode(position) {
      return Buffer.from(JSON.stringify(schema.parse(position)), 'utf8').toString('base64url');
    },
    decode(cursor) {
      if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH) throw invalidCursor('wrong length');
      if (!BASE64URL.test(cursor)) throw invalidCursor('not base64url');
      let value: unknown;
      try {
        value = JSON.parse(utf8.decode(Buffer.from(cursor, 'base64url')));
      } catch {
        throw invalidCursor('not a cursor of this list');
      }
      const parsed = schema.safeParse(value);
      if (!parsed.success) throw invalidCursor('not a cursor of this list');
      return parsed.data;
    },
  };
}

/** A row position in a list ordered by `(created_at, id)` descending. */
export interface KeysetPosition {
  /** Canonical ISO-8601 UTC with milliseconds, as `Date#toISOString` writes it. */
  createdAt: string;
  id: string;
}

/**
 * Only the form `Date#toISOString` writes, and a real instant (no 30 February, which Postgres
 * would refuse with an error rather than a 400).
 */
export const CanonicalTimestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
  .refine((value) => {
    const time = Date.parse(value);
    return !Number.isNaN(time) && time >= 0 && new Date(time).toISOString() === value;
  });

const KeysetWire = defineCursor(z.strictObject({ c: CanonicalTimestamp, i: z.uuid() }));

/** The cursor of lists ordered newest first by `(created_at, id)` (tasks, sessions). */
export const keysetCursor = {
  encode(position: { createdAt: string; id: string }): string {
    return KeysetWire.encode({ c: new Date(position.createdAt).toISOString(), i: position.id });
  },
  /**
   * The position, or `invalid_cursor`; `now` is the reading service's clock. A position later
   * than `now` (beyond the skew) was never issued: rows are created before they are listed.
   */
  decode(cursor: string, now: Date): KeysetPosition {
    const { c, i } = KeysetWire.decode(cursor);
    if (Date.parse(c) > now.getTime() + CURSOR_CLOCK_SKEW_MS)
      throw invalidCursor('position is in the future');
    return { createdAt: c, id: i };
  },
};

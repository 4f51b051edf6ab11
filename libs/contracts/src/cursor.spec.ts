import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { CURSOR_CLOCK_SKEW_MS, defineCursor, keysetCursor } from './cursor.js';

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const id = '7a0c1f3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f';
const now = new Date('2026-06-01T12:00:00.000Z');

function refusal(fn: () => unknown): { code?: string; reason?: unknown } {
  try {
    fn();
  } catch (error) {
    const e = error as { code?: string; details?: { issues?: Array<{ message: string }> } };
    return { code: e.code, reason: e.details?.issues?.[0]?.message };
  }
  return {};
}

describe('keyset cursor', () => {
  it('round-trips the position it issued', () => {
    const cursor = keysetCursor.encode({ createdAt: '2026-05-31T10:00:00.123Z', id });
    expect(keysetCursor.decode(cursor, now)).toEqual({ createdAt: '2026-05-31T10:00:00.123Z', id });
  });

  it('writes timestamps in the canonical form whatever offset the row carried', () => {
    const cursor = keysetCursor.encode({ createdAt: '2026-05-31T12:00:00+02:00', id });
    expect(keysetCursor.decode(cursor, now).createdAt).toBe('2026-05-31T10:00:00.000Z');
  });

  it.each([
    ['the forged cursor of the issue', b64({ c: '2026-01-01T00:00:00Z', i: 'x' })],
    ['a non-uuid id', b64({ c: '2026-01-01T00:00:00.000Z', i: 'x' })],
    ['an impossible date', b64({ c: '2026-02-30T00:00:00.000Z', i: id })],
    ['a year Postgres would refuse', b64({ c: '+275760-09-13T00:00:00.000Z', i: id })],
    ['a timestamp before 1970', b64({ c: '1969-12-31T23:59:59.999Z', i: id })],
    ['a number as timestamp', b64({ c: 1_700_000_000_000, i: id })],
    ['an extra field', b64({ c: '2026-01-01T00:00:00.000Z', i: id, x: 1 })],
    ['JSON that is not an object', b64('[1,2]')],
    ['garbage', 'bogus!!'],
    ['base64 of garbage', b64('\u0000\u0001not json')],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url')],
    ['NUL', '\u0000'],
    ['a lone surrogate', 'ab\ud800'],
    ['an empty string', ''],
    ['an overlong cursor', 'A'.repeat(5000)],
  ])('refuses %s with invalid_cursor', (_name, cursor) => {
    expect(refusal(() => keysetCursor.decode(cursor, now)).code).toBe('invalid_cursor');
  });

  it('refuses a position in the future beyond the clock skew, accepts one within it', () => {
    const within = keysetCursor.encode({
      createdAt: new Date(now.getTime() + CURSOR_CLOCK_SKEW_MS).toISOString(),
      id,
    });
    expect(keysetCursor.decode(within, now).id).toBe(id);
    const beyond = keysetCursor.encode({
      createdAt: new Date(now.getTime() + CURSOR_CLOCK_SKEW_MS + 1).toISOString(),
      id,
    });
    expect(refusal(() => keysetCursor.decode(beyond, now))).toEqual({
      code: 'invalid_cursor',
      reason: 'position is in the future',
    });
  });

  it('never echoes the cursor in the error', () => {
    const error = (() => {
      try {
        keysetCursor.decode(b64({ c: 'secret-value', i: id }), now);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(JSON.stringify(error)).not.toContain('secret');
    expect(error?.message).not.toContain('secret');
  });
});

describe('defineCursor', () => {
  const offset = defineCursor(z.strictObject({ o: z.number().int().nonnegative() }));

  it('round-trips and refuses what its schema refuses', () => {
    expect(offset.decode(offset.encode({ o: 40 }))).toEqual({ o: 40 });
    expect(refusal(() => offset.decode(b64({ o: -1 }))).code).toBe('invalid_cursor');
    expect(refusal(() => offset.decode(b64({ o: '1' }))).code).toBe('invalid_cursor');
  });
});

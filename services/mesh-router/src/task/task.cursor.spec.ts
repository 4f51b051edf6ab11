import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { decodeTaskCursor, encodeTaskCursor } from './task.cursor.js';

const now = new Date('2026-06-01T12:00:00.000Z');
const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('list-tasks cursor', () => {
  it('round-trips a task position', () => {
    const task = { createdAt: '2026-05-31T08:00:00.000Z', id: randomUUID() };
    expect(decodeTaskCursor(encodeTaskCursor(task), now)).toEqual(task);
  });

  it.each([
    ['the forged cursor of issue 17', forged({ c: '2026-01-01T00:00:00Z', i: 'x' })],
    ['a position after the service clock', forged({ c: '2026-06-02T00:00:00.000Z', i: randomUUID() })],
    ['an agent cursor', forged({ a: 'legal-agent' })],
    ['garbage', '%%%'],
  ])('refuses %s with invalid_cursor', (_name, cursor) => {
    expect(() => decodeTaskCursor(cursor, now)).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
  });
});

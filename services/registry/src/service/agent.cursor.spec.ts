import { describe, expect, it } from '@jest/globals';
import { decodeAgentCursor, encodeAgentCursor } from './agent.cursor.js';

const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('list-agents cursor', () => {
  it('round-trips an agent id', () => {
    expect(decodeAgentCursor(encodeAgentCursor('legal-agent'))).toBe('legal-agent');
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    ['an id that is no agent id', forged({ a: 'Legal Agent\u0000' })],
    ['a number', forged({ a: 7 })],
    [
      'another list’s cursor',
      forged({ c: '2026-01-01T00:00:00.000Z', i: '7a0c1f3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f' }),
    ],
  ])('refuses %s with invalid_cursor', (_name, cursor) => {
    expect(() => decodeAgentCursor(cursor)).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
  });
});

import { describe, expect, it } from '@jest/globals';
import { eventIdProblem } from './event-consumer.js';

describe('eventIdProblem', () => {
  it('accepts what publishers send: a UUID, a stream position', () => {
    expect(eventIdProblem('0b6c1f3e-7a5d-4c8e-9f1a-2b3c4d5e6f70')).toBeUndefined();
    expect(eventIdProblem('MESH:42')).toBeUndefined();
  });

  it('refuses an id a handler could not store or would confuse with another', () => {
    expect(eventIdProblem('')).toBe('must not be empty');
    expect(eventIdProblem('a\u0000b')).toMatch(/NUL/);
    expect(eventIdProblem('x\ud800')).toMatch(/surrogate/);
    expect(eventIdProblem('k'.repeat(501))).toMatch(/longer than 500/);
    expect(eventIdProblem('k'.repeat(500))).toBeUndefined();
  });
});

import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { checkIdempotencyKey } from './executor.js';

function refusal(value: string): AppError {
  try {
    checkIdempotencyKey(value);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

describe('checkIdempotencyKey', () => {
  it('passes an absent key through and keeps a valid one', () => {
    expect(checkIdempotencyKey(undefined)).toBeUndefined();
    expect(checkIdempotencyKey('a')).toBe('a');
    expect(checkIdempotencyKey('~'.repeat(200))).toBe('~'.repeat(200));
  });

  it('refuses an empty key as 400 naming the header, instead of treating it as absent', () => {
    const error = refusal('');
    expect(error.code).toBe('validation_failed');
    expect(error.message).toMatch(/Idempotency-Key: must not be empty/);
    expect(error.details).toEqual({
      issues: [{ path: 'header.Idempotency-Key', message: 'must not be empty' }],
    });
  });

  it.each(['a b', 'é', 'a\u0000', 'x'.repeat(201), '\t'])('refuses %j', (value) => {
    expect(refusal(value).details).toEqual({
      issues: [{ path: 'header.Idempotency-Key', message: 'expected 1–200 visible ASCII characters' }],
    });
  });
});

import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { bearerToken } from './bearer.js';

function refusal(value: string | undefined): AppError {
  try {
    bearerToken(value);
  } catch (error) {
    return error as AppError;
  }
  throw new Error('expected a refusal');
}

describe('bearerToken', () => {
  it('takes the token of the Bearer scheme, whatever its case', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('BEARER  abc ')).toBe('abc');
  });

  it('refuses a missing header, a bare token, another scheme or an empty token as unauthenticated', () => {
    for (const value of [undefined, '', '  ', 'abc.def.ghi', 'Basic abc', 'Bearer', 'Bearer ', 'Bearerabc', 'Bearer a b']) {
      expect(refusal(value).code).toBe('unauthenticated');
    }
    expect(refusal('abc.def.ghi').message).toMatch(/Bearer scheme/);
  });
});

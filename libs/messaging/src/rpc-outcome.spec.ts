import { describe, expect, it } from '@jest/globals';
import { AppError } from '@orgmesh/contracts';
import { countOutcome, resultLabel } from './rpc-outcome.js';

describe('RPC outcome counting', () => {
  it("labels a failure with its error code, anything without one as 'internal'", () => {
    expect(resultLabel(new AppError('forbidden', 'no'))).toBe('forbidden');
    expect(resultLabel(new Error('boom'))).toBe('internal');
    expect(resultLabel(undefined)).toBe('internal');
  });

  it('counts a success once with the label of its result and returns the result', async () => {
    const counted: string[] = [];
    const result = await countOutcome(
      (label) => counted.push(label),
      () => Promise.resolve({ changed: true }),
      (r) => (r.changed ? 'stored' : 'unchanged'),
    );
    expect(result).toEqual({ changed: true });
    expect(counted).toEqual(['stored']);
  });

  it('counts a failure once with its code and throws it on', async () => {
    const counted: string[] = [];
    const error = new AppError('unauthenticated', 'no token');
    await expect(
      countOutcome(
        (label) => counted.push(label),
        () => Promise.reject(error),
        () => 'stored',
      ),
    ).rejects.toBe(error);
    expect(counted).toEqual(['unauthenticated']);
  });
});

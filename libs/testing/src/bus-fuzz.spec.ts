import { describe, expect, it } from '@jest/globals';
import { realProcess, recordProcessFaults } from './bus-fuzz.js';

describe('recordProcessFaults', () => {
  it('listens on the real process, not on the test sandbox copy whose events never fire', () => {
    const real = realProcess();
    expect(real).not.toBe(process);
    const before = real.listenerCount('uncaughtException');
    const rejectionsBefore = real.listenerCount('unhandledRejection');
    const recorder = recordProcessFaults();
    expect(real.listenerCount('uncaughtException')).toBe(before + 1);
    expect(real.listenerCount('unhandledRejection')).toBe(rejectionsBefore + 1);
    recorder.stop();
    expect(real.listenerCount('uncaughtException')).toBe(before);
    expect(real.listenerCount('unhandledRejection')).toBe(rejectionsBefore);
  });
});

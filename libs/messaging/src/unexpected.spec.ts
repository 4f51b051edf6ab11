import { describe, expect, it } from '@jest/globals';
import { traceIdOf } from './unexpected.js';

describe('traceIdOf', () => {
  it('reads the trace id of a valid traceparent and nothing from a forged one', () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    expect(traceIdOf({ traceparent: `00-${traceId}-00f067aa0ba902b7-01` })).toBe(traceId);
    expect(traceIdOf({ traceparent: '00-zz-\u0000-01' })).toBeUndefined();
    expect(traceIdOf({})).toBeUndefined();
  });
});

import { describe, expect, it } from '@jest/globals';
import { extractTraceContext, injectTraceContext, withMessagingSpan } from './tracing.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('trace context headers without an SDK', () => {
  it('adds nothing when there is no active trace', () => {
    expect(injectTraceContext({})).toEqual({});
  });

  it('continues the trace already in the headers (an outbox row) through a no-op send span', async () => {
    const headers: Record<string, string> = { traceparent: TRACEPARENT, tracestate: 'k=v' };
    const seen = await withMessagingSpan(
      'publish',
      'x.v1.y',
      headers,
      {},
      async () => headers['traceparent'],
    );
    expect(seen).toBe(TRACEPARENT);
    expect(headers['tracestate']).toBe('k=v');
  });

  it('ignores a malformed traceparent', () => {
    expect(injectTraceContext({}, extractTraceContext({ traceparent: 'garbage' }))).toEqual({});
  });
});

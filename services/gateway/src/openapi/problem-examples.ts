import type { ErrorCode } from '@orgmesh/contracts';
import { problemTitle, problemType } from '@orgmesh/service-host/http-edge';

// The problem+json example of each documented error status (the operation examples are in examples.ts).

const PROBLEM_DETAILS: Readonly<Record<number, { detail: string; extra?: Record<string, unknown> }>> = {
  400: {
    detail: 'invalid request: body.agentId',
    extra: {
      issues: [{ path: 'body.agentId', message: 'Too small: expected string to have >=1 characters' }],
    },
  },
  401: { detail: 'missing bearer token' },
  403: { detail: 'an agent reads and acts on its own sessions only' },
  404: { detail: 'no such resource' },
  409: {
    detail: 'event "resume" is not allowed in state "active"',
    extra: { currentState: 'active', allowedEvents: ['pause', 'complete', 'fail', 'expire'] },
  },
  413: { detail: 'request body larger than 1048576 bytes' },
  429: { detail: 'rate limit exceeded, retry after 1 s' },
  503: { detail: 'the sessions service did not answer' },
};

/** An application/problem+json body as the gateway sends it for `status`, with the first code of that status. */
export function problemExample(status: number, code: ErrorCode): Record<string, unknown> {
  const shown = PROBLEM_DETAILS[status] ?? { detail: problemTitle(code) };
  return {
    type: problemType(code),
    title: problemTitle(code),
    status,
    detail: shown.detail,
    code,
    ...shown.extra,
  };
}

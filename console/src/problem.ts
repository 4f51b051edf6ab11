/** A refusal as the gateway sends it: RFC 9457 problem details with orgmesh's stable `code`. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  code?: string;
  [extension: string]: unknown;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
  }
  get status(): number {
    return this.problem.status;
  }
}

/** What a refusal means to the person at the screen, one plain sentence per code. */
const PLAIN: Record<string, string> = {
  unauthenticated: 'Your sign-in is missing or has expired. Sign in again.',
  forbidden: 'You are not allowed to do this.',
  policy_denied: 'A policy of the organisation refuses this.',
  not_found: 'This does not exist (any more).',
  task_not_found: 'This task or approval does not exist (any more).',
  agent_not_found: 'This agent does not exist.',
  profile_not_found: 'This profile does not exist.',
  user_not_found: 'This person is not in the org chart.',
  task_illegal_transition: 'This was already decided or finished.',
  approval_already_decided: 'This approval was already decided.',
  conflict: 'Someone changed this meanwhile. Reload and try again.',
  validation_failed: 'Something in the request is not right.',
  rate_limited: 'Too many requests. Wait a moment and try again.',
  unavailable: 'A service is not reachable right now. Try again shortly.',
  timeout: 'A service took too long to answer. Try again.',
  payload_too_large: 'This is too large to send.',
  internal: 'Something went wrong on the server.',
};

/**
 * The refusal in plain words: the meaning of its code, the problem's own title, and its detail
 * (which names the rule, the earlier decision or the field at fault).
 */
export function plainProblem(error: unknown): {
  headline: string;
  title: string;
  detail: string | undefined;
} {
  if (error instanceof ApiError) {
    const { problem } = error;
    const headline = (problem.code && PLAIN[problem.code]) || problem.title;
    return { headline, title: problem.title, detail: problem.detail };
  }
  if (error instanceof TypeError) {
    return { headline: 'The gateway cannot be reached.', title: 'Network error', detail: error.message };
  }
  return {
    headline: 'Something went wrong.',
    title: 'Error',
    detail: error instanceof Error ? error.message : String(error),
  };
}

/** A problem from a response body; a body that is not one becomes a problem named after the status. */
export function toProblem(status: number, body: unknown): Problem {
  if (typeof body === 'object' && body !== null && typeof (body as Problem).title === 'string') {
    return { ...(body as Problem), status };
  }
  return {
    title: `HTTP ${status}`,
    status,
    detail: typeof body === 'string' && body ? body.slice(0, 300) : undefined,
  };
}

/**
 * Request headers the privacy proxy reads next to the caller's token (HTTP, not NATS).
 *
 * `x-orgmesh-context-id`: the workflow the model call belongs to — the task's A2A `contextId`, the same
 * for every role that works on it. It scopes the request's placeholders (the default `workflow`
 * pseudonym scope): one person keeps one placeholder through a workflow's hand-offs and gets another
 * in the next workflow. Without it the proxy scopes by `x-orgmesh-session-id`, else by the request.
 */
export const PRIVACY_CONTEXT_HEADER = 'x-orgmesh-context-id';
/** Ties the proxy's audit events to an agent work session; the pseudonym scope without a context id. */
export const PRIVACY_SESSION_HEADER = 'x-orgmesh-session-id';

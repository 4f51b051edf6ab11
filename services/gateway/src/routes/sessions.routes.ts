import { z } from 'zod';
import {
  AppError,
  ApplySessionEvent,
  canSeeSession,
  CreateSession,
  GetAgent,
  GetSession,
  ListSessionTransitions,
  ListSessions,
  Session,
  SessionState,
  SessionTransition,
} from '@orgmesh/contracts';
import {
  observerOf,
  ownRoleFilter,
  requireKind,
  requireOwnRole,
  requireSelf,
  selfFilter,
} from '../auth/caller.js';
import { pageQuery, pageOf } from './pagination.js';
import { ALL_KINDS, WRITERS, defineRoute, type RpcCall, type Route } from './route.js';
import type { Caller } from '../auth/caller.js';

const SessionIdParams = z.object({ id: z.uuid().describe('Session id') });

const CreateSessionBody = CreateSession.request.omit({ role: true }).extend({
  role: CreateSession.request.shape.role
    .optional()
    .describe(
      "The agent's role. Agents get their token's role (naming another is 403); an admin may name it, else the registry's.",
    ),
});

const SessionEventBody = ApplySessionEvent.request.pick({ event: true, reason: true, expectedVersion: true });

/**
 * Agents read and change only their own sessions (libs/contracts `canSeeSession`, the rule the
 * event stream applies too); the sessions service checks changes again on its own.
 */
async function visibleSession(call: RpcCall, caller: Caller, id: string, what: string): Promise<Session> {
  const session = await call(GetSession, { id });
  if (!canSeeSession(session, observerOf(caller))) {
    throw new AppError(
      'forbidden',
      `an agent reads and acts on its own sessions only: ${what} belongs to agent "${session.agentId}", the caller is "${caller.subject}"`,
      { details: { callerAgentId: caller.subject, agentId: session.agentId } },
    );
  }
  return session;
}

export const sessionRoutes: Route[] = [
  defineRoute({
    operationId: 'createSession',
    method: 'POST',
    path: '/v1/sessions',
    tag: 'sessions',
    summary: 'Open a session',
    description:
      'Opens a pending session for an agent. An agent opens sessions for itself only, as its own role (from its token). ' +
      'An admin may name the role, otherwise the registry supplies it.',
    access: WRITERS,
    body: CreateSessionBody,
    idempotent: true,
    status: 201,
    response: Session,
    errors: [404],
    grpc: { service: 'Sessions', method: 'CreateSession' },
    async handle({ body, caller, call }) {
      let role: string;
      if (caller.kind === 'agent') {
        requireSelf(caller, body.agentId, 'the session');
        if (body.role !== undefined) requireOwnRole(caller, body.role, 'the session');
        role = caller.role;
      } else {
        role = body.role ?? (await call(GetAgent, { agentId: body.agentId })).agent.role;
      }
      return call(CreateSession, {
        agentId: body.agentId,
        role,
        contextId: body.contextId,
        metadata: body.metadata,
      });
    },
  }),
  defineRoute({
    operationId: 'listSessions',
    method: 'GET',
    path: '/v1/sessions',
    tag: 'sessions',
    summary: 'List sessions',
    description: 'Newest first. Agents see their own sessions only (naming another agent is 403).',
    access: ALL_KINDS,
    // The filters are the contract's own (no NUL, no lone surrogate); only paging is the gateway's.
    query: z.object({
      status: SessionState.optional(),
      role: ListSessions.request.shape.role,
      agentId: ListSessions.request.shape.agentId,
      contextId: ListSessions.request.shape.contextId,
      ...pageQuery(50),
    }),
    status: 200,
    response: ListSessions.response,
    grpc: { service: 'Sessions', method: 'ListSessions' },
    async handle({ query, caller, call }) {
      return call(ListSessions, {
        ...query,
        role: ownRoleFilter(caller, query.role, 'the listed sessions'),
        agentId: selfFilter(caller, query.agentId, 'the listed sessions'),
      });
    },
  }),
  defineRoute({
    operationId: 'getSession',
    method: 'GET',
    path: '/v1/sessions/{id}',
    tag: 'sessions',
    summary: 'Get a session',
    description:
      "One session with its state, version and timestamps. Agents read their own sessions only (another agent's is 403).",
    access: ALL_KINDS,
    params: SessionIdParams,
    status: 200,
    response: Session,
    errors: [404],
    grpc: { service: 'Sessions', method: 'GetSession' },
    async handle({ params, caller, call }) {
      return visibleSession(call, caller, params.id, 'the session');
    },
  }),
  defineRoute({
    operationId: 'applySessionEvent',
    method: 'PUT',
    path: '/v1/sessions/{id}/events',
    tag: 'sessions',
    summary: 'Apply a lifecycle event',
    description:
      'Applies one FSM event (activate, pause, resume, complete, fail, expire). An illegal one is 409 ' +
      '`session_illegal_transition` with `currentState` and `allowedEvents`. The actor is the caller. A repeated ' +
      '`Idempotency-Key` returns the first result without a second transition.',
    access: WRITERS,
    params: SessionIdParams,
    body: SessionEventBody,
    idempotent: true,
    status: 200,
    response: Session,
    errors: [404, 409],
    grpc: { service: 'Sessions', method: 'ApplySessionEvent' },
    async handle({ params, body, caller, call }) {
      requireKind(caller, WRITERS, 'changing a session');
      if (caller.kind === 'agent') await visibleSession(call, caller, params.id, 'the session');
      return call(ApplySessionEvent, { id: params.id, ...body, actor: caller.subject });
    },
  }),
  defineRoute({
    operationId: 'listSessionTransitions',
    method: 'GET',
    path: '/v1/sessions/{id}/transitions',
    tag: 'sessions',
    summary: "A session's transition history",
    description: 'Oldest first: from, to, event, actor, reason, occurredAt.',
    access: ALL_KINDS,
    params: SessionIdParams,
    query: z.object({ ...pageQuery(100) }),
    status: 200,
    response: z.object({ items: z.array(SessionTransition), nextCursor: z.string().nullable() }),
    errors: [404],
    grpc: { service: 'Sessions', method: 'ListSessionTransitions' },
    async handle({ params, query, caller, call }) {
      if (caller.kind === 'agent') await visibleSession(call, caller, params.id, 'the session');
      const { items } = await call(ListSessionTransitions, { id: params.id });
      return pageOf(items, query.limit, query.cursor);
    },
  }),
];

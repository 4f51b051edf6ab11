import type { OperationExample } from './examples.js';
import { SESSION_ID, CONTEXT_ID, T0, T1, T2, session } from './examples.fixtures.js';

/** Agent work sessions and their lifecycle (sessions.routes.ts). */
export const SESSION_EXAMPLES: Readonly<Record<string, OperationExample>> = {
  createSession: {
    request: { agentId: 'finance-agent', contextId: CONTEXT_ID, metadata: { ticket: 'FIN-1042' } },
    response: { ...session, status: 'pending', version: 1, updatedAt: T0, lastTransitionAt: T0 },
  },
  listSessions: {
    parameters: { status: 'active', agentId: 'finance-agent', limit: 20 },
    response: { items: [session], nextCursor: null },
  },
  getSession: { parameters: { id: SESSION_ID }, response: session },
  applySessionEvent: {
    parameters: { id: SESSION_ID },
    request: { event: 'pause', reason: 'waiting for the legal review', expectedVersion: 2 },
    response: { ...session, status: 'paused', version: 3, updatedAt: T2, lastTransitionAt: T2, pausedAt: T2 },
  },
  listSessionTransitions: {
    parameters: { id: SESSION_ID, limit: 50 },
    response: {
      items: [
        {
          seq: 1,
          sessionId: SESSION_ID,
          from: 'pending',
          to: 'active',
          event: 'activate',
          actor: 'finance-agent',
          reason: null,
          causationId: null,
          traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
          occurredAt: T1,
        },
      ],
      nextCursor: null,
    },
  },
};

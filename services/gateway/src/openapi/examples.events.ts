import type { OperationExample } from './examples.js';
import { SESSION_ID, T1 } from './examples.fixtures.js';

/** Lifecycle event subscriptions (SSE) and the single-use tickets a browser subscribes with (events.route.ts). */
export const EVENT_EXAMPLES: Readonly<Record<string, OperationExample>> = {
  subscribeEvents: {
    parameters: { subject: 'sessions.v1.*,mesh.v1.task-updated' },
    response: {
      subject: 'sessions.v1.transitioned',
      sequence: 1042,
      eventId: '9b2e7c1a-0d4f-4e8a-b3c5-6a7d8e9f0a1b',
      publishedAt: T1,
      payload: { sessionId: SESSION_ID, from: 'pending', to: 'active', event: 'activate' },
    },
  },
  createStreamTicket: {
    response: { ticket: 'v1.q83vEjRWeJBo9y5wHJzS1gV3bX0-6kDq', expiresAt: T1 },
  },
};

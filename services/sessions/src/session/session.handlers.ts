import type { Type } from '@nestjs/common';
import {
  ApplySessionEvent,
  CreateSession,
  GetSession,
  ListSessionTransitions,
  ListSessions,
} from '@orgmesh/contracts';
import { countOutcome, rpcController, rpcRoute } from '@orgmesh/messaging';
import type { CallerIdentity, SessionCaller } from '../identity/caller-identity.js';
import type { SessionService } from './session.service.js';
import type { SessionMetrics } from './session.metrics.js';

/**
 * NATS RPC endpoints: verify the caller → service → reply. The transport has already validated the
 * payload; the caller comes from the forwarded JWT only (a payload's `actor` is ignored).
 */
export function sessionHandlers(
  sessions: SessionService,
  metrics: SessionMetrics,
  identity: CallerIdentity,
): Type<unknown> {
  return rpcController('SessionHandlers', [
    rpcRoute(CreateSession, async (request, context) => {
      const caller = await identity.of(context);
      const { session } = await sessions.create(
        { ...request, idempotencyKey: callerKey(caller, context.idempotencyKey) },
        caller,
      );
      return session;
    }),
    rpcRoute(GetSession, async (request, context) => sessions.get(request.id, await identity.of(context))),
    rpcRoute(ListSessions, async (request, context) => sessions.list(request, await identity.of(context))),
    rpcRoute(ApplySessionEvent, async (request, context) => {
      const { session } = await countOutcome(
        (result) => metrics.transitions.inc({ event: request.event, result }),
        async () => {
          const caller = await identity.of(context);
          return sessions.applyEvent({
            id: request.id,
            event: request.event,
            reason: request.reason,
            causationId: request.causationId,
            expectedVersion: request.expectedVersion,
            caller,
            actor: caller.agentId,
            idempotencyKey: callerKey(caller, context.idempotencyKey),
          });
        },
        ({ applied }) => (applied ? 'applied' : 'noop'),
      );
      return session;
    }),
    rpcRoute(ListSessionTransitions, async (request, context) => ({
      items: await sessions.listTransitions(request.id, await identity.of(context)),
    })),
  ]);
}

/**
 * Idempotency keys are the caller's own: a key another caller chose never answers with that
 * caller's result. The gateway already forwards `<token subject>/<key>`; a raw bus caller's key is
 * scoped the same way here.
 */
function callerKey(caller: SessionCaller, key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  return key.startsWith(`${caller.agentId}/`) ? key : `${caller.agentId}/${key}`;
}

import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  ApplySessionEvent,
  CreateSession,
  GetSession,
  ListSessionTransitions,
  ListSessions,
  type RpcRequest,
  type RpcResponse,
} from '@orgmesh/contracts';
import { countOutcome, RpcHandler, type MessageContext } from '@orgmesh/messaging';
import { CallerIdentity, type SessionCaller } from '../identity/caller-identity.js';
import { SessionService } from './session.service.js';
import { SessionMetrics } from './session.metrics.js';

/**
 * NATS RPC endpoints: verify the caller → service → reply. The transport has already validated the
 * payload; the caller comes from the forwarded JWT only (a payload's `actor` is ignored).
 */
@Controller()
export class SessionHandlers {
  constructor(
    @Inject(SessionService) private readonly sessions: SessionService,
    @Inject(SessionMetrics) private readonly metrics: SessionMetrics,
    @Inject(CallerIdentity) private readonly identity: CallerIdentity,
  ) {}

  @RpcHandler(CreateSession)
  async create(
    @Payload() request: RpcRequest<typeof CreateSession>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof CreateSession>> {
    const caller = await this.identity.of(context);
    const { session } = await this.sessions.create(
      { ...request, idempotencyKey: callerKey(caller, context.idempotencyKey) },
      caller,
    );
    return session;
  }

  @RpcHandler(GetSession)
  async get(
    @Payload() request: RpcRequest<typeof GetSession>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof GetSession>> {
    return this.sessions.get(request.id, await this.identity.of(context));
  }

  @RpcHandler(ListSessions)
  async list(
    @Payload() request: RpcRequest<typeof ListSessions>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof ListSessions>> {
    return this.sessions.list(request, await this.identity.of(context));
  }

  @RpcHandler(ApplySessionEvent)
  async applyEvent(
    @Payload() request: RpcRequest<typeof ApplySessionEvent>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof ApplySessionEvent>> {
    const { session } = await countOutcome(
      (result) => this.metrics.transitions.inc({ event: request.event, result }),
      async () => {
        const caller = await this.identity.of(context);
        return this.sessions.applyEvent({
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
  }

  @RpcHandler(ListSessionTransitions)
  async listTransitions(
    @Payload() request: RpcRequest<typeof ListSessionTransitions>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof ListSessionTransitions>> {
    return { items: await this.sessions.listTransitions(request.id, await this.identity.of(context)) };
  }
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

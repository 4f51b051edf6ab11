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
import { RpcHandler, type MessageContext } from '@orgmesh/messaging';
import { SessionService } from './session.service.js';
import { SessionMetrics } from './session.metrics.js';

/** NATS RPC endpoints: the transport has already validated the payload; parse → service → reply. */
@Controller()
export class SessionHandlers {
  constructor(
    @Inject(SessionService) private readonly sessions: SessionService,
    @Inject(SessionMetrics) private readonly metrics: SessionMetrics,
  ) {}

  @RpcHandler(CreateSession)
  async create(
    @Payload() request: RpcRequest<typeof CreateSession>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof CreateSession>> {
    const { session } = await this.sessions.create({ ...request, idempotencyKey: context.idempotencyKey });
    return session;
  }

  @RpcHandler(GetSession)
  async get(@Payload() request: RpcRequest<typeof GetSession>): Promise<RpcResponse<typeof GetSession>> {
    return this.sessions.get(request.id);
  }

  @RpcHandler(ListSessions)
  async list(@Payload() request: RpcRequest<typeof ListSessions>): Promise<RpcResponse<typeof ListSessions>> {
    return this.sessions.list(request);
  }

  @RpcHandler(ApplySessionEvent)
  async applyEvent(
    @Payload() request: RpcRequest<typeof ApplySessionEvent>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof ApplySessionEvent>> {
    try {
      const { session, applied } = await this.sessions.applyEvent({ ...request, idempotencyKey: context.idempotencyKey });
      this.metrics.transitions.inc({ event: request.event, result: applied ? 'applied' : 'noop' });
      return session;
    } catch (error) {
      this.metrics.transitions.inc({ event: request.event, result: resultLabel(error) });
      throw error;
    }
  }

  @RpcHandler(ListSessionTransitions)
  async listTransitions(
    @Payload() request: RpcRequest<typeof ListSessionTransitions>,
  ): Promise<RpcResponse<typeof ListSessionTransitions>> {
    return { items: await this.sessions.listTransitions(request.id) };
  }
}

function resultLabel(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'internal';
}

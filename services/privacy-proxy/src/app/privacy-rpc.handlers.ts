import { Controller, Inject } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import {
  GetRedactions,
  GetUsage,
  MaskText,
  RestoreText,
  type RpcRequest,
  type RpcResponse,
} from '@orgmesh/contracts';
import { RpcHandler, type MessageContext } from '@orgmesh/messaging';
import type { RpcAnswer } from './rpc-answer.js';

/** The answers the controller serves, built from the proxy's parts (privacy-proxy.module.ts). */
export abstract class PrivacyRpcAnswers {
  abstract readonly usage: RpcAnswer<typeof GetUsage>;
  abstract readonly redactions: RpcAnswer<typeof GetRedactions>;
  abstract readonly maskText: RpcAnswer<typeof MaskText>;
  abstract readonly restoreText: RpcAnswer<typeof RestoreText>;
}

/**
 * The proxy's NATS RPCs on the orgmesh transport (one queue group: any replica answers). Each answer
 * verifies the forwarded token itself, as every service does; the transport has validated the payload.
 */
@Controller()
export class PrivacyRpcHandlers {
  constructor(@Inject(PrivacyRpcAnswers) private readonly answers: PrivacyRpcAnswers) {}

  /** GET /v1/usage at the gateway. */
  @RpcHandler(GetUsage)
  usage(
    @Payload() request: RpcRequest<typeof GetUsage>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof GetUsage>> {
    return this.answers.usage(request, context);
  }

  /** GET /v1/privacy/redactions at the gateway. */
  @RpcHandler(GetRedactions)
  redactions(
    @Payload() request: RpcRequest<typeof GetRedactions>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof GetRedactions>> {
    return this.answers.redactions(request, context);
  }

  /** Text a bridge sends to a remote A2A agent, masked as a model call's (ADR 0021). */
  @RpcHandler(MaskText)
  maskText(
    @Payload() request: RpcRequest<typeof MaskText>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof MaskText>> {
    return this.answers.maskText(request, context);
  }

  /** The remote agent's answer, restored with the handle mask-text sealed. */
  @RpcHandler(RestoreText)
  restoreText(
    @Payload() request: RpcRequest<typeof RestoreText>,
    @Ctx() context: MessageContext,
  ): Promise<RpcResponse<typeof RestoreText>> {
    return this.answers.restoreText(request, context);
  }
}

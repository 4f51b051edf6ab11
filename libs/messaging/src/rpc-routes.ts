import { Controller, type Type } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import type { RpcDefinition, RpcRequest, RpcResponse } from '@orgmesh/contracts';
import { RpcHandler } from './nats-transport.decorators.js';
import type { MessageContext } from './types.js';

/** One RPC a service answers: its contract, and what answers a request the transport validated. */
export interface RpcRoute {
  readonly rpc: RpcDefinition;
  readonly answer: (request: never, ctx: MessageContext) => Promise<unknown>;
}

/**
 * `answer` bound to `rpc`, typed by the contract: it takes the request as the contract parses it
 * and must return the contract's response.
 */
export function rpcRoute<R extends RpcDefinition>(
  rpc: R,
  answer: (request: RpcRequest<R>, ctx: MessageContext) => Promise<RpcResponse<R>>,
): RpcRoute {
  return { rpc, answer };
}

/**
 * The Nest controller of a service's RPCs (for `handlersModule`): one `@RpcHandler` method per
 * route, named after its subject. The routes close over the service's instances, which are built
 * outside Nest anyway, so a service lists contract → answer once instead of writing, per RPC, a
 * decorated method that names its contract three times and an injection token per dependency.
 * `name` names the controller in Nest's errors. Two routes of one subject are refused.
 */
export function rpcController(name: string, routes: readonly RpcRoute[]): Type<unknown> {
  @Controller()
  class RpcRoutes {}
  Object.defineProperty(RpcRoutes, 'name', { value: name });
  for (const { rpc, answer } of routes) {
    if (Object.hasOwn(RpcRoutes.prototype, rpc.subject))
      throw new Error(`${name} answers ${rpc.subject} twice`);
    const descriptor: PropertyDescriptor = {
      value: (request: never, ctx: MessageContext) => answer(request, ctx),
      writable: true,
      configurable: true,
    };
    Object.defineProperty(RpcRoutes.prototype, rpc.subject, descriptor);
    RpcHandler(rpc)(RpcRoutes.prototype, rpc.subject, descriptor);
    // As `(@Payload() request, @Ctx() ctx)` would: Nest passes only the payload to an undecorated method.
    Payload()(RpcRoutes.prototype, rpc.subject, 0);
    Ctx()(RpcRoutes.prototype, rpc.subject, 1);
  }
  return RpcRoutes;
}

import type { RpcDefinition, RpcRequest, RpcResponse } from '@orgmesh/contracts';
import type { MessageContext } from '@orgmesh/messaging';

/**
 * What the proxy answers to one of its NATS RPCs, apart from how it is served: the service serves
 * it through its route table (privacy-rpc.handlers.ts), tests that assemble a proxy from parts
 * with `bus.serve`.
 */
export type RpcAnswer<R extends RpcDefinition> = (
  request: RpcRequest<R>,
  ctx: MessageContext,
) => Promise<RpcResponse<R>>;

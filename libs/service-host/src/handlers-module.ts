import { Module, type DynamicModule, type Provider, type Type } from '@nestjs/common';

/** A class a controller injects by (`@Inject(Token)`), abstract or not. */
type Token<T> = abstract new (...args: never[]) => T;

/** `value` as what a controller's `@Inject(token)` receives. */
export function instance<T>(token: Token<T>, value: T): Provider {
  return { provide: token, useValue: value };
}

/**
 * The Nest module a service listens with (ServiceHost.listen): its NATS RPC `controllers` over
 * instances built outside Nest by the service's start, so that its jobs, consumers and tests share
 * them with the handlers. Nest only wires; nothing is constructed by its container. `name` names
 * the module in Nest's errors.
 */
export function handlersModule(
  name: string,
  controllers: readonly Type<unknown>[],
  instances: readonly Provider[],
): DynamicModule {
  @Module({})
  class HandlersModule {}
  Object.defineProperty(HandlersModule, 'name', { value: name });
  return { module: HandlersModule, controllers: [...controllers], providers: [...instances] };
}

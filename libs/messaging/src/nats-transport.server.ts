import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { Subscription } from '@nats-io/nats-core';
import { isObservable, lastValueFrom } from 'rxjs';
import { allContracts, type EventDefinition, type RpcDefinition } from '@orgmesh/contracts';
import type { BusOptions } from './bus-options.js';
import { connectBus, MessageBus } from './connection.js';
import { conventionalDurable } from './names.js';
import type { BusStatus, ConsumeOptions, ConsumerHandle, EventContext, MessageContext } from './types.js';

export interface NatsTransportServerOptions {
  /** First part of durable names, `<serviceName>--<context>-v1-<event>`; default: the bus name. */
  serviceName?: string;
  /** RPC queue group; default: the bus name. */
  queue?: string;
  /** Consumer settings for every event handler, or per event contract. */
  consume?: ConsumeOptions | ((event: EventDefinition) => ConsumeOptions);
  /** Where handler patterns are looked up; default: every contract defined (allContracts()). */
  contracts?: ReadonlyArray<EventDefinition | RpcDefinition>;
}

/** Connection events a Nest app can subscribe to with `server.on(...)`. */
export type NatsTransportEvents = {
  disconnect: (server: string) => void;
  reconnect: (server: string) => void;
  error: (error: Error) => void;
};

export type NatsTransportStatus = 'connected' | 'disconnected' | 'reconnecting';

/**
 * A custom @nestjs/microservices transport on `MessageBus`. On listen, every
 * `@MessagePattern(rpc.subject)` handler is served (queue group = service) and every
 * `@EventPattern(event.subject)` handler gets a durable consumer named
 * `<serviceName>--<context>-v1-<event>`. Handlers receive the plain validated payload; `@Ctx()`
 * gives the MessageContext/EventContext. Wire format and errors are the bus's: plain JSON body,
 * metadata in headers, no Nest envelope.
 */
export class NatsTransportServer
  extends Server<NatsTransportEvents, NatsTransportStatus>
  implements CustomTransportStrategy
{
  private bus: MessageBus | undefined;
  private readonly busOptions: BusOptions | undefined;
  private readonly ownsBus: boolean;
  private readonly subscriptions: Subscription[] = [];
  private readonly consumers: ConsumerHandle[] = [];
  private readonly listeners: Array<{ event: keyof NatsTransportEvents; callback: (arg: never) => void }> =
    [];
  private stopStatus: (() => void) | undefined;

  constructor(
    busOrOptions: MessageBus | BusOptions,
    private readonly options: NatsTransportServerOptions = {},
  ) {
    super();
    if (busOrOptions instanceof MessageBus) {
      this.bus = busOrOptions;
      this.ownsBus = false;
    } else {
      this.busOptions = busOrOptions;
      this.ownsBus = true;
    }
  }

  /** Binds every registered handler; reports failure (unknown contract, NATS down) through the callback. */
  listen(callback: (...optionalParams: unknown[]) => unknown): void {
    void this.start().then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  private async start(): Promise<void> {
    if (!this.bus) this.bus = await connectBus(this.busOptions as BusOptions);
    const bus = this.bus;
    this.stopStatus = bus.onStatus((status) => this.onBusStatus(status));
    const contracts = new Map((this.options.contracts ?? allContracts()).map((c) => [c.subject, c]));
    const serviceName = this.options.serviceName ?? bus.name;
    for (const [pattern, handler] of this.messageHandlers) {
      const def = contracts.get(pattern);
      if (!def) {
        throw new Error(
          `no contract has subject "${pattern}": bind handlers with RpcHandler/EventHandler and import the contract module`,
        );
      }
      if (handler.isEventHandler) {
        if (def.kind !== 'event') throw new Error(`@EventPattern("${pattern}") is bound to an RPC contract`);
        const opts =
          typeof this.options.consume === 'function' ? this.options.consume(def) : this.options.consume;
        this.consumers.push(
          await bus.consume(
            def,
            conventionalDurable(serviceName, def.subject),
            (payload, ctx) => this.runEventHandlers(handler, payload, ctx),
            opts,
          ),
        );
      } else {
        if (def.kind !== 'rpc')
          throw new Error(`@MessagePattern("${pattern}") is bound to an event contract`);
        this.subscriptions.push(
          bus.serve(def, (payload, ctx) => this.runRpcHandler(handler, payload, ctx), {
            queue: this.options.queue,
          }),
        );
      }
    }
    // Listening means the server has our subscriptions: a request from another connection right
    // after startup must not meet "no responders".
    await bus.nc.flush();
    this._status$.next('connected');
  }

  private async runRpcHandler(
    handler: MessageHandler,
    payload: unknown,
    ctx: MessageContext,
  ): Promise<never> {
    const result: unknown = await handler(payload, ctx);
    // The bus validates the value against the response schema before replying.
    return (
      isObservable(result) ? await lastValueFrom(result, { defaultValue: undefined }) : result
    ) as never;
  }

  /** Every handler bound to the event (Nest chains them through `next`), in order; the first failure nak/dead-letters. */
  private async runEventHandlers(
    handler: MessageHandler,
    payload: unknown,
    ctx: EventContext,
  ): Promise<void> {
    for (
      let current: MessageHandler | undefined = handler;
      current;
      current = current.next as MessageHandler | undefined
    ) {
      const result: unknown = await current(payload, ctx);
      if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
    }
  }

  private onBusStatus(status: BusStatus): void {
    if (status.type === 'disconnect') this._status$.next('disconnected');
    if (status.type === 'reconnecting') this._status$.next('reconnecting');
    if (status.type === 'reconnect') this._status$.next('connected');
    for (const { event, callback } of this.listeners) {
      if (event === status.type) {
        const arg = status.type === 'error' ? status.error : 'server' in status ? status.server : undefined;
        (callback as (arg: unknown) => void)(arg);
      }
    }
  }

  override on<
    EventKey extends keyof NatsTransportEvents = keyof NatsTransportEvents,
    EventCallback extends NatsTransportEvents[EventKey] = NatsTransportEvents[EventKey],
  >(event: EventKey, callback: EventCallback): void {
    this.listeners.push({ event, callback: callback as (arg: never) => void });
  }

  override unwrap<T>(): T {
    if (!this.bus) throw new Error('NatsTransportServer is not listening yet');
    return this.bus.nc as T;
  }

  /** Stops consumers, unsubscribes (pending requests still answered), waits for handlers, then drains the bus it owns. */
  async close(): Promise<void> {
    this.stopStatus?.();
    await Promise.allSettled(this.consumers.splice(0).map((c) => c.stop()));
    await Promise.allSettled(this.subscriptions.splice(0).map((s) => s.drain()));
    if (this.bus) {
      await this.bus.whenIdle();
      if (this.ownsBus) await this.bus.close();
    }
    this._status$.next('disconnected');
  }
}

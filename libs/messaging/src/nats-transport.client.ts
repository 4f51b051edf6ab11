import { randomUUID } from 'node:crypto';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { Observable } from 'rxjs';
import {
  allContracts,
  AppError,
  HEADERS,
  type EventDefinition,
  type RpcDefinition,
} from '@orgmesh/contracts';
import { connectBus, MessageBus, type BusOptions } from './connection.js';
import type { CallOptions } from './headers.js';

export interface NatsTransportClientOptions {
  /** Applied to every call (e.g. a service identity's token); packet metadata adds to it. */
  callOptions?: CallOptions;
  /** Where string patterns are looked up; default: every contract defined. */
  contracts?: ReadonlyArray<EventDefinition | RpcDefinition>;
}

/**
 * A Nest ClientProxy speaking the orgmesh wire format: `send(rpc, payload)` is `bus.request`
 * (validated both ways, typed errors), `emit(event, payload)` is `bus.publish` with a fresh
 * event id. Patterns may be contract definitions or their subjects. Metadata set with
 * `setOnDispatchHook` travels as headers (`authorization`, `idempotency-key`, any other).
 */
export class NatsTransportClient extends ClientProxy {
  private bus: MessageBus | undefined;
  private connecting: Promise<MessageBus> | undefined;
  private readonly busOptions: BusOptions | undefined;
  private readonly ownsBus: boolean;

  constructor(
    busOrOptions: MessageBus | BusOptions,
    private readonly options: NatsTransportClientOptions = {},
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

  async connect(): Promise<MessageBus> {
    if (this.bus) return this.bus;
    this.connecting ??= connectBus(this.busOptions as BusOptions).then((bus) => {
      this.bus = bus;
      return bus;
    });
    return this.connecting;
  }

  async close(): Promise<void> {
    if (this.ownsBus) await this.bus?.close();
  }

  unwrap<T>(): T {
    if (!this.bus) throw new Error('NatsTransportClient is not connected');
    return this.bus.nc as T;
  }

  override send<TResult = unknown, TInput = unknown>(
    pattern: RpcDefinition | string,
    data: TInput,
  ): Observable<TResult> {
    return super.send<TResult, TInput>(typeof pattern === 'string' ? pattern : pattern.subject, data);
  }

  override emit<TResult = unknown, TInput = unknown>(
    pattern: EventDefinition | string,
    data: TInput,
  ): Observable<TResult> {
    return super.emit<TResult, TInput>(typeof pattern === 'string' ? pattern : pattern.subject, data);
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    let cancelled = false;
    void (async () => {
      const def = this.contract(packet.pattern, 'rpc');
      const bus = await this.connect();
      return bus.request(def, packet.data, this.callOptions(packet.metadata));
    })().then(
      (response: unknown) => !cancelled && callback({ response, isDisposed: true }),
      (err: unknown) => !cancelled && callback({ err, isDisposed: true }),
    );
    // A NATS request cannot be withdrawn; unsubscribing only drops its late answer.
    return () => {
      cancelled = true;
    };
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket): Promise<T> {
    const def = this.contract(packet.pattern, 'event');
    const bus = await this.connect();
    const { eventId, ...headers } = { ...(packet.metadata ?? {}) };
    return (await bus.publish(def, packet.data, { eventId: eventId ?? randomUUID(), headers })) as T;
  }

  private contract<K extends 'rpc' | 'event'>(
    pattern: unknown,
    kind: K,
  ): K extends 'rpc' ? RpcDefinition : EventDefinition {
    const subject = String(pattern);
    const def = (this.options.contracts ?? allContracts()).find((c) => c.subject === subject);
    if (!def || def.kind !== kind)
      throw new AppError('not_found', `no ${kind} contract with subject ${subject}`);
    return def as K extends 'rpc' ? RpcDefinition : EventDefinition;
  }

  private callOptions(metadata: Record<string, string> | undefined): CallOptions {
    const base = this.options.callOptions ?? {};
    if (!metadata) return base;
    const {
      [HEADERS.authorization]: authorization,
      [HEADERS.idempotencyKey]: idempotencyKey,
      ...rest
    } = metadata;
    return {
      ...base,
      authorization: authorization ?? base.authorization,
      idempotencyKey: idempotencyKey ?? base.idempotencyKey,
      headers: { ...(base.headers ?? {}), ...rest },
    };
  }
}

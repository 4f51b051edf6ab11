import type { Msg, Subscription } from '@nats-io/nats-core';
import {
  GetDirectory,
  GetProfile,
  OrgImported,
  ProfilePublished,
  type RpcResponse,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';

/** A change the registry announced, as far as the privacy proxy cares. */
export type RegistryChange =
  /** A profile of `role` was published with registry version `version`. */
  | { readonly kind: 'profile'; readonly role: string; readonly version: number }
  | { readonly kind: 'org'; readonly orgVersion: number }
  /** Announcements may have been missed (a reconnect, an unreadable event): anything may have changed. */
  | { readonly kind: 'all' };

/** The registry as the privacy proxy reads it: a role's default profile, the directory, and change announcements. */
export interface RegistryReader {
  /** Throws the registry's AppError: `profile_not_found` for a role without a profile, `unavailable`/`timeout` when unreachable. */
  getProfile(role: string): Promise<RpcResponse<typeof GetProfile>>;
  getDirectory(): Promise<RpcResponse<typeof GetDirectory>>;
  /** Calls `listener` for every announced change until the returned function is called. */
  watch(listener: (change: RegistryChange) => void): () => void;
}

/**
 * The registry over NATS: RPCs with a bounded timeout, and the registry's events on plain core
 * subscriptions. Every replica must see every change (a durable consumer shared by the replicas
 * would hand each event to one of them), and JetStream-published events reach core subscribers too.
 * A reconnect reports `all`, since events sent while disconnected are lost to core subscribers.
 */
export class NatsRegistryReader implements RegistryReader {
  constructor(
    private readonly bus: MessageBus,
    private readonly timeoutMs: number,
  ) {}

  getProfile(role: string): Promise<RpcResponse<typeof GetProfile>> {
    return this.bus.request(GetProfile, { role }, { timeoutMs: this.timeoutMs });
  }

  getDirectory(): Promise<RpcResponse<typeof GetDirectory>> {
    return this.bus.request(GetDirectory, {}, { timeoutMs: this.timeoutMs });
  }

  watch(listener: (change: RegistryChange) => void): () => void {
    const on = (subject: string, toChange: (msg: Msg) => RegistryChange): Subscription =>
      this.bus.nc.subscribe(this.bus.subject(subject), {
        callback: (error, msg) => listener(error ? { kind: 'all' } : toChange(msg)),
      });
    const subscriptions = [
      on(ProfilePublished.subject, (msg) => {
        const event = ProfilePublished.schema.safeParse(parseJson(msg));
        return event.success
          ? { kind: 'profile', role: event.data.role, version: event.data.version }
          : { kind: 'all' };
      }),
      on(OrgImported.subject, (msg) => {
        const event = OrgImported.schema.safeParse(parseJson(msg));
        return event.success ? { kind: 'org', orgVersion: event.data.orgVersion } : { kind: 'all' };
      }),
    ];
    const stopStatus = this.bus.onStatus((status) => {
      if (status.type === 'reconnect') listener({ kind: 'all' });
    });
    return () => {
      stopStatus();
      for (const subscription of subscriptions) subscription.unsubscribe();
    };
  }
}

function parseJson(msg: Msg): unknown {
  try {
    return msg.json();
  } catch {
    return undefined;
  }
}

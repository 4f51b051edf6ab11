import type { Msg, Subscription } from '@nats-io/nats-core';
import {
  AgentRegistered,
  AgentRemoved,
  AgentUpdated,
  AppError,
  GetAgent,
  GetDirectory,
  GetProfile,
  OrgImported,
  ProfilePublished,
  type RpcResponse,
} from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';

/** Readings of the directory started over because an import landed mid-way, before giving up. */
const MAX_DIRECTORY_ATTEMPTS = 3;

/** A change the registry announced, as far as the privacy proxy cares. */
export type RegistryChange =
  /** Profile `profileId` of `role` was published with registry version `version`. */
  | { readonly kind: 'profile'; readonly role: string; readonly profileId: string; readonly version: number }
  /**
   * Agent `agentId`'s role or effective profile may differ from registry version `version` on
   * (`present`: registered or updated), or the agent is gone (`present: false`, removed).
   */
  | { readonly kind: 'agent'; readonly agentId: string; readonly version: number; readonly present: boolean }
  | { readonly kind: 'org'; readonly orgVersion: number }
  /** Announcements may have been missed (a reconnect, an unreadable event): anything may have changed. */
  | { readonly kind: 'all' };

/**
 * The registry as the privacy proxy reads it: a role's default profile, a profile by id, an agent's
 * effective profile, the directory, and change announcements.
 */
export interface RegistryReader {
  /** Throws the registry's AppError: `profile_not_found` for a role without a profile, `unavailable`/`timeout` when unreachable. */
  getProfile(role: string): Promise<RpcResponse<typeof GetProfile>>;
  /** Throws `profile_not_found` for an unknown profile id, `unavailable`/`timeout` when unreachable. */
  getProfileById(profileId: string): Promise<RpcResponse<typeof GetProfile>>;
  /** Throws `agent_not_found` for an id the registry does not declare, `unavailable`/`timeout` when unreachable. */
  getAgent(agentId: string): Promise<RpcResponse<typeof GetAgent>>;
  /**
   * The whole directory. With `unlessOrgVersion`: undefined when the registry's org version is still
   * that one (one small request instead of every page).
   */
  getDirectory(unlessOrgVersion?: number): Promise<RpcResponse<typeof GetDirectory> | undefined>;
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

  getProfileById(profileId: string): Promise<RpcResponse<typeof GetProfile>> {
    return this.bus.request(GetProfile, { profileId }, { timeoutMs: this.timeoutMs });
  }

  getAgent(agentId: string): Promise<RpcResponse<typeof GetAgent>> {
    return this.bus.request(GetAgent, { agentId }, { timeoutMs: this.timeoutMs });
  }

  /**
   * The whole directory, page by page (ADR 0013). Every page names its org version: when an import
   * lands between two pages the reading starts over, so the dictionary is never a mix of two charts.
   */
  async getDirectory(unlessOrgVersion?: number): Promise<RpcResponse<typeof GetDirectory> | undefined> {
    if (unlessOrgVersion !== undefined) {
      const probe = await this.bus.request(GetDirectory, { limit: 1 }, { timeoutMs: this.timeoutMs });
      if (probe.orgVersion === unlessOrgVersion) return undefined;
    }
    for (let attempt = 1; ; attempt++) {
      const first = await this.bus.request(GetDirectory, {}, { timeoutMs: this.timeoutMs });
      const people = [...first.people];
      let page = first;
      while (page.nextAfter !== undefined && page.orgVersion === first.orgVersion) {
        page = await this.bus.request(GetDirectory, { after: page.nextAfter }, { timeoutMs: this.timeoutMs });
        people.push(...page.people);
      }
      if (page.orgVersion === first.orgVersion) return { ...first, people, version: page.version };
      if (attempt >= MAX_DIRECTORY_ATTEMPTS)
        throw new AppError('unavailable', 'the org chart kept changing while the directory was read');
    }
  }

  watch(listener: (change: RegistryChange) => void): () => void {
    // toChange answers undefined for an event that changes nothing the proxy uses.
    const on = (subject: string, toChange: (msg: Msg) => RegistryChange | undefined): Subscription =>
      this.bus.nc.subscribe(this.bus.subject(subject), {
        callback: (error, msg) => {
          const change = error ? { kind: 'all' as const } : toChange(msg);
          if (change) listener(change);
        },
      });
    const subscriptions = [
      on(ProfilePublished.subject, (msg) => {
        const event = ProfilePublished.schema.safeParse(parseJson(msg));
        return event.success
          ? {
              kind: 'profile',
              role: event.data.role,
              profileId: event.data.profileId,
              version: event.data.version,
            }
          : { kind: 'all' };
      }),
      on(AgentRegistered.subject, (msg) => {
        const event = AgentRegistered.schema.safeParse(parseJson(msg));
        return event.success
          ? { kind: 'agent', agentId: event.data.agent.id, version: event.data.version, present: true }
          : { kind: 'all' };
      }),
      on(AgentUpdated.subject, (msg) => {
        const event = AgentUpdated.schema.safeParse(parseJson(msg));
        if (!event.success) return { kind: 'all' };
        // Only the role and the effective profile decide how an agent's requests are masked
        // (`profile` is also listed when the profile it runs under was republished).
        const { changed } = event.data;
        if (!changed.includes('profile') && !changed.includes('role')) return undefined;
        return { kind: 'agent', agentId: event.data.agent.id, version: event.data.version, present: true };
      }),
      on(AgentRemoved.subject, (msg) => {
        const event = AgentRemoved.schema.safeParse(parseJson(msg));
        return event.success
          ? { kind: 'agent', agentId: event.data.agentId, version: event.data.version, present: false }
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

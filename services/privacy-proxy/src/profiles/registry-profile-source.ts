import type { JSONWebKeySet } from 'jose';
import { AgentId, AppError } from '@orgmesh/contracts';
import type { Directory, PrivacyProfile } from '@orgmesh/privacy';
import type { Logger } from '@orgmesh/telemetry';
import type { DirectoryStatus, ProfileCaller, ProfileSource } from './profile-source.js';
import { expire, MISS, RegistryCache, slotIn, type Loaded, type Slot } from './registry-cache.js';
import type { RegistryChange, RegistryReader } from './registry-reader.js';
import { SignedProfiles, type ProfileById } from './signed-profiles.js';

export { toPrivacyProfile } from './signed-profiles.js';

export interface RegistryProfileSourceOptions {
  /** How long a profile or the directory is used without asking again when no change was announced. */
  readonly ttlMs: number;
  /**
   * What a role gets when the registry has no profile for it (`profile_not_found`, or a role id the
   * registry cannot have); undefined: no profile, so the proxy refuses the role's requests.
   */
  readonly fallback?: PrivacyProfile;
  /** Verify signed profiles against these keys only; default: the keys the registry sends with each profile. */
  readonly trustedKeys?: JSONWebKeySet;
  /** After a failed refresh the cached value is served without asking again for this long; default 2 s. */
  readonly retryAfterMs?: number;
  readonly now?: () => number;
}

/** The registry agent a token's subject names: the role it is declared with and the profile it runs under. */
interface AgentBinding {
  readonly role: string;
  readonly profileId: string;
}

const DEFAULT_RETRY_AFTER_MS = 2_000;

/**
 * Privacy profiles and the org-chart directory from the registry, cached and refreshed when the
 * registry announces a change.
 *
 * - A caller whose token subject is a registry agent gets the profile the registry runs that agent
 *   under (rpc.registry.v1.get-agent → `profileId` → rpc.registry.v1.get-profile `{profileId}`),
 *   provided the registry declares the agent with the token's role. Any other caller (not an agent,
 *   `agent_not_found`, an agent of another role than the token's) gets its role's default profile
 *   (get-profile `{role}`), or `fallback` where the role has none.
 * - A profile is used only after its signed form (`jws`) verifies, and only the signed payload is
 *   read: it must be the profile asked for (the role's default, or the id), of the token's role, and
 *   not older than one already seen. The agent → profile mapping is not signed: a peer that can answer
 *   on the bus can at most choose among the signed profiles of the caller's own role.
 * - The same object is returned while nothing changed (the engine compiles detectors per object),
 *   and one profile reached by role and by id is one object. A cache hit costs map lookups only.
 * - Fail closed: with nothing cached, an unreachable registry or a refused signature is `unavailable`
 *   (503), never a request passed through unmasked. With a verified entry cached, an unreachable
 *   registry leaves it in use (a change can only come from the registry, which then announces it);
 *   a refused signature drops it.
 */
export class RegistryProfileSource implements ProfileSource {
  /** Per role: its default profile. */
  private readonly roleProfiles = new Map<string, Slot<PrivacyProfile | undefined>>();
  /** Per token subject: the registry agent it is, undefined when it is none. */
  private readonly agents = new Map<string, Slot<AgentBinding | undefined>>();
  /** Per profile id, for agents: undefined while the registry does not publish it. */
  private readonly profilesById = new Map<string, Slot<ProfileById | undefined>>();
  private readonly directory: Slot<Directory> = { generation: 0, awaited: undefined };
  /** When the registry last answered the directory, and since when refreshing it fails. */
  private readonly directoryHealth: {
    confirmedAt?: number;
    failingSince?: number;
    orgVersion: number;
    people: number;
  } = { orgVersion: 0, people: 0 };
  private readonly now: () => number;
  private readonly cache: RegistryCache;
  private readonly signed: SignedProfiles;
  private stopWatching: (() => void) | undefined;
  private readonly directoryListeners = new Set<(directory: Directory) => void>();
  /** The directory last handed to the listeners. */
  private announcedDirectory: Directory | undefined;

  constructor(
    private readonly registry: RegistryReader,
    private readonly logger: Logger,
    private readonly options: RegistryProfileSourceOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.cache = new RegistryCache(logger, {
      ttlMs: options.ttlMs,
      retryAfterMs: options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS,
      now: this.now,
    });
    this.signed = new SignedProfiles(registry, options);
  }

  /** Starts following the registry's change announcements. */
  start(): void {
    this.stopWatching ??= this.registry.watch((change) => this.changed(change));
  }

  stop(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }

  profileFor(caller: ProfileCaller): Promise<PrivacyProfile | undefined> {
    const sub = caller.sub;
    if (sub === undefined) return this.getProfile(caller.role);
    // The hot path: everything at hand and fresh, answered from the maps without another await.
    const now = this.now();
    const binding = this.cache.peek(this.agents.get(sub), now);
    if (binding !== MISS) {
      if (binding === undefined || binding.role !== caller.role) {
        const profile = this.cache.peek(this.roleProfiles.get(caller.role), now);
        if (profile !== MISS) return Promise.resolve(profile);
      } else {
        const entry = this.cache.peek(this.profilesById.get(binding.profileId), now);
        if (entry !== MISS && entry !== undefined && entry.role === caller.role)
          return Promise.resolve(entry.privacy);
      }
    }
    return this.resolve(caller.role, sub);
  }

  /** The default profile of a role (or the fallback). */
  getProfile(role: string): Promise<PrivacyProfile | undefined> {
    return this.cache.read(slotIn(this.roleProfiles, role), () => this.signed.loadRoleProfile(role), {
      what: 'profile',
      role,
    });
  }

  async getDirectory(): Promise<Directory> {
    const directory = await this.cache.read(this.directory, () => this.loadDirectory(), {
      what: 'directory',
    });
    if (directory !== this.announcedDirectory) {
      this.announcedDirectory = directory;
      for (const listener of this.directoryListeners) listener(directory);
    }
    return directory;
  }

  onDirectory(listener: (directory: Directory) => void): () => void {
    this.directoryListeners.add(listener);
    return () => this.directoryListeners.delete(listener);
  }

  directoryStatus(): DirectoryStatus {
    const health = this.directoryHealth;
    const loaded = this.directory.cached !== undefined;
    return {
      loaded,
      stale: loaded && health.failingSince !== undefined,
      ageSeconds: loaded && health.confirmedAt !== undefined ? (this.now() - health.confirmedAt) / 1000 : 0,
      orgVersion: health.orgVersion,
      people: health.people,
    };
  }

  /** A caller whose entries are not all cached and fresh: ask the registry for what is missing. */
  private async resolve(role: string, sub: string): Promise<PrivacyProfile | undefined> {
    const binding = await this.readAgent(sub);
    // The token's role decides which profiles may apply: an agent the registry declares with another
    // role (moved since the token was issued, or a subject that only shares the id) is not this caller.
    if (!binding || binding.role !== role) return this.getProfile(role);
    const entry = await this.readProfileById(binding.profileId);
    if (!entry) {
      // Removed between the two reads (a new registry version): ask for both again next time.
      expire(this.agents.get(sub));
      expire(this.profilesById.get(binding.profileId));
      throw new AppError(
        'unavailable',
        `the registry does not publish the privacy profile of agent ${sub} at the moment, so the request is refused`,
      );
    }
    if (entry.role !== role) {
      expire(this.agents.get(sub));
      this.logger.error(
        { what: 'profile', profileId: binding.profileId, agentId: sub, reason: 'role' },
        'signed privacy profile refused',
      );
      throw new AppError(
        'unavailable',
        `the privacy profile of agent ${sub} could not be verified: it is not a profile of role ${role}`,
      );
    }
    return entry.privacy;
  }

  private readAgent(agentId: string): Promise<AgentBinding | undefined> {
    return this.cache.read(slotIn(this.agents, agentId), () => this.loadAgent(agentId), {
      what: 'agent',
      agentId,
    });
  }

  private readProfileById(profileId: string): Promise<ProfileById | undefined> {
    return this.cache.read(
      slotIn(this.profilesById, profileId),
      () => this.signed.loadProfileById(profileId),
      {
        what: 'profile',
        profileId,
      },
    );
  }

  /** An announced change: mark what it concerns stale and fetch it again now, off the request path. */
  private changed(change: RegistryChange): void {
    const all = change.kind === 'all';
    const touched: Array<[Slot<unknown> | undefined, number, boolean, () => void]> = [];
    if (change.kind === 'org' || all) {
      const refetch = () => void this.getDirectory().catch(() => undefined);
      touched.push([this.directory, change.kind === 'org' ? change.orgVersion : 0, false, refetch]);
    }
    const roleProfile = (role: string, slot: Slot<unknown> | undefined, version: number) =>
      touched.push([slot, version, false, () => void this.getProfile(role).catch(() => undefined)]);
    const profileById = (profileId: string, slot: Slot<unknown> | undefined, version: number) =>
      touched.push([slot, version, false, () => void this.readProfileById(profileId).catch(() => undefined)]);
    // An agent refetched is followed by its profile, so that the next request finds both.
    const agent = (agentId: string, slot: Slot<unknown> | undefined, version: number, absent: boolean) =>
      touched.push([
        slot,
        version,
        absent,
        () =>
          void this.readAgent(agentId)
            .then((binding) => binding && this.readProfileById(binding.profileId))
            .catch(() => undefined),
      ]);
    if (all) {
      for (const [role, slot] of this.roleProfiles) roleProfile(role, slot, 0);
      for (const [profileId, slot] of this.profilesById) profileById(profileId, slot, 0);
      for (const [agentId, slot] of this.agents) agent(agentId, slot, 0, false);
    } else if (change.kind === 'profile') {
      roleProfile(change.role, this.roleProfiles.get(change.role), change.version);
      profileById(change.profileId, this.profilesById.get(change.profileId), change.version);
    } else if (change.kind === 'agent') {
      agent(change.agentId, this.agents.get(change.agentId), change.version, !change.present);
    }
    for (const [slot, version, absent, refetch] of touched) {
      if (!slot) continue;
      this.cache.announce(slot, version, absent);
      if (slot.cached) {
        expire(slot);
        refetch();
      }
    }
    this.logger.debug({ change: change.kind }, 'registry change announced');
  }

  private async loadAgent(agentId: string): Promise<Loaded<AgentBinding | undefined>> {
    const none = { value: undefined, fingerprint: 'absent', version: 0, absent: true };
    // Not an id the registry can hold (a user's subject from an OIDC issuer, say): not an agent.
    if (!AgentId.safeParse(agentId).success) return none;
    let answer;
    try {
      answer = await this.registry.getAgent(agentId);
    } catch (error) {
      if (error instanceof AppError && error.code === 'agent_not_found') return none;
      throw error;
    }
    const binding = { role: answer.agent.role, profileId: answer.profileId };
    return { value: binding, fingerprint: `${binding.role}|${binding.profileId}`, version: answer.version };
  }

  private async loadDirectory(): Promise<Loaded<Directory>> {
    const health = this.directoryHealth;
    const cached = this.directory.cached;
    let answer;
    try {
      // A dictionary in use is confirmed with one small request while the org version holds.
      answer = await this.registry.getDirectory(cached ? health.orgVersion : undefined);
    } catch (error) {
      health.failingSince ??= this.now();
      throw error;
    }
    health.confirmedAt = this.now();
    health.failingSince = undefined;
    if (!answer && cached)
      return { value: cached.value, fingerprint: cached.fingerprint, version: health.orgVersion };
    if (!answer) throw new AppError('unavailable', 'the registry answered no directory');
    health.orgVersion = answer.orgVersion;
    health.people = answer.people.length;
    return {
      value: {
        people: answer.people.map((person) => ({
          name: person.name,
          email: person.email,
          userId: person.userId,
        })),
      },
      // The registry's org version changes with every import: one dictionary per version.
      fingerprint: String(answer.orgVersion),
      version: answer.orgVersion,
    };
  }
}

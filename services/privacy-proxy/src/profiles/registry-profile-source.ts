import type { JSONWebKeySet } from 'jose';
import { verifyProfile } from '@orgmesh/auth';
import {
  AgentId,
  AppError,
  RoleId,
  type GetProfile,
  type PrivacySettings,
  type RoleProfile,
  type RpcResponse,
} from '@orgmesh/contracts';
import { PrivacyProfileSchema, type Directory, type PrivacyProfile } from '@orgmesh/privacy';
import type { Logger } from '@orgmesh/telemetry';
import { attachGovernance } from '../governance/governance.js';
import type { DirectoryStatus, ProfileCaller, ProfileSource } from './profile-source.js';
import type { RegistryChange, RegistryReader } from './registry-reader.js';

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

interface Cached<T> {
  readonly value: T;
  /** Equal fingerprints: nothing the proxy uses changed, and the same object is served on. */
  readonly fingerprint: string;
  readonly fetchedAt: number;
  /** An announced change may concern it: ask the registry before serving it again. */
  stale: boolean;
  /** Until then a failed refresh is not retried; the cached value is served. */
  retryAt: number;
}

interface Slot<T> {
  cached?: Cached<T>;
  inflight?: Promise<T>;
  /** Counts announced changes, so that an answer fetched before a change is not taken as fresh. */
  generation: number;
  /**
   * The change an announcement carries: registry version `version`, in which the entry exists or, for
   * a removed agent, does not (`absent`). A registry replica may answer from an older version for a
   * moment (the event can overtake its snapshot); such an answer is used but not taken as fresh.
   */
  awaited: { version: number; since: number; absent: boolean } | undefined;
}

interface Loaded<T> {
  readonly value: T;
  readonly fingerprint: string;
  /** The registry version (profiles, agents) or org version (directory) the answer reflects; 0 when unknown. */
  readonly version: number;
  /** The registry answered that it has no such entry (its answer then carries no version). */
  readonly absent?: boolean;
}

/** The registry agent a token's subject names: the role it is declared with and the profile it runs under. */
interface AgentBinding {
  readonly role: string;
  readonly profileId: string;
}

/** A profile fetched by id: its privacy settings and the role its signed form names. */
interface ProfileById {
  readonly role: string;
  readonly privacy: PrivacyProfile;
}

/** The registry's answer cannot be trusted (bad signature, wrong role, replayed older version). */
class ProfileRefused extends Error {
  override readonly name = 'ProfileRefused';
}

const DEFAULT_RETRY_AFTER_MS = 2_000;
/** A cache miss (distinct from a cached `undefined`: a role without profile, a subject that is no agent). */
const MISS = Symbol('miss');

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
  /** The privacy object last built per profile id, shared by its role and id entries. */
  private readonly privacyById = new Map<string, { fingerprint: string; privacy: PrivacyProfile }>();
  private readonly directory: Slot<Directory> = { generation: 0, awaited: undefined };
  /** When the registry last answered the directory, and since when refreshing it fails. */
  private readonly directoryHealth: {
    confirmedAt?: number;
    failingSince?: number;
    orgVersion: number;
    people: number;
  } = { orgVersion: 0, people: 0 };
  /** The highest signed version seen per profile id: an older one is a replay. */
  private readonly newestPublished = new Map<string, number>();
  private readonly now: () => number;
  private readonly retryAfterMs: number;
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
    this.retryAfterMs = options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
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
    const binding = this.peek(this.agents.get(sub), now);
    if (binding !== MISS) {
      if (binding === undefined || binding.role !== caller.role) {
        const profile = this.peek(this.roleProfiles.get(caller.role), now);
        if (profile !== MISS) return Promise.resolve(profile);
      } else {
        const entry = this.peek(this.profilesById.get(binding.profileId), now);
        if (entry !== MISS && entry !== undefined && entry.role === caller.role)
          return Promise.resolve(entry.privacy);
      }
    }
    return this.resolve(caller.role, sub);
  }

  /** The default profile of a role (or the fallback). */
  getProfile(role: string): Promise<PrivacyProfile | undefined> {
    return this.read(slotIn(this.roleProfiles, role), () => this.loadRoleProfile(role), {
      what: 'profile',
      role,
    });
  }

  async getDirectory(): Promise<Directory> {
    const directory = await this.read(this.directory, () => this.loadDirectory(), { what: 'directory' });
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
    return this.read(slotIn(this.agents, agentId), () => this.loadAgent(agentId), {
      what: 'agent',
      agentId,
    });
  }

  private readProfileById(profileId: string): Promise<ProfileById | undefined> {
    return this.read(slotIn(this.profilesById, profileId), () => this.loadProfileById(profileId), {
      what: 'profile',
      profileId,
    });
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
      slot.generation++;
      if (version > (slot.awaited?.version ?? 0)) slot.awaited = { version, since: this.now(), absent };
      if (slot.cached) {
        expire(slot);
        refetch();
      }
    }
    this.logger.debug({ change: change.kind }, 'registry change announced');
  }

  /** The cached value while it may be served without asking the registry; MISS otherwise. */
  private peek<T>(slot: Slot<T> | undefined, now: number): T | typeof MISS {
    const cached = slot?.cached;
    if (!cached) return MISS;
    if (!cached.stale && now - cached.fetchedAt < this.options.ttlMs) return cached.value;
    // A failed refresh pauses before the next attempt, serving what is cached.
    if (now < cached.retryAt) return cached.value;
    return MISS;
  }

  private read<T>(slot: Slot<T>, load: () => Promise<Loaded<T>>, subject: LogSubject): Promise<T> {
    const hit = this.peek(slot, this.now());
    if (hit !== MISS) return Promise.resolve(hit);
    if (!slot.inflight) {
      const refresh = this.refresh(slot, load, subject);
      slot.inflight = refresh;
      // Cleared once settled (callers awaiting it see its outcome); never an unhandled rejection.
      refresh.then(
        () => this.settled(slot, refresh),
        () => this.settled(slot, refresh),
      );
    }
    return slot.inflight;
  }

  private settled<T>(slot: Slot<T>, refresh: Promise<T>): void {
    if (slot.inflight === refresh) slot.inflight = undefined;
  }

  private async refresh<T>(slot: Slot<T>, load: () => Promise<Loaded<T>>, subject: LogSubject): Promise<T> {
    const generation = slot.generation;
    try {
      const loaded = await load();
      const prior = slot.cached;
      const now = this.now();
      // An answer older than an announced change: the next read asks again, until the replica has
      // caught up or a TTL has passed since the announcement (a registry rebuilt from scratch).
      const awaited = slot.awaited;
      const caughtUp =
        awaited === undefined || (loaded.absent ? awaited.absent : loaded.version >= awaited.version);
      const lagging = !caughtUp && awaited !== undefined && now - awaited.since < this.options.ttlMs;
      if (!lagging) slot.awaited = undefined;
      slot.cached = {
        value: prior && prior.fingerprint === loaded.fingerprint ? prior.value : loaded.value,
        fingerprint: loaded.fingerprint,
        fetchedAt: now,
        // A change announced while this answer was on its way: it may predate the change.
        stale: lagging || slot.generation !== generation,
        retryAt: 0,
      };
      return slot.cached.value;
    } catch (error) {
      if (error instanceof ProfileRefused) {
        slot.cached = undefined;
        this.logger.error({ ...subject, reason: error.message }, 'signed privacy profile refused');
        throw new AppError('unavailable', `the privacy ${describe(subject)} could not be verified`, {
          cause: error,
        });
      }
      const code = error instanceof AppError ? error.code : 'internal';
      if (slot.cached) {
        slot.cached.retryAt = this.now() + this.retryAfterMs;
        this.logger.warn({ ...subject, code }, 'registry unreachable: serving the cached privacy settings');
        return slot.cached.value;
      }
      throw new AppError(
        'unavailable',
        `the registry did not answer: the privacy ${describe(subject)} is unknown, so the request is refused`,
        { cause: error },
      );
    }
  }

  private async loadRoleProfile(role: string): Promise<Loaded<PrivacyProfile | undefined>> {
    // A role id the registry cannot hold (its ids are kebab-case) has no profile there either.
    if (!RoleId.safeParse(role).success) return this.fallback();
    let answer;
    try {
      answer = await this.registry.getProfile(role);
    } catch (error) {
      if (error instanceof AppError && error.code === 'profile_not_found') return this.fallback();
      throw error;
    }
    const { profile, version } = await this.verified(answer);
    if (profile.role !== role || !profile.isDefault)
      throw new ProfileRefused('the signed profile is not the default profile of the role asked for');
    const { privacy, fingerprint } = this.accept(profile, version);
    return { value: privacy, fingerprint, version: answer.version };
  }

  private async loadProfileById(profileId: string): Promise<Loaded<ProfileById | undefined>> {
    let answer;
    try {
      answer = await this.registry.getProfileById(profileId);
    } catch (error) {
      if (error instanceof AppError && error.code === 'profile_not_found')
        return { value: undefined, fingerprint: 'absent', version: 0, absent: true };
      throw error;
    }
    const { profile, version } = await this.verified(answer);
    if (profile.id !== profileId) throw new ProfileRefused('the signed profile is not the profile asked for');
    const { privacy, fingerprint } = this.accept(profile, version);
    // Whose role it is, is checked against each caller's token when it is used.
    return {
      value: { role: profile.role, privacy },
      fingerprint: `${profile.role}|${fingerprint}`,
      version: answer.version,
    };
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

  /** The signed profile of an answer; only its payload is read, never the unsigned copy beside it. */
  private async verified(
    answer: RpcResponse<typeof GetProfile>,
  ): Promise<{ profile: RoleProfile; version: number }> {
    try {
      const { published } = await verifyProfile(
        answer.jws,
        this.options.trustedKeys ?? (answer.jwks as JSONWebKeySet),
      );
      return { profile: published.profile, version: published.version };
    } catch (error) {
      throw new ProfileRefused(error instanceof Error ? error.message : 'profile signature refused', {
        cause: error,
      });
    }
  }

  /**
   * A verified profile's privacy settings, after the replay check; the object built before for the
   * same profile id and settings when there is one.
   */
  private accept(profile: RoleProfile, version: number): { privacy: PrivacyProfile; fingerprint: string } {
    const newest = this.newestPublished.get(profile.id) ?? 0;
    if (version < newest) throw new ProfileRefused('the signed profile is older than one already in use');
    let privacy: PrivacyProfile;
    try {
      privacy = toPrivacyProfile(profile.privacy);
    } catch (error) {
      throw new ProfileRefused('the signed privacy settings do not fit the privacy engine', { cause: error });
    }
    this.newestPublished.set(profile.id, version);
    const fingerprint = `${profile.id}:${JSON.stringify(privacy)}`;
    const known = this.privacyById.get(profile.id);
    const accepted = known?.fingerprint === fingerprint ? known : { fingerprint, privacy };
    if (accepted !== known) this.privacyById.set(profile.id, accepted);
    // Model policy, budgets and rate limits ride on the privacy object the request path already holds;
    // a change of them alone keeps the object (and its detectors) and applies at once.
    attachGovernance(accepted.privacy, {
      profileId: profile.id,
      role: profile.role,
      providers: profile.providers,
      ...(profile.llm ? { llm: profile.llm } : {}),
    });
    return accepted;
  }

  private fallback(): Loaded<PrivacyProfile | undefined> {
    return { value: this.options.fallback, fingerprint: 'fallback', version: 0, absent: true };
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

function slotIn<T>(slots: Map<string, Slot<T>>, key: string): Slot<T> {
  let slot = slots.get(key);
  if (!slot) {
    slot = { generation: 0, awaited: undefined };
    slots.set(key, slot);
  }
  return slot;
}

/** Asks the registry before the entry is served again. */
function expire(slot: Slot<unknown> | undefined): void {
  if (slot?.cached) {
    slot.cached.stale = true;
    slot.cached.retryAt = 0;
  }
}

type LogSubject =
  | { what: 'profile'; role: string }
  | { what: 'profile'; profileId: string }
  | { what: 'agent'; agentId: string }
  | { what: 'directory' };

function describe(subject: LogSubject): string {
  if (subject.what === 'directory') return 'directory';
  if (subject.what === 'agent') return `profile of agent ${subject.agentId}`;
  return 'role' in subject ? `profile of role ${subject.role}` : `profile ${subject.profileId}`;
}

/** The registry's privacy section as the privacy engine takes it. */
export function toPrivacyProfile(privacy: PrivacySettings): PrivacyProfile {
  return PrivacyProfileSchema.parse({
    mode: privacy.mode,
    entities: privacy.entities,
    customPatterns: privacy.customPatterns,
    denyList: privacy.denyList,
    employeeIdPattern: privacy.employeeIdPattern,
    binary: privacy.binary,
    unknownFields: privacy.unknownFields,
    names: privacy.names,
    pseudonymScope: privacy.pseudonymScope,
  });
}

import type { JSONWebKeySet } from 'jose';
import { verifyProfile } from '@orgmesh/auth';
import { AppError, RoleId, type PrivacySettings } from '@orgmesh/contracts';
import { PrivacyProfileSchema, type Directory, type PrivacyProfile } from '@orgmesh/privacy';
import type { Logger } from '@orgmesh/telemetry';
import type { ProfileSource } from './profile-source.js';
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
   * The version an announced change carries. A registry replica may answer from an older version for
   * a moment (the event can overtake its snapshot); such an answer is used but not taken as fresh.
   */
  awaited: { version: number; since: number } | undefined;
}

interface Loaded<T> {
  readonly value: T;
  readonly fingerprint: string;
  /** The registry version (profiles) or org version (directory) the answer reflects; 0 when unknown. */
  readonly version: number;
}

/** The registry's answer cannot be trusted (bad signature, wrong role, replayed older version). */
class ProfileRefused extends Error {
  override readonly name = 'ProfileRefused';
}

const DEFAULT_RETRY_AFTER_MS = 2_000;

/**
 * Role privacy profiles and the org-chart directory from the registry (rpc.registry.v1.get-profile,
 * rpc.registry.v1.directory), cached and refreshed when the registry announces a change.
 *
 * - A profile is used only after its signed form (`jws`) verifies, and only the signed payload is
 *   read: it must be the default profile of the role asked for, and not older than one already seen.
 * - The same object is returned while nothing changed (the engine compiles detectors per object).
 * - Fail closed: with nothing cached, an unreachable registry or a refused signature is `unavailable`
 *   (503), never a request passed through unmasked. With a verified profile cached, an unreachable
 *   registry leaves it in use (a change can only come from the registry, which then announces it);
 *   a refused signature drops it.
 */
export class RegistryProfileSource implements ProfileSource {
  private readonly profiles = new Map<string, Slot<PrivacyProfile | undefined>>();
  private readonly directory: Slot<Directory> = { generation: 0, awaited: undefined };
  /** The highest signed version seen per profile id: an older one is a replay. */
  private readonly newestPublished = new Map<string, number>();
  private readonly now: () => number;
  private readonly retryAfterMs: number;
  private stopWatching: (() => void) | undefined;

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

  async getProfile(role: string): Promise<PrivacyProfile | undefined> {
    let slot = this.profiles.get(role);
    if (!slot) {
      slot = { generation: 0, awaited: undefined };
      this.profiles.set(role, slot);
    }
    return this.read(slot, () => this.loadProfile(role), { what: 'profile', role });
  }

  async getDirectory(): Promise<Directory> {
    return this.read(this.directory, () => this.loadDirectory(), { what: 'directory' });
  }

  /** An announced change: mark what it concerns stale and fetch it again now, off the request path. */
  private changed(change: RegistryChange): void {
    const touched: Array<[Slot<unknown>, number, () => void]> = [];
    if (change.kind === 'org' || change.kind === 'all') {
      const refetch = () => void this.getDirectory().catch(() => undefined);
      touched.push([this.directory, change.kind === 'org' ? change.orgVersion : 0, refetch]);
    }
    for (const [role, slot] of this.profiles) {
      if (change.kind === 'all' || (change.kind === 'profile' && change.role === role)) {
        const refetch = () => void this.getProfile(role).catch(() => undefined);
        touched.push([slot, change.kind === 'profile' ? change.version : 0, refetch]);
      }
    }
    for (const [slot, version, refetch] of touched) {
      slot.generation++;
      if (version > (slot.awaited?.version ?? 0)) slot.awaited = { version, since: this.now() };
      if (slot.cached) {
        slot.cached.stale = true;
        slot.cached.retryAt = 0;
        refetch();
      }
    }
    this.logger.debug({ change: change.kind }, 'registry change announced');
  }

  private read<T>(slot: Slot<T>, load: () => Promise<Loaded<T>>, subject: LogSubject): Promise<T> {
    const cached = slot.cached;
    const now = this.now();
    if (cached && !cached.stale && now - cached.fetchedAt < this.options.ttlMs)
      return Promise.resolve(cached.value);
    if (cached && now < cached.retryAt) return Promise.resolve(cached.value);
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
      const lagging =
        slot.awaited !== undefined &&
        loaded.version < slot.awaited.version &&
        now - slot.awaited.since < this.options.ttlMs;
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
        throw new AppError('unavailable', `the privacy profile ${describe(subject)} could not be verified`, {
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

  private async loadProfile(role: string): Promise<Loaded<PrivacyProfile | undefined>> {
    // A role id the registry cannot hold (its ids are kebab-case) has no profile there either.
    if (!RoleId.safeParse(role).success) return this.fallback();
    let answer;
    try {
      answer = await this.registry.getProfile(role);
    } catch (error) {
      if (error instanceof AppError && error.code === 'profile_not_found') return this.fallback();
      throw error;
    }
    let published;
    try {
      ({ published } = await verifyProfile(
        answer.jws,
        this.options.trustedKeys ?? (answer.jwks as JSONWebKeySet),
      ));
    } catch (error) {
      throw new ProfileRefused(error instanceof Error ? error.message : 'profile signature refused', {
        cause: error,
      });
    }
    // Only the signed payload counts; the unsigned copy beside it is not read.
    const profile = published.profile;
    if (profile.role !== role || !profile.isDefault)
      throw new ProfileRefused('the signed profile is not the default profile of the role asked for');
    const newest = this.newestPublished.get(profile.id) ?? 0;
    if (published.version < newest)
      throw new ProfileRefused('the signed profile is older than one already in use');
    let privacy: PrivacyProfile;
    try {
      privacy = toPrivacyProfile(profile.privacy);
    } catch (error) {
      throw new ProfileRefused('the signed privacy settings do not fit the privacy engine', { cause: error });
    }
    this.newestPublished.set(profile.id, published.version);
    return {
      value: privacy,
      fingerprint: `${profile.id}:${JSON.stringify(privacy)}`,
      version: answer.version,
    };
  }

  private fallback(): Loaded<PrivacyProfile | undefined> {
    return { value: this.options.fallback, fingerprint: 'fallback', version: 0 };
  }

  private async loadDirectory(): Promise<Loaded<Directory>> {
    const answer = await this.registry.getDirectory();
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

type LogSubject = { what: 'profile'; role: string } | { what: 'directory' };

function describe(subject: LogSubject): string {
  return subject.what === 'profile' ? `profile of role ${subject.role}` : 'directory';
}

/** The registry's privacy section as the privacy engine takes it. */
export function toPrivacyProfile(privacy: PrivacySettings): PrivacyProfile {
  return PrivacyProfileSchema.parse({
    mode: privacy.mode,
    entities: privacy.entities,
    customPatterns: privacy.customPatterns,
    denyList: privacy.denyList,
    employeeIdPattern: privacy.employeeIdPattern,
  });
}

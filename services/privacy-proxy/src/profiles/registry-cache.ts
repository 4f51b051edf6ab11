import { AppError } from '@orgmesh/contracts';
import type { Logger } from '@orgmesh/telemetry';

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

/** One cached registry entry (a role's profile, an agent, a profile by id, the directory). */
export interface Slot<T> {
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

/** A registry answer as the cache keeps it. */
export interface Loaded<T> {
  readonly value: T;
  readonly fingerprint: string;
  /** The registry version (profiles, agents) or org version (directory) the answer reflects; 0 when unknown. */
  readonly version: number;
  /** The registry answered that it has no such entry (its answer then carries no version). */
  readonly absent?: boolean;
}

/** The registry's answer cannot be trusted (bad signature, wrong role, replayed older version). */
export class ProfileRefused extends Error {
  override readonly name = 'ProfileRefused';
}

/** What a slot holds, for log lines and error messages (ids only). */
export type LogSubject =
  | { what: 'profile'; role: string }
  | { what: 'profile'; profileId: string }
  | { what: 'agent'; agentId: string }
  | { what: 'directory' };

/** A cache miss (distinct from a cached `undefined`: a role without profile, a subject that is no agent). */
export const MISS = Symbol('miss');

export interface RegistryCacheOptions {
  readonly ttlMs: number;
  readonly retryAfterMs: number;
  readonly now: () => number;
}

/**
 * The freshness rules of the registry entries: served from the slot while fresh, one refresh in
 * flight per slot, an answer older than an announced change not taken as fresh, the cached value
 * served while the registry is unreachable, nothing served once a signature is refused.
 */
export class RegistryCache {
  constructor(
    private readonly logger: Logger,
    private readonly options: RegistryCacheOptions,
  ) {}

  /** The cached value while it may be served without asking the registry; MISS otherwise. */
  peek<T>(slot: Slot<T> | undefined, now: number): T | typeof MISS {
    const cached = slot?.cached;
    if (!cached) return MISS;
    if (!cached.stale && now - cached.fetchedAt < this.options.ttlMs) return cached.value;
    // A failed refresh pauses before the next attempt, serving what is cached.
    if (now < cached.retryAt) return cached.value;
    return MISS;
  }

  read<T>(slot: Slot<T>, load: () => Promise<Loaded<T>>, subject: LogSubject): Promise<T> {
    const hit = this.peek(slot, this.options.now());
    if (hit !== MISS) return Promise.resolve(hit);
    if (!slot.inflight) {
      const refresh = this.refresh(slot, load, subject);
      slot.inflight = refresh;
      // Cleared once settled (callers awaiting it see its outcome); never an unhandled rejection.
      refresh.then(
        () => settled(slot, refresh),
        () => settled(slot, refresh),
      );
    }
    return slot.inflight;
  }

  /** An announced change of registry version `version` (0: unknown) concerns the slot. */
  announce(slot: Slot<unknown>, version: number, absent: boolean): void {
    slot.generation++;
    if (version > (slot.awaited?.version ?? 0)) slot.awaited = { version, since: this.options.now(), absent };
  }

  private async refresh<T>(slot: Slot<T>, load: () => Promise<Loaded<T>>, subject: LogSubject): Promise<T> {
    const generation = slot.generation;
    try {
      const loaded = await load();
      const prior = slot.cached;
      const now = this.options.now();
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
      return this.failed(slot, error, subject);
    }
  }

  private failed<T>(slot: Slot<T>, error: unknown, subject: LogSubject): T {
    if (error instanceof ProfileRefused) {
      slot.cached = undefined;
      this.logger.error({ ...subject, reason: error.message }, 'signed privacy profile refused');
      throw new AppError('unavailable', `the privacy ${describe(subject)} could not be verified`, {
        cause: error,
      });
    }
    const code = error instanceof AppError ? error.code : 'internal';
    if (slot.cached) {
      slot.cached.retryAt = this.options.now() + this.options.retryAfterMs;
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

function settled<T>(slot: Slot<T>, refresh: Promise<T>): void {
  if (slot.inflight === refresh) slot.inflight = undefined;
}

/** The slot of `key`, created empty on first use. */
export function slotIn<T>(slots: Map<string, Slot<T>>, key: string): Slot<T> {
  let slot = slots.get(key);
  if (!slot) {
    slot = { generation: 0, awaited: undefined };
    slots.set(key, slot);
  }
  return slot;
}

/** Asks the registry before the entry is served again. */
export function expire(slot: Slot<unknown> | undefined): void {
  if (slot?.cached) {
    slot.cached.stale = true;
    slot.cached.retryAt = 0;
  }
}

function describe(subject: LogSubject): string {
  if (subject.what === 'directory') return 'directory';
  if (subject.what === 'agent') return `profile of agent ${subject.agentId}`;
  return 'role' in subject ? `profile of role ${subject.role}` : `profile ${subject.profileId}`;
}

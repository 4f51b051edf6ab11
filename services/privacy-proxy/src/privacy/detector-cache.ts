import { AppError } from '@orgmesh/contracts';
import type { Detector, Directory, PrivacyProfile } from '@orgmesh/privacy';

/**
 * How detectors are made, in two stages: the directory's index (everything that depends on the org
 * chart alone: for 100,000 people the seconds and the memory), then one profile's detector on it
 * (its deny list, patterns and name rules: milliseconds). Tests inject a builder they can slow down.
 */
export interface DetectorBuilder<Index = unknown> {
  /** Built once per directory and shared by every profile's detector; may yield to the event loop. */
  index(directory: Directory): Promise<Index>;
  detector(profile: PrivacyProfile, index: Index): Detector;
}

/** What the cache reports of its builds (the proxy's metrics). */
export interface DetectorBuildObserver {
  /** One directory's build ended: index plus the detectors of the profiles in use. */
  built(seconds: number, outcome: 'ok' | 'error'): void;
}

/** The directories behind the detectors, for `/readyz`. */
export interface DetectorStatus {
  /** The detectors in use are built for this directory; absent until the first build ends. */
  readonly inUse?: DirectoryLabel;
  /** A newer directory whose detectors are being built in the background, and for how long so far. */
  readonly building?: DirectoryLabel & { readonly seconds: number };
}

export interface DirectoryLabel {
  /** The registry's org version when the source knows it (0 otherwise). */
  readonly orgVersion: number;
  readonly people: number;
}

/** One directory's index and the detectors built on it. */
interface Generation<Index> {
  readonly directory: Directory;
  readonly label: DirectoryLabel;
  /** Order of arrival: a build ending for an older directory never replaces a newer one in use. */
  readonly sequence: number;
  index?: Index;
  /** The build under way (single-flight: every caller awaits this one promise). */
  building?: Promise<Index>;
  buildStartedAt?: number;
  readonly detectors: Map<PrivacyProfile, Detector>;
  /** Profiles requests asked for while this generation served: the ones carried on to the next. */
  readonly used: Set<PrivacyProfile>;
}

/**
 * Detectors per profile and directory, built off the request path.
 *
 * A new directory (an org import) is indexed in the background, one directory at a time; meanwhile
 * requests keep the detectors of the previous directory. That is safe: the previous directory is the
 * last one the registry confirmed in full (ADR 0013), it only lacks the people added since, exactly as
 * it would if the import had landed a few seconds later. Once the index is ready, the detectors of the
 * profiles used with the previous directory are built on it and then swapped in together, so no
 * request waits. Only the very first request (no directory indexed at all) waits, and concurrent first
 * requests await the same build. A profile not seen before (a changed profile is a new object) gets
 * its detector built at once on the index in use: cheap, and its new settings apply from its first
 * request rather than the old profile's.
 */
export class DetectorCache<Index = unknown> {
  private readonly generations = new Map<Directory, Generation<Index>>();
  /** The newest generation whose index is ready: requests are served from it. */
  private serving: Generation<Index> | undefined;
  /** Builds run one after another: two 100k-person indexes at once would double the peak memory. */
  private queue: Promise<unknown> = Promise.resolve();
  private sequence = 0;

  constructor(
    private readonly builder: DetectorBuilder<Index>,
    private readonly labelOf: (directory: Directory) => DirectoryLabel,
    private readonly observer?: DetectorBuildObserver,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The detector for `profile`, given the newest directory the source has: the one built for the
   * directory in use (which may be older while a build runs; the build is started here if it is not
   * yet). Waits only when no directory has been indexed yet.
   */
  async detector(profile: PrivacyProfile, latest: Directory): Promise<Detector> {
    const newest = this.generationOf(latest);
    const serving = this.serving;
    if (serving) return this.forRequest(serving, profile);
    // The very first build: wait for it (every first request awaits the same promise). Builds run in
    // order of arrival, so with two directories queued (two imports at start) the older serves first.
    const first = [...this.generations.values()].find((generation) => generation.building) ?? newest;
    await first.building;
    if (!this.serving) throw new AppError('unavailable', 'the privacy detector is not built yet');
    return this.forRequest(this.serving, profile);
  }

  /** Starts indexing `directory` in the background if it is new (e.g. announced by the source). */
  prepare(directory: Directory): void {
    this.generationOf(directory);
  }

  private generationOf(directory: Directory): Generation<Index> {
    const known = this.generations.get(directory);
    if (known) {
      if (!known.index && !known.building) this.schedule(known);
      return known;
    }
    const generation: Generation<Index> = {
      directory,
      label: this.labelOf(directory),
      sequence: ++this.sequence,
      detectors: new Map(),
      used: new Set(),
    };
    this.generations.set(directory, generation);
    this.schedule(generation);
    return generation;
  }

  /**
   * True once detectors are in use; otherwise waits up to `timeoutMs` for the first build to end (a
   * small directory's takes milliseconds), then says whether it did. A failed build is false here.
   */
  async serves(timeoutMs: number): Promise<boolean> {
    if (this.serving) return true;
    const first = [...this.generations.values()].find((generation) => generation.building);
    if (!first) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      first.building!.catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref())),
    ]);
    clearTimeout(timer);
    return this.serving !== undefined;
  }

  status(): DetectorStatus {
    const serving = this.serving;
    let building: Generation<Index> | undefined;
    for (const generation of this.generations.values())
      if (generation.building && generation.sequence > (serving?.sequence ?? 0)) building = generation;
    return {
      ...(serving ? { inUse: serving.label } : {}),
      ...(building
        ? {
            building: {
              ...building.label,
              seconds:
                building.buildStartedAt === undefined ? 0 : (this.now() - building.buildStartedAt) / 1000,
            },
          }
        : {}),
    };
  }

  /** A detector a request asked for: its profile is carried on to the next directory. */
  private forRequest(generation: Generation<Index>, profile: PrivacyProfile): Detector {
    generation.used.add(profile);
    return this.on(generation, profile);
  }

  private on(generation: Generation<Index>, profile: PrivacyProfile): Detector {
    let detector = generation.detectors.get(profile);
    if (!detector) {
      detector = this.builder.detector(profile, generation.index as Index);
      generation.detectors.set(profile, detector);
    }
    return detector;
  }

  private schedule(generation: Generation<Index>): void {
    const run = async (): Promise<Index> => {
      generation.buildStartedAt = this.now();
      try {
        const index = await this.builder.index(generation.directory);
        generation.index = index;
        this.swapIn(generation);
        this.observer?.built((this.now() - generation.buildStartedAt) / 1000, 'ok');
        return index;
      } catch (error) {
        // Forgotten, so that the next request or announcement tries again; the previous directory
        // stays in use meanwhile, and a first request sees the error (the source's, or the build's).
        this.generations.delete(generation.directory);
        this.observer?.built((this.now() - generation.buildStartedAt) / 1000, 'error');
        throw error;
      } finally {
        generation.building = undefined;
      }
    };
    const building = this.queue.then(run, run);
    generation.building = building;
    // The queue goes on after a failed build; the failure reaches whoever awaits `building`.
    this.queue = building.catch(() => undefined);
    building.catch(() => undefined);
  }

  /** A generation is ready: build the detectors in use on it, then serve it (if still the newest). */
  private swapIn(generation: Generation<Index>): void {
    const previous = this.serving;
    if (previous && previous.sequence > generation.sequence) {
      // An older directory finished after a newer one was put in use: drop it.
      this.generations.delete(generation.directory);
      return;
    }
    // The profiles requested while the previous directory served; those not requested since (a
    // profile that changed is a new object) are not carried on, so their detectors are freed with it.
    if (previous)
      for (const profile of previous.used) {
        try {
          this.on(generation, profile);
        } catch {
          // A profile whose detector cannot be built (a pattern refused) fails its own requests, as it
          // did before; it must not hold back the directory for everyone else.
        }
      }
    this.serving = generation;
    for (const [directory, other] of this.generations)
      if (other.sequence < generation.sequence) this.generations.delete(directory);
  }
}

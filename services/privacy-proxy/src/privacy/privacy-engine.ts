import { AppError } from '@orgmesh/contracts';
import {
  DetectionMemo,
  Detector,
  DirectoryIndex,
  MaskingSession,
  Pseudonymizer,
  profileIsActive,
  pseudonymKeyScope,
  type Directory,
  type NerHook,
  type PrivacyProfile,
  type ProcessingBudget,
  type PseudonymContext,
} from '@orgmesh/privacy';
import type { ProfileCaller, ProfileSource } from '../profiles/profile-source.js';
import {
  DetectorCache,
  type DetectorBuilder,
  type DetectorBuildObserver,
  type DetectorStatus,
} from './detector-cache.js';

/**
 * The default processing budget of one request: 4 Mi characters of text to scan and 100,000 values.
 * Detection and masking are linear (about 2 MB with 50,000 values per second on one core of the
 * development machine, bench/src/privacy-proxy.bench.ts), so this bounds one request to a few seconds
 * of one replica's CPU.
 */
export const DEFAULT_PROCESSING_BUDGET: Required<ProcessingBudget> = {
  maxChars: 4 * 1024 * 1024,
  maxValues: 100_000,
};

/** The caller's profile and a masking session for one request. */
export interface RequestPrivacy {
  readonly profile: PrivacyProfile;
  /** False when the profile cannot change or report anything: the request passes untouched. */
  readonly active: boolean;
  readonly session: MaskingSession;
}

export interface PrivacyEngineOptions {
  /** How detectors are built (default: a shared DirectoryIndex built in chunks, then one detector per profile). */
  readonly builder?: DetectorBuilder;
  /** Told how long each directory's build took (the proxy's `orgmesh_privacy_detector_build_seconds`). */
  readonly observer?: DetectorBuildObserver;
  /**
   * Detection results of texts seen before, shared by every request (default: none). A conversation's
   * history comes again with every turn; with a memo only what is new is detected.
   */
  readonly memo?: DetectionMemo;
}

/** The default builder: the directory indexed once, in chunks that yield to the event loop. */
export function indexedDetectorBuilder(ner?: NerHook): DetectorBuilder<DirectoryIndex> {
  return {
    index: (directory) => DirectoryIndex.buildAsync(directory),
    detector: (profile, index) => Detector.forProfile(profile, index, ner),
  };
}

/**
 * Turns a caller into a ready masking session. Detectors are compiled once per profile and directory
 * (the source returns the same objects while nothing changed) and reused by every request; a new
 * directory is indexed off the request path while the previous one serves (detector-cache.ts).
 */
export class PrivacyEngine {
  private readonly detectors: DetectorCache;
  private readonly memo: DetectionMemo | undefined;

  constructor(
    private readonly profiles: ProfileSource,
    private readonly pseudonymizer: Pseudonymizer,
    ner?: NerHook,
    /** What one request may ask of detection before it is refused (413); see PRIVACY_MAX_SCAN_*. */
    private readonly budget: ProcessingBudget = DEFAULT_PROCESSING_BUDGET,
    options: PrivacyEngineOptions = {},
  ) {
    this.memo = options.memo;
    this.detectors = new DetectorCache(
      options.builder ?? indexedDetectorBuilder(ner),
      // The source's status describes the directory it just handed out: the one being labelled.
      (directory) => ({
        orgVersion: profiles.directoryStatus?.().orgVersion ?? 0,
        people: directory.people.length,
      }),
      options.observer,
    );
  }

  /** A directory the source has just loaded: start building its detectors now, before any request needs them. */
  directoryLoaded(directory: Directory): void {
    this.detectors.prepare(directory);
  }

  /** Whether detectors are in use, waiting up to `timeoutMs` for the first build (readiness). */
  detectorsReady(timeoutMs: number): Promise<boolean> {
    return this.detectors.serves(timeoutMs);
  }

  /** Which directory the detectors in use are built for, and which one is being built. */
  detectorStatus(): DetectorStatus {
    return this.detectors.status();
  }

  /**
   * `caller` is the verified token (its role, and its subject where the source knows agents);
   * `workflow` what the request belongs to (`x-orgmesh-context-id`, `x-orgmesh-session-id`, its
   * conversation), which scopes its placeholders by the profile's `pseudonymScope` (pseudonymKeyScope).
   */
  async forCaller(
    caller: ProfileCaller,
    tenant: string,
    workflow: Pick<PseudonymContext, 'contextId' | 'sessionId' | 'conversation'> = {},
  ): Promise<RequestPrivacy> {
    const profile = await this.profiles.profileFor(caller);
    if (!profile)
      throw new AppError(
        'forbidden',
        `no privacy profile for role ${caller.role}: requests are refused until one exists`,
      );
    const detector = await this.detector(profile);
    return {
      profile,
      active: profileIsActive(profile),
      session: new MaskingSession(
        detector,
        this.pseudonymizer,
        profile,
        pseudonymKeyScope(tenant, profile.pseudonymScope, { ...workflow, role: caller.role }),
        this.budget,
        this.memo,
      ),
    };
  }

  /**
   * The profile's detector on the newest directory that is built; waits only for the very first build.
   * A newer directory than the one in use starts building here if no announcement started it.
   */
  async detector(profile: PrivacyProfile): Promise<Detector> {
    return this.detectors.detector(profile, await this.profiles.getDirectory());
  }
}

/**
 * An external NER endpoint: `POST {text}` → `{entities: [{type, start, end, score}]}`. Failures are
 * `unavailable`: without the recogniser the request would go out less protected than configured.
 */
export function httpNerHook(url: string, timeoutMs: number): NerHook {
  return async (text) => {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new AppError('unavailable', 'named-entity recogniser unreachable', { cause });
    }
    if (!response.ok)
      throw new AppError('unavailable', `named-entity recogniser answered ${response.status}`);
    const body = (await response.json()) as { entities?: unknown };
    if (!Array.isArray(body.entities))
      throw new AppError('unavailable', 'named-entity recogniser answered without entities');
    return body.entities.filter(
      (e): e is { type: string; start: number; end: number; score: number } =>
        typeof e === 'object' && e !== null && typeof (e as { type?: unknown }).type === 'string',
    );
  };
}

import { AppError } from '@orgmesh/contracts';
import {
  Detector,
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

/**
 * Turns a caller into a ready masking session. Detectors are compiled once per profile and directory
 * (the source returns the same objects while nothing changed) and reused by every request.
 */
export class PrivacyEngine {
  private readonly detectors = new WeakMap<PrivacyProfile, { directory: Directory; detector: Detector }>();

  constructor(
    private readonly profiles: ProfileSource,
    private readonly pseudonymizer: Pseudonymizer,
    private readonly ner?: NerHook,
    /** What one request may ask of detection before it is refused (413); see PRIVACY_MAX_SCAN_*. */
    private readonly budget: ProcessingBudget = DEFAULT_PROCESSING_BUDGET,
  ) {}

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
      ),
    };
  }

  async detector(profile: PrivacyProfile): Promise<Detector> {
    const directory = await this.profiles.getDirectory();
    const cached = this.detectors.get(profile);
    if (cached && cached.directory === directory) return cached.detector;
    const detector = Detector.forProfile(profile, directory, this.ner);
    this.detectors.set(profile, { directory, detector });
    return detector;
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

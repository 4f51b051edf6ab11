import type { LlmGovernance, ProviderAllowance } from '@orgmesh/contracts';
import type { PrivacyProfile } from '@orgmesh/privacy';

/**
 * What a caller's registry profile says about model calls, beside its privacy settings: which
 * providers and models it may call (`providers`, the model policy) and its budgets and rate limits
 * (`llm`). Profiles from a file or the fallback carry none: no policy, no budget.
 */
export interface ProfileGovernance {
  readonly profileId: string;
  readonly role: string;
  readonly providers: readonly ProviderAllowance[];
  readonly llm?: LlmGovernance;
}

/**
 * Keyed by the privacy object the profile source hands out for the same profile (one object per
 * profile id while its privacy settings hold), so that the request path reads it with one lookup and
 * a change of the governance alone applies at once without rebuilding detectors.
 */
const governanceByProfile = new WeakMap<PrivacyProfile, ProfileGovernance>();

export function attachGovernance(profile: PrivacyProfile, governance: ProfileGovernance): void {
  governanceByProfile.set(profile, governance);
}

export function governanceOf(profile: PrivacyProfile): ProfileGovernance | undefined {
  return governanceByProfile.get(profile);
}

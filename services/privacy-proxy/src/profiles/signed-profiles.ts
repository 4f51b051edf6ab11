import type { JSONWebKeySet } from 'jose';
import { verifyProfile } from '@orgmesh/auth';
import {
  AppError,
  RoleId,
  type GetProfile,
  type PrivacySettings,
  type RoleProfile,
  type RpcResponse,
} from '@orgmesh/contracts';
import { PrivacyProfileSchema, type PrivacyProfile } from '@orgmesh/privacy';
import { attachGovernance } from '../governance/governance.js';
import { ProfileRefused, type Loaded } from './registry-cache.js';
import type { RegistryReader } from './registry-reader.js';

/** A profile fetched by id: its privacy settings and the role its signed form names. */
export interface ProfileById {
  readonly role: string;
  readonly privacy: PrivacyProfile;
}

/**
 * Profiles read from the registry and trusted only in their signed form: the signature verified,
 * the profile the one asked for, not older than one already seen (a replay), and one privacy object
 * per profile id and settings (the engine compiles detectors per object).
 */
export class SignedProfiles {
  /** The privacy object last built per profile id, shared by its role and id entries. */
  private readonly privacyById = new Map<string, { fingerprint: string; privacy: PrivacyProfile }>();
  /** The highest signed version seen per profile id: an older one is a replay. */
  private readonly newestPublished = new Map<string, number>();

  constructor(
    private readonly registry: RegistryReader,
    private readonly options: {
      /** What a role without a profile in the registry gets (undefined: none, requests refused). */
      readonly fallback?: PrivacyProfile;
      /** Verify against these keys only; default: the keys the registry sends with each profile. */
      readonly trustedKeys?: JSONWebKeySet;
    },
  ) {}

  /** The default profile of `role`, or the fallback where the registry has none. */
  async loadRoleProfile(role: string): Promise<Loaded<PrivacyProfile | undefined>> {
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

  async loadProfileById(profileId: string): Promise<Loaded<ProfileById | undefined>> {
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

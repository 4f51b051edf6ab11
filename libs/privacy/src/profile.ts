import { z } from 'zod';
import {
  PrivacyMode as PrivacyModeSchema,
  PSEUDONYM_SCOPES,
  type PrivacyMode,
  type PseudonymScope,
} from '@orgmesh/contracts';
import type { EntityType } from './entity.js';

// The modes and pseudonym scopes are the registry's (role profiles name them); defined in contracts.
export type { PrivacyMode, PseudonymScope };

/**
 * A custom pattern of a profile. The registry's shape is `{ name, pattern, action? }`; `type` is
 * accepted as a synonym of `name`, and a bare string is a pattern of type `custom`.
 */
export const CustomPatternSchema = z.union([
  z
    .string()
    .min(1)
    .transform((pattern) => ({
      name: 'custom',
      pattern,
      action: undefined as PrivacyMode | undefined,
      flags: undefined as string | undefined,
    })),
  z
    .object({
      name: z
        .string()
        .regex(/^[a-z][a-z0-9_-]{0,63}$/)
        .optional(),
      type: z
        .string()
        .regex(/^[a-z][a-z0-9_-]{0,63}$/)
        .optional(),
      pattern: z.string().min(1),
      flags: z
        .string()
        .regex(/^[imsu]*$/)
        .optional(),
      action: PrivacyModeSchema.optional(),
    })
    .transform((p) => ({
      name: p.name ?? p.type ?? 'custom',
      pattern: p.pattern,
      action: p.action,
      flags: p.flags,
    })),
]);
export type CustomPattern = z.output<typeof CustomPatternSchema>;

/**
 * A role's privacy settings. Compatible with the registry's `PrivacySettings` (every field but `mode`
 * is optional here, so a hand-written profile file stays short).
 */
export const PrivacyProfileSchema = z.object({
  mode: PrivacyModeSchema,
  entities: z.record(z.string(), PrivacyModeSchema).optional(),
  customPatterns: z.array(CustomPatternSchema).optional(),
  denyList: z.array(z.string().min(1)).optional(),
  employeeIdPattern: z.string().min(1).nullable().optional(),
  /** Entities scored below this are ignored (default 0: every rule's hit counts). */
  minScore: z.number().min(0).max(1).optional(),
  /**
   * Binary content the proxy cannot read as text (images, PDFs, audio): `allow` forwards it unscanned
   * (and reports it), `refuse` refuses the request. Default: `refuse` for `strict` profiles, else
   * `allow` (see {@link binaryRuleOf}).
   */
  binary: z.enum(['allow', 'refuse']).optional(),
  /**
   * Request fields the proxy's channel table does not know: `scan` masks their text (strings and keys)
   * and refuses the request when they hold anything else (a number, boolean or null cannot be scanned
   * or masked), `refuse` refuses any of them. Default `scan`.
   */
  unknownFields: z.enum(['scan', 'refuse']).optional(),
  /**
   * People's names in free text, without the directory (names.ts: compromise's lexicon, word shape and
   * context). Default on: a name the directory does not know is still personal data. `false` keeps
   * only the directory and the cue rules (`Dear`, `Mr.`, signatures).
   */
  names: z.boolean().optional(),
  /**
   * How far one value keeps one placeholder (pseudonymizer.ts): `workflow` (default) — within one
   * workflow (the task's contextId; without one, one request), so the provider cannot link a person
   * across workflows; `role` — across the workflows of the caller's role; `org` — across the tenant.
   */
  pseudonymScope: z.enum(PSEUDONYM_SCOPES).optional(),
});
export type PrivacyProfile = z.output<typeof PrivacyProfileSchema>;

/** The action a profile takes for one entity type: per-entity override, then custom pattern action, then the mode. */
export function actionFor(profile: PrivacyProfile, type: EntityType): PrivacyMode {
  const override = profile.entities?.[type];
  if (override) return override;
  const custom = profile.customPatterns?.find((p) => p.name === type);
  if (custom?.action) return custom.action;
  return profile.mode;
}

/** The profile's rule for binary content it cannot scan: its own, else `refuse` when strict, else `allow`. */
export function binaryRuleOf(profile: PrivacyProfile): 'allow' | 'refuse' {
  return profile.binary ?? (profile.mode === 'strict' ? 'refuse' : 'allow');
}

/** Whether a profile can have any effect at all (otherwise a request passes through untouched). */
export function profileIsActive(profile: PrivacyProfile): boolean {
  if (profile.mode !== 'off') return true;
  if (Object.values(profile.entities ?? {}).some((m) => m !== 'off')) return true;
  return (profile.customPatterns ?? []).some((p) => p.action !== undefined && p.action !== 'off');
}

import { AppError } from '@orgmesh/contracts';
import type { ProfileGovernance } from './governance.js';

/** A listed model allows itself and its dated snapshots: `gpt-4o-mini-2024-07-18`, `claude-haiku-4-5-20251001`. */
const SNAPSHOT_SUFFIX = /^-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$/;

export function modelAllowed(allowed: readonly string[], model: string): boolean {
  if (allowed.length === 0) return true;
  return allowed.some(
    (name) => model === name || (model.startsWith(name) && SNAPSHOT_SUFFIX.test(model.slice(name.length))),
  );
}

/**
 * The model policy of a registry profile: its `providers` list names the only providers, and per
 * provider the only models (empty: any), its callers may use. Anything else is refused with 403
 * `policy_denied` naming the rule, before masking and before the provider.
 */
export function checkModelPolicy(
  governance: ProfileGovernance,
  provider: 'openai' | 'anthropic',
  model: string,
): void {
  const allowance = governance.providers.find((p) => p.name === provider);
  if (!allowance)
    throw new AppError(
      'policy_denied',
      `model policy of profile ${governance.profileId}: provider ${provider} is not allowed (allowed: ${governance.providers.map((p) => p.name).join(', ')})`,
      { details: { rule: `profiles.${governance.profileId}.providers`, provider } },
    );
  if (!modelAllowed(allowance.models, model))
    throw new AppError(
      'policy_denied',
      `model policy of profile ${governance.profileId}: model "${model.slice(0, 200)}" is not allowed for ${provider} (allowed: ${allowance.models.join(', ')})`,
      { details: { rule: `profiles.${governance.profileId}.providers.${provider}.models`, provider } },
    );
}

import { AppError, type OrgUser, type RoleProfile } from '@orgmesh/contracts';
import { findProfile, type RegistryModel } from './registry.model.js';

/**
 * Checks that an admin may give `user` the profile `profileId`: it exists and belongs to the user's
 * role (a profile of another role would grant another role's mesh permissions). Returns the profile.
 */
export function checkProfileAssignment(model: RegistryModel, user: OrgUser, profileId: string): RoleProfile {
  const profile = findProfile(model, profileId);
  if (!profile) throw new AppError('profile_not_found', `unknown profile "${profileId}"`);
  if (profile.role !== user.role) {
    throw new AppError(
      'validation_failed',
      `profile "${profileId}" is for role "${profile.role}"; user "${user.userId}" has role "${user.role}"`,
      {
        details: {
          issues: [
            { path: 'profileId', message: `profile of role "${profile.role}", user of role "${user.role}"` },
          ],
        },
      },
    );
  }
  return profile;
}

import { z } from 'zod';
import { defineRpc } from '../define.js';
import { ProfileId, RegistryVersion, RoleId, RoleProfile } from './registry.schema.js';

export const GetProfile = defineRpc({
  subject: 'rpc.registry.v1.get-profile',
  description:
    'A role profile by id, or the default profile of a role, with its signed published form. ' +
    'Consumers verify `jws` (verifyProfile from @orgmesh/auth) before relying on it. Unknown → profile_not_found.',
  request: z.union([z.object({ profileId: ProfileId }), z.object({ role: RoleId })]),
  response: z.object({
    profile: RoleProfile,
    version: RegistryVersion,
    /** Compact JWS (ES256, `kid` header) whose payload is the published profile version. */
    jws: z.string(),
    /** The registry's public profile-signing keys (JWKS) that `jws` verifies against. */
    jwks: z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string() })) }),
  }),
});

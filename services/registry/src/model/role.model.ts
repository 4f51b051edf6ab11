import { z } from 'zod';
import { RoleId, type RegistryRole } from '@orgmesh/contracts';

/** `roles.yaml`: the roles of the org; every agent, profile, org user and mesh permission names one of these. */
export const RolesFileSchema = z
  .strictObject({
    roles: z
      .array(
        z.strictObject({
          id: RoleId,
          display_name: z.string().min(1).max(200),
          description: z.string().max(2000).default(''),
        }),
      )
      .min(1),
  })
  .transform(({ roles }): RegistryRole[] =>
    roles.map((r) => ({ id: r.id, displayName: r.display_name, description: r.description })),
  );

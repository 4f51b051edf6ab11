import { z } from 'zod';
import { defineRpc } from '../define.js';
import { RegistrySourceFile, RegistryVersion } from './registry.schema.js';

export const LoadRegistry = defineRpc({
  subject: 'rpc.registry.v1.load',
  description:
    'Admin only: validates a registry directory (as its files) and stores it atomically as a new version. ' +
    'Invalid → validation_failed with details.problems ({file, path, reason, line?, column?}); nothing is stored. ' +
    'Identical content to the current version is a no-op that returns it.',
  request: z.object({ files: z.array(RegistrySourceFile).min(1).max(2000) }),
  response: z.object({
    version: RegistryVersion,
    /** sha256 of the canonical model: equal digests mean equal registries. */
    digest: z.string(),
    changed: z.boolean(),
    roles: z.number().int().nonnegative(),
    agents: z.number().int().nonnegative(),
    profiles: z.number().int().nonnegative(),
  }),
});

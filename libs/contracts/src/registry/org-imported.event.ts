import { z } from 'zod';
import { defineEvent } from '../define.js';
import { RegistryTimestamp } from './registry.schema.js';

export const OrgImported = defineEvent({
  subject: 'registry.v1.org-imported',
  description:
    'The org chart was replaced. Carries counts only, never people: fetch rpc.registry.v1.directory.',
  schema: z.object({
    orgVersion: z.number().int().positive(),
    users: z.number().int().nonnegative(),
    importedBy: z.string(),
    occurredAt: RegistryTimestamp,
  }),
});

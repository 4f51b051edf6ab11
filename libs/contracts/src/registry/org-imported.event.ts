import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineEvent } from '../define.js';

export const OrgImported = defineEvent({
  subject: 'registry.v1.org-imported',
  description:
    'The org chart was replaced. Carries counts only, never people: fetch rpc.registry.v1.directory.',
  schema: z.object({
    orgVersion: z.number().int().positive(),
    users: z.number().int().nonnegative(),
    importedBy: z.string(),
    occurredAt: Timestamp,
  }),
});

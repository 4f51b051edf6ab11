import { z } from 'zod';
import { defineRpc } from '../define.js';
import { safeText } from '../safe-input.js';
import { RegistryTimestamp } from './registry.schema.js';

export const ImportOrg = defineRpc({
  subject: 'rpc.registry.v1.import-org',
  description:
    'Replaces the org chart with a CSV (`user_id,reports_to_id,name,role,email,department`), all-or-nothing. ' +
    'Cycles, unknown roles, unknown managers and duplicate emails → validation_failed with details.problems naming the lines.',
  request: z.object({
    csv: safeText(z.string().min(1).max(20_000_000)),
    fileName: safeText(z.string().max(300)).optional(),
  }),
  response: z.object({
    orgVersion: z.number().int().positive(),
    users: z.number().int().nonnegative(),
    importedAt: RegistryTimestamp,
  }),
});

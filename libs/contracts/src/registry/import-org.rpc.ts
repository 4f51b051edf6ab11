import { z } from 'zod';
import { Timestamp } from '../timestamp.js';
import { defineRpc } from '../define.js';
import { safeText } from '../safe-input.js';

/**
 * The largest CSV part of a chunked org import, in characters: a part travels as one NATS message
 * (1 MiB by default) with room for the envelope, escapes and multi-byte characters.
 */
export const ORG_IMPORT_PART_MAX_CHARS = 256 * 1024;
/** Parts of one upload at most: 100,000 people take about 40. */
export const ORG_IMPORT_MAX_PARTS = 4_000;

export const ImportOrg = defineRpc({
  subject: 'rpc.registry.v1.import-org',
  description:
    'Replaces the org chart with a CSV (`user_id,reports_to_id,name,role,email,department`), all-or-nothing. ' +
    'A CSV that does not fit one message is sent first as parts (rpc.registry.v1.import-org-part) and then named ' +
    'here by its upload id and part count. Cycles, unknown roles, unknown managers and duplicate emails → ' +
    'validation_failed with details.problems naming the lines.',
  request: z
    .object({
      csv: safeText(z.string().min(1).max(20_000_000)).optional(),
      /** A chunked upload whose parts 0…parts-1 were all sent with import-org-part. */
      upload: z
        .object({ uploadId: z.uuid(), parts: z.number().int().positive().max(ORG_IMPORT_MAX_PARTS) })
        .optional(),
      fileName: safeText(z.string().max(300)).optional(),
    })
    .refine((r) => (r.csv === undefined) !== (r.upload === undefined), {
      message: 'exactly one of csv and upload',
      path: ['csv'],
    }),
  response: z.object({
    orgVersion: z.number().int().positive(),
    users: z.number().int().nonnegative(),
    importedAt: Timestamp,
  }),
});

export const ImportOrgPart = defineRpc({
  subject: 'rpc.registry.v1.import-org-part',
  description:
    'One part of a chunked org import: consecutive lines of the CSV (the first part holds the header). Parts are ' +
    'kept until import-org names their upload (or for an hour); sending a part again replaces it.',
  request: z.object({
    uploadId: z.uuid(),
    index: z.number().int().nonnegative().max(ORG_IMPORT_MAX_PARTS - 1),
    csv: safeText(z.string().min(1).max(ORG_IMPORT_PART_MAX_CHARS)),
  }),
  response: z.object({ uploadId: z.uuid(), index: z.number().int().nonnegative() }),
});

import { z } from 'zod';
import { defineRpc } from '../define.js';
import { RegistryVersion } from './registry.schema.js';

export const GetDirectory = defineRpc({
  subject: 'rpc.registry.v1.directory',
  description:
    "The org's people (names and emails) and its agents' display names: the privacy proxy's detection dictionary. " +
    'Its content is personal data: never log it.',
  request: z.object({}),
  response: z.object({
    people: z.array(
      z.object({ userId: z.string(), name: z.string(), email: z.string(), department: z.string() }),
    ),
    /** Changes with every org import, so consumers can cache the dictionary per version. */
    orgVersion: z.number().int().nonnegative(),
    version: RegistryVersion,
  }),
});

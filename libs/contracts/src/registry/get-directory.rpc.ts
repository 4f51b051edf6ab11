import { z } from 'zod';
import { defineRpc } from '../define.js';
import { safeText } from '../safe-input.js';
import { RegistryVersion } from './registry.schema.js';

/**
 * The most a directory page holds, by count; the registry also cuts a page at
 * DIRECTORY_PAGE_MAX_BYTES of people, so a page stays well below NATS's 1 MiB message limit.
 */
export const DIRECTORY_PAGE_MAX_PEOPLE = 10_000;
export const DIRECTORY_PAGE_MAX_BYTES = 512 * 1024;

export const GetDirectory = defineRpc({
  subject: 'rpc.registry.v1.directory',
  description:
    "The org's people (names and emails) and its agents' display names: the privacy proxy's detection dictionary. " +
    'Paged by user id (ADR 0013): ask again with `after` = `nextAfter` until it is absent; every page names the ' +
    'org version it was read from, and a reader restarts when that changes. Its content is personal data: never log it.',
  request: z.object({
    /** The last user id of the previous page; absent for the first page. */
    after: safeText(z.string().min(1).max(200)).optional(),
    /** People per page at most; default and cap DIRECTORY_PAGE_MAX_PEOPLE (the byte cap applies too). */
    limit: z.number().int().positive().max(DIRECTORY_PAGE_MAX_PEOPLE).optional(),
  }),
  response: z.object({
    people: z.array(
      z.object({ userId: z.string(), name: z.string(), email: z.string(), department: z.string() }),
    ),
    /** Changes with every org import, so consumers can cache the dictionary per version. */
    orgVersion: z.number().int().nonnegative(),
    version: RegistryVersion,
    /** Present when more people follow: the `after` of the next page. */
    nextAfter: z.string().optional(),
  }),
});

import { USAGE_EXAMPLES } from './examples.usage.js';
import { SESSION_EXAMPLES } from './examples.sessions.js';
import { MESH_EXAMPLES } from './examples.mesh.js';
import { REGISTRY_EXAMPLES } from './examples.registry.js';
import { EVENT_EXAMPLES } from './examples.events.js';
import { IDENTITY_EXAMPLES } from './examples.identity.js';

/**
 * One worked example per operation, shown in /docs and prefilled by its try-it client. Every value
 * is checked against the route's own zod schemas (openapi.spec.ts) and by `redocly lint`, so an
 * example cannot drift from the contract unnoticed.
 */
export interface OperationExample {
  /** Path and query parameter values, by parameter name. */
  parameters?: Readonly<Record<string, string | number>>;
  /** The request body (every JSON-like content type of the operation). */
  request?: unknown;
  /** A request body for one content type, where it differs from `request` (text/csv is text). */
  requestByType?: Readonly<Record<string, unknown>>;
  /** The body of the success response. */
  response: unknown;
}

/** Every operation's example, by operation id: the route groups' own files, merged in the table's order. */
export const OPERATION_EXAMPLES: Readonly<Record<string, OperationExample>> = {
  ...USAGE_EXAMPLES,
  ...SESSION_EXAMPLES,
  ...MESH_EXAMPLES,
  ...REGISTRY_EXAMPLES,
  ...EVENT_EXAMPLES,
  ...IDENTITY_EXAMPLES,
};

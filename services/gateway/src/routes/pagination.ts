import { z } from 'zod';
import { MAX_CURSOR_LENGTH, defineCursor } from '@orgmesh/contracts';

/**
 * `limit` and `cursor` query parameters of a list (cursor = the previous page's `nextCursor`). The
 * page size a list uses without `limit` is said here once: the handler reads it from the parsed query
 * and the OpenAPI document shows it as the parameter's default.
 */
export const pageQuery = (defaultLimit: number) => ({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .default(defaultLimit)
    .describe(`Page size (1–500, default ${defaultLimit}).`),
  cursor: z
    .string()
    .min(1)
    .max(MAX_CURSOR_LENGTH)
    .optional()
    .describe('The `nextCursor` of the previous page (opaque; anything else is 400 `invalid_cursor`).'),
});

/**
 * `limit` of a report that answers rows rather than pages (usage, redaction counts): 1 to `max`;
 * absent, `fallback` (the parsed query holds it).
 */
export const rowLimit = (max: number, fallback: number) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(max)
    .default(fallback)
    .describe(`Rows at most (default ${fallback}, max ${max})`);

/** Query booleans are the strings `true` / `false`. */
export const queryBoolean = () =>
  z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional();

export function page<T>(items: T[], nextCursor: string | null): { items: T[]; nextCursor: string | null } {
  return { items, nextCursor };
}

/**
 * Pages over a list a service returns whole (its RPC has no cursor yet): the cursor is the index of
 * the next item, opaque to clients. Presentation only: order and content are the service's.
 */
/** Far more items than any list a service returns whole; a larger offset was never issued. */
const MAX_OFFSET = 1_000_000;

/** The offset cursor of `pageOf`: the index of the next item. */
const OffsetCursor = defineCursor(z.strictObject({ o: z.number().int().min(1).max(MAX_OFFSET) }));

export function pageOf<T>(
  all: readonly T[],
  limit: number,
  cursor: string | undefined,
): { items: T[]; nextCursor: string | null } {
  const start = cursor === undefined ? 0 : OffsetCursor.decode(cursor).o;
  const items = all.slice(start, start + limit);
  const next = start + items.length;
  return { items, nextCursor: next < all.length ? OffsetCursor.encode({ o: next }) : null };
}

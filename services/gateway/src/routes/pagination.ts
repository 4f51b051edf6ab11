import { z } from 'zod';
import { AppError } from '@orgmesh/contracts';

/** `limit` and `cursor` query parameters shared by every list (cursor = the previous page's `nextCursor`). */
export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(500).optional().describe('Page size (1–500).'),
  cursor: z.string().min(1).max(2000).optional().describe('The `nextCursor` of the previous page.'),
};

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
export function pageOf<T>(
  all: readonly T[],
  limit: number | undefined,
  cursor: string | undefined,
): { items: T[]; nextCursor: string | null } {
  let start = 0;
  if (cursor !== undefined) {
    const decoded = /^o(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!decoded?.[1]) {
      throw new AppError('validation_failed', 'invalid cursor', {
        details: { issues: [{ path: 'query.cursor', message: 'not a cursor of this list' }] },
      });
    }
    start = Number(decoded[1]);
  }
  const size = limit ?? 100;
  const items = all.slice(start, start + size);
  const next = start + items.length;
  return { items, nextCursor: next < all.length ? Buffer.from(`o${next}`).toString('base64url') : null };
}

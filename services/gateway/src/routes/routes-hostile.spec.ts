import { describe, expect, it } from '@jest/globals';
import { unsafeSchemaPlaces } from '@orgmesh/contracts';
import { API_ROUTES } from './index.js';

describe('route schemas refuse hostile input (issue 17)', () => {
  const rpcRoutes = API_ROUTES.filter((r) => r.kind === 'rpc');

  it('no path id, query filter or body field takes NUL or a lone surrogate, no JSON is unbounded', () => {
    expect(rpcRoutes.length).toBeGreaterThanOrEqual(20);
    const places = rpcRoutes.flatMap((route) =>
      (['params', 'query', 'body'] as const).flatMap((part) => {
        const schema = route[part];
        // The page cursor is opaque here: the service that issued it parses it (invalid_cursor).
        return schema
          ? unsafeSchemaPlaces(schema, `${route.method} ${route.path} ${part}`, (p) =>
              p.endsWith(' query.cursor'),
            )
          : [];
      }),
    );
    expect(places).toEqual([]);
  });
});

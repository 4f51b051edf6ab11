import { AppError } from '@orgmesh/contracts';
import { seriesOn } from '@orgmesh/telemetry';
import type { Counter, Registry } from 'prom-client';
import type { JwtVerifier } from './jwt-verifier.js';

/** One series for every service that verifies forwarded callers; `service` comes from the registry's default labels. */
export const CALLERS_REFUSED_TOTAL = 'orgmesh_callers_refused_total';

/**
 * The refused-caller counter of a service's metrics registry, created once per registry (sessions,
 * mesh-router and the registry count into the same series name so one alert covers the bus).
 */
export function callersRefusedCounter(registry: Registry): Counter<'code'> {
  return seriesOn(registry).sharedCounter(
    CALLERS_REFUSED_TOTAL,
    'RPCs refused before any work because the forwarded caller token could not be verified (unauthenticated) or, in sessions, carries no orgmesh scope (forbidden)',
    { labels: ['code'] },
  );
}

/**
 * The verifier, counting each refusal by its error code before rethrowing it unchanged. Only the
 * code is recorded: the token and the reason stay out of metrics and logs.
 */
export function countingRefusals(verifier: JwtVerifier, refused: Counter<'code'>): JwtVerifier {
  return {
    async verify(token) {
      try {
        return await verifier.verify(token);
      } catch (error) {
        refused.inc({ code: error instanceof AppError ? error.code : 'internal' });
        throw error;
      }
    },
  };
}

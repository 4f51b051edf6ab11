import { AppError } from '@orgmesh/contracts';
import { Counter, type Registry } from 'prom-client';
import type { JwtVerifier } from './jwt-verifier.js';

/** One series for every service that verifies forwarded callers; `service` comes from the registry's default labels. */
export const CALLERS_REFUSED_TOTAL = 'orgmesh_callers_refused_total';

/**
 * The refused-caller counter of a service's metrics registry, created once per registry (sessions,
 * mesh-router and the registry count into the same series name so one alert covers the bus).
 */
export function callersRefusedCounter(registry: Registry): Counter<'code'> {
  const existing = registry.getSingleMetric(CALLERS_REFUSED_TOTAL);
  if (existing) return existing as Counter<'code'>;
  return new Counter({
    name: CALLERS_REFUSED_TOTAL,
    help: 'RPCs refused before any work because the forwarded caller token could not be verified (unauthenticated) or, in sessions, carries no orgmesh scope (forbidden)',
    labelNames: ['code'],
    registers: [registry],
  });
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

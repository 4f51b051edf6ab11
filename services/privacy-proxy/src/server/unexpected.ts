import { unexpectedErrorFields } from '@orgmesh/telemetry';
import type { ProxyContext } from './context.js';
import type { Exchange } from './exchange.js';

/**
 * An error nobody expected (a bug): counted and logged once, with the trace id the logger adds. For
 * the request listener's last resort and for work that runs outside a request's promise chain.
 */
export function unexpected(ctx: ProxyContext, error: unknown, x: Exchange | undefined): void {
  ctx.metrics.unexpectedErrors.inc({ edge: 'http' });
  ctx.logger.error(
    { ...(x ? { requestId: x.requestId, route: x.route } : {}), ...unexpectedErrorFields(error) },
    'unexpected error',
  );
}

import type { JwtVerifier } from '@orgmesh/auth';
import type { MessageBus } from '@orgmesh/messaging';
import type { Database } from '@orgmesh/persistence';
import type { HealthServer, Logger } from '@orgmesh/telemetry';
import { ServiceHost, type ServiceHostOptions } from './service-host.js';

/**
 * What a stateful service's start takes besides its config, alike in sessions, mesh-router and
 * registry (main sets `logger` and `migrate`; tests and the bench the rest). A service adds its own
 * (sessions' `followMesh`).
 */
export interface ServiceAppOptions<Clock> {
  logger?: Logger;
  /** The service's clock (tests pin it); default: the system clock. */
  clock?: Clock;
  /** Apply the service's migrations before the pool opens (MIGRATE_ON_START). */
  migrate?: boolean;
  /** false: the background jobs are not started (tests run each tick by hand); default: started. */
  startJobs?: boolean;
  /**
   * Verifies the token an RPC forwards; default: the service's from its config (verifierFromConfig:
   * the JWKS of AUTH_JWKS_URL, or `<AUTH_ISSUER>/.well-known/jwks.json`).
   */
  verifier?: JwtVerifier;
}

/** A started stateful service as its main, tests and the bench hold it. */
export interface ServiceApp<Service, Jobs> {
  readonly bus: MessageBus;
  readonly db: Database;
  readonly service: Service;
  /** Its background jobs (tests run their ticks by hand with startJobs: false). */
  readonly jobs: Jobs;
  readonly health: HealthServer;
  /** Closes everything the start opened (ServiceHost.close). */
  close(): Promise<void>;
}

/**
 * Opens the service's ServiceHost — with `options.logger`, and its `migrations` (its key in
 * @orgmesh/migrations) applied when `options.migrate` — and runs `start` on it (ServiceHost.start:
 * a start that fails closes what it opened).
 */
export async function startServiceApp<T>(
  host: Omit<ServiceHostOptions, 'logger' | 'migrate'> & { migrations: string },
  options: Pick<ServiceAppOptions<unknown>, 'logger' | 'migrate'>,
  start: (host: ServiceHost) => Promise<T>,
): Promise<T> {
  const { migrations, ...hostOptions } = host;
  const opened = await ServiceHost.open({
    ...hostOptions,
    logger: options.logger,
    migrate: options.migrate ? migrations : undefined,
  });
  return opened.start(start);
}

/**
 * The started app over `host`: its bus and pool, the service's `parts`, and a close that closes
 * the host (everything its start opened), then logs `stoppedMessage`.
 */
export function serviceApp<Parts extends object>(
  host: ServiceHost,
  parts: Parts,
  stoppedMessage: string,
): Parts & Pick<ServiceApp<unknown, unknown>, 'bus' | 'db' | 'close'> {
  return {
    bus: host.bus,
    db: host.db,
    ...parts,
    async close() {
      await host.close();
      host.logger.info({}, stoppedMessage);
    },
  };
}

import type { JwtVerifier } from '@orgmesh/auth';
import type { MessageBus } from '@orgmesh/messaging';
import type { Database } from '@orgmesh/persistence';
import type { HealthServer, Logger } from '@orgmesh/telemetry';
import { ServiceHost, type ServiceHostConfig, type ServiceHostOptions } from './service-host.js';

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

/** What is fixed about a stateful service's host; the config and options come with each start. */
export interface ServiceAppDefinition extends Pick<ServiceHostOptions, 'service' | 'schema' | 'bus'> {
  /** Its key in @orgmesh/migrations, applied before the pool opens when `options.migrate`. */
  migrations: string;
  /**
   * Its event stream, made (`bus.ensureStream`) before `start` runs; a service whose stream takes
   * more than its name (the mesh narrows its subjects) makes it in `start`.
   */
  stream?: string;
}

/**
 * The start function of a stateful service: it opens the service's ServiceHost — with
 * `options.logger`, its migrations applied when `options.migrate` — makes its stream, and runs
 * `start` on it (ServiceHost.start: a start that fails closes what it opened).
 */
export function serviceAppStarter<
  Config extends ServiceHostConfig,
  Options extends ServiceAppOptions<unknown>,
  App,
>(
  definition: ServiceAppDefinition,
  start: (host: ServiceHost, config: Config, options: Options) => Promise<App>,
): (config: Config, options?: Options) => Promise<App> {
  const { migrations, stream, ...hostOptions } = definition;
  // Every member of ServiceAppOptions is optional, so a start without options has none set.
  return async (config, options = {} as Options) => {
    const host = await ServiceHost.open({
      ...hostOptions,
      config,
      logger: options.logger,
      migrate: options.migrate ? migrations : undefined,
    });
    return host.start(async (opened) => {
      if (stream) await opened.bus.ensureStream(stream);
      return start(opened, config, options);
    });
  };
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

import 'reflect-metadata';
import { verifierFromConfig } from '@orgmesh/auth';
import { RetentionJob, type Database } from '@orgmesh/persistence';
import {
  handlersModule,
  serviceApp,
  serviceAppStarter,
  type ServiceApp,
  type ServiceAppOptions,
} from '@orgmesh/service-host';
import type { Registry } from 'prom-client';
import type { SessionsConfig } from './sessions.config.js';
import { SessionRepository, SESSIONS_SCHEMA } from './session/session.repository.js';
import { SessionService, type Clock, systemClock } from './session/session.service.js';
import { SessionMetrics } from './session/session.metrics.js';
import { sessionHandlers } from './session/session.handlers.js';
import { sessionJobs, type SessionJobs } from './session/session.jobs.js';
import { sessionsRetentionTargets } from './session/session.retention.js';
import { startMeshFollow } from './mesh-follow/mesh-follow.consumer.js';
import { CallerIdentity } from './identity/caller-identity.js';

export type SessionsApp = ServiceApp<SessionService, SessionJobs>;

export interface SessionsAppOptions extends ServiceAppOptions<Clock> {
  /** false: the sessions do not follow the mesh's task events; default: they do. */
  followMesh?: boolean;
}

/**
 * Starts the sessions service: Postgres pool, NATS bus, the SESSIONS stream, the Nest microservice
 * on the orgmesh NATS transport, the outbox relay, the background jobs and the health port.
 */
export const startSessionsApp = serviceAppStarter(
  { service: 'sessions', schema: SESSIONS_SCHEMA, migrations: 'sessions', stream: 'sessions' },
  async (host, config: SessionsConfig, options: SessionsAppOptions): Promise<SessionsApp> => {
    const { bus, db, logger, metrics: registry } = host;
    const metrics = new SessionMetrics(registry);
    const repository = new SessionRepository(db, {
      batchMax: config.SESSION_BATCH_MAX,
      batchInFlight: config.SESSION_BATCH_IN_FLIGHT,
      rowCacheSize: config.SESSION_ROW_CACHE_SIZE,
    });
    const clock = options.clock ?? systemClock;
    const service = new SessionService(repository, clock);

    await host.startRelay();
    const verifier = options.verifier ?? verifierFromConfig(config);
    const identity = new CallerIdentity(verifier, (code) => metrics.callersRefused.inc({ code }));
    await host.listen(handlersModule('SessionModule', [sessionHandlers(service, metrics, identity)], []));
    // Sessions follow the mesh's task events (ARCHITECTURE §3).
    if (options.followMesh !== false) {
      const meshFollow = await startMeshFollow({ bus, db, service, logger });
      host.onClose(() => meshFollow.stop());
    }

    const retention = retentionJob(db, config, registry, clock);
    const jobs = host.runJobs(
      sessionJobs(
        { service, repository, metrics, logger, retention },
        {
          idleTimeoutMs: config.SESSION_IDLE_TIMEOUT,
          sweepIntervalMs: config.SESSION_SWEEP_INTERVAL,
          retentionIntervalMs: config.SESSION_RETENTION_INTERVAL,
        },
      ),
      options.startJobs !== false,
    );

    const health = await host.serveHealth({
      host: config.SESSIONS_HTTP_HOST,
      port: config.SESSIONS_HTTP_PORT,
    });
    logger.info({ healthPort: health.port }, 'sessions service started');

    return serviceApp(host, { service, jobs, health }, 'sessions service stopped');
  },
);

/** The sessions' retention (session.retention.ts: what it deletes, for how long each table keeps rows). */
function retentionJob(db: Database, config: SessionsConfig, registry: Registry, clock: Clock): RetentionJob {
  return new RetentionJob(db, {
    lockKey: 'sessions-job-retention',
    targets: sessionsRetentionTargets({
      sessionsMs: config.SESSION_RETENTION_DAYS * 86_400_000,
      idempotencyKeysMs: config.SESSION_IDEMPOTENCY_RETENTION,
      processedEventsMs: config.PROCESSED_EVENTS_RETENTION,
    }),
    batchSize: config.SESSION_RETENTION_BATCH_SIZE,
    pauseMs: config.SESSION_RETENTION_BATCH_PAUSE,
    metrics: registry,
    // Session rows carry the service clock's timestamps.
    now: () => clock.now(),
  });
}

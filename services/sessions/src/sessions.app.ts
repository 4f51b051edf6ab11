import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestMicroservice } from '@nestjs/common';
import { connectBus, NatsTransportServer, OutboxRelay, type MessageBus } from '@orgmesh/messaging';
import { Database } from '@orgmesh/persistence';
import { runMigrations } from '@orgmesh/migrations';
import { createLogger, createMetricsRegistry, startHealthServer, type HealthServer, type Logger } from '@orgmesh/telemetry';
import type { SessionsConfig } from './sessions.config.js';
import { SessionModule } from './session/session.module.js';
import { SessionRepository, SESSIONS_SCHEMA } from './session/session.repository.js';
import { SessionService, type Clock, systemClock } from './session/session.service.js';
import { SessionMetrics } from './session/session.metrics.js';
import { SessionJobs } from './session/session.jobs.js';
import { startMeshFollow } from './mesh-follow/mesh-follow.consumer.js';

export interface SessionsApp {
  readonly bus: MessageBus;
  readonly db: Database;
  readonly service: SessionService;
  readonly jobs: SessionJobs;
  readonly health: HealthServer;
  close(): Promise<void>;
}

/**
 * Starts the sessions service: Postgres pool, NATS bus, the SESSIONS stream, the Nest microservice
 * on the orgmesh NATS transport, the outbox relay, the background jobs and the health port.
 */
export async function startSessionsApp(
  config: SessionsConfig,
  options: { logger?: Logger; clock?: Clock; migrate?: boolean; startJobs?: boolean; followMesh?: boolean } = {},
): Promise<SessionsApp> {
  const logger = options.logger ?? createLogger({ service: 'sessions', level: config.LOG_LEVEL });
  if (options.migrate) await runMigrations({ url: config.DATABASE_URL, service: 'sessions' });
  const db = await Database.connect({
    url: config.DATABASE_URL,
    schema: SESSIONS_SCHEMA,
    poolSize: config.DATABASE_POOL_SIZE,
    applicationName: 'orgmesh-sessions',
  });
  const registry = createMetricsRegistry('sessions');
  const bus = await connectBus({
    url: config.NATS_URL,
    name: 'sessions',
    subjectPrefix: config.NATS_SUBJECT_PREFIX,
    nameSuffix: config.NATS_NAME_SUFFIX,
    logger,
    metrics: registry,
  });
  await bus.ensureStream('sessions');

  const metrics = new SessionMetrics(registry);
  const repository = new SessionRepository(db, {
    batchMax: config.SESSION_BATCH_MAX,
    batchInFlight: config.SESSION_BATCH_IN_FLIGHT,
    rowCacheSize: config.SESSION_ROW_CACHE_SIZE,
  });
  const service = new SessionService(repository, options.clock ?? systemClock);

  const microservice: INestMicroservice = await NestFactory.createMicroservice(SessionModule.register({ service, metrics }), {
    strategy: new NatsTransportServer(bus),
    logger: false,
  });
  await microservice.listen();

  const relay = new OutboxRelay({ databaseUrl: config.DATABASE_URL, schema: SESSIONS_SCHEMA, bus, logger });
  await relay.start();
  metrics.observeOutbox(() => relay.lag());
  // Sessions follow the mesh's task events (ARCHITECTURE §3).
  const meshFollow = options.followMesh === false ? undefined : await startMeshFollow({ bus, db, service, logger });

  const jobs = new SessionJobs(service, repository, metrics, logger, {
    idleTimeoutMs: config.SESSION_IDLE_TIMEOUT,
    sweepIntervalMs: config.SESSION_SWEEP_INTERVAL,
    retentionMs: config.SESSION_RETENTION_DAYS * 86_400_000,
    retentionIntervalMs: config.SESSION_RETENTION_INTERVAL,
  });
  if (options.startJobs !== false) jobs.start();

  const health = await startHealthServer({
    port: config.SESSIONS_HTTP_PORT,
    registry,
    checks: { nats: async () => void (await bus.nc.rtt()), postgres: () => db.ping() },
  });
  logger.info({ healthPort: health.port }, 'sessions service started');

  return {
    bus,
    db,
    service,
    jobs,
    health,
    async close() {
      await jobs.stop();
      await meshFollow?.stop();
      await microservice.close();
      await relay.stop();
      await health.close();
      await bus.close();
      await db.close();
      logger.info({}, 'sessions service stopped');
    },
  };
}

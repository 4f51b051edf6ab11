import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestMicroservice } from '@nestjs/common';
import { MESH_EVENT_SUBJECTS, MESH_INBOX_STREAM, MESH_INBOX_SUBJECTS } from '@orgmesh/contracts';
import { createJwtVerifier, type JwtVerifier } from '@orgmesh/auth';
import {
  connectBus,
  NatsTransportServer,
  OutboxRelay,
  type ConsumerHandle,
  type MessageBus,
} from '@orgmesh/messaging';
import { Database } from '@orgmesh/persistence';
import { runMigrations } from '@orgmesh/migrations';
import {
  createLogger,
  createMetricsRegistry,
  startHealthServer,
  type HealthServer,
  type Logger,
} from '@orgmesh/telemetry';
import type { MeshRouterConfig } from './mesh-router.config.js';
import { CallerIdentity } from './identity/caller-identity.js';
import { TokenBucketLimiter } from './limits/rate-limiter.js';
import { NatsPolicyAdapter } from './policy/nats-policy.adapter.js';
import type { PolicyPort } from './policy/policy.port.js';
import { startUndeliverableWatcher } from './delivery/undeliverable.consumer.js';
import { EagerPublisher } from './delivery/eager-publisher.js';
import { TaskModule } from './task/task.module.js';
import { ReplicaCacheSync } from './task/replica-sync.js';
import { TaskRepository, MESH_SCHEMA } from './task/task.repository.js';
import { TaskService, systemClock, type Clock } from './task/task.service.js';
import { TaskMetrics } from './task/task.metrics.js';
import { TaskJobs } from './task/task.jobs.js';

export interface MeshRouterApp {
  readonly bus: MessageBus;
  readonly db: Database;
  readonly service: TaskService;
  readonly jobs: TaskJobs;
  readonly policy: PolicyPort;
  readonly health: HealthServer;
  /** The task store (its row cache statistics: tests and diagnostics). */
  readonly repository: TaskRepository;
  readonly replicaSync: ReplicaCacheSync;
  close(): Promise<void>;
}

export interface MeshRouterOptions {
  logger?: Logger;
  clock?: Clock;
  migrate?: boolean;
  startJobs?: boolean;
  /** Token verification; default: the JWKS of AUTH_JWKS_URL (or `<AUTH_ISSUER>/.well-known/jwks.json`). */
  verifier?: JwtVerifier;
}

/**
 * Starts the mesh router: Postgres pool, NATS bus, the MESH event stream and the MESH_INBOX work
 * queue, the Nest microservice on the orgmesh NATS transport, the outbox relay, the dead-letter
 * watcher (undeliverable tasks), the deadline job and the health port.
 */
export async function startMeshRouterApp(
  config: MeshRouterConfig,
  options: MeshRouterOptions = {},
): Promise<MeshRouterApp> {
  const logger = options.logger ?? createLogger({ service: 'mesh-router', level: config.LOG_LEVEL });
  if (options.migrate) await runMigrations({ url: config.DATABASE_URL, service: 'mesh' });
  const db = await Database.connect({
    url: config.DATABASE_URL,
    schema: MESH_SCHEMA,
    poolSize: config.DATABASE_POOL_SIZE,
    applicationName: 'orgmesh-mesh-router',
  });
  const registry = createMetricsRegistry('mesh-router');
  const bus = await connectBus({
    url: config.NATS_URL,
    name: 'mesh-router',
    subjectPrefix: config.NATS_SUBJECT_PREFIX,
    nameSuffix: config.NATS_NAME_SUFFIX,
    logger,
    metrics: registry,
    // Replicas learn each other's changes from the task events (ReplicaCacheSync), never their own.
    noEcho: true,
  });
  // The event stream first (narrowed to the events), so the inbox subjects are free for the work queue.
  await bus.ensureStream('mesh', { subjects: [...MESH_EVENT_SUBJECTS] });
  await bus.ensureWorkQueue(MESH_INBOX_STREAM, [...MESH_INBOX_SUBJECTS]);

  const metrics = new TaskMetrics(registry);
  const verifier =
    options.verifier ??
    createJwtVerifier({
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
      jwksUrl: config.AUTH_JWKS_URL ?? `${config.AUTH_ISSUER.replace(/\/$/, '')}/.well-known/jwks.json`,
    });
  const policy = new NatsPolicyAdapter(bus, logger, {
    ttlMs: config.MESH_POLICY_CACHE_TTL,
    timeoutMs: config.MESH_REGISTRY_TIMEOUT,
  });
  policy.start();
  const repository = new TaskRepository(db, {
    maxBatch: config.MESH_WRITE_BATCH_SIZE,
    maxInFlight: config.MESH_WRITE_BATCHES_IN_FLIGHT,
  });
  const eager = config.MESH_EAGER_PUBLISH
    ? new EagerPublisher(
        bus,
        (ids) => repository.markPublished(ids),
        () => repository.wakeRelay(),
        logger,
      )
    : undefined;
  if (eager) repository.onCommitted((rows) => eager.publish(rows));
  const replicaSync = new ReplicaCacheSync(bus, repository, logger);
  replicaSync.start();
  const service = new TaskService(
    repository,
    policy,
    new TokenBucketLimiter({
      perSecond: config.MESH_RATE_LIMIT_PER_SECOND,
      burst: config.MESH_RATE_LIMIT_BURST,
    }),
    {
      defaultDeadlineMs: {
        task: config.MESH_DEADLINE_TASK,
        approval: config.MESH_DEADLINE_APPROVAL,
        notification: config.MESH_DEADLINE_NOTIFICATION,
      },
      maxDeadlineMs: config.MESH_MAX_DEADLINE,
      escalateAt: config.MESH_APPROVAL_ESCALATE_AT,
      maxPayloadBytes: config.MESH_MAX_PAYLOAD_BYTES,
    },
    options.clock ?? systemClock,
  );

  const microservice: INestMicroservice = await NestFactory.createMicroservice(
    TaskModule.register({ service, identity: new CallerIdentity(verifier), metrics }),
    { strategy: new NatsTransportServer(bus), logger: false },
  );
  await microservice.listen();

  const relay = new OutboxRelay({ databaseUrl: config.DATABASE_URL, schema: MESH_SCHEMA, bus, logger });
  await relay.start();
  metrics.observe({
    outbox: () => relay.lag(),
    policyInvalidations: () => policy.invalidations,
    tasksByState: () => repository.countByState(),
    rowCache: () => ({ ...repository.cacheStats, learned: replicaSync.learned }),
  });
  const watcher: ConsumerHandle = await startUndeliverableWatcher({ bus, service, metrics, logger });

  const jobs = new TaskJobs(service, repository, metrics, logger, {
    deadlineIntervalMs: config.MESH_DEADLINE_SWEEP_INTERVAL,
    retentionIntervalMs: 3_600_000,
  });
  if (options.startJobs !== false) jobs.start();

  const health = await startHealthServer({
    port: config.MESH_HTTP_PORT,
    registry,
    checks: { nats: async () => void (await bus.nc.rtt()), postgres: () => db.ping() },
  });
  logger.info({ healthPort: health.port }, 'mesh router started');

  return {
    bus,
    db,
    service,
    jobs,
    policy,
    health,
    repository,
    replicaSync,
    async close() {
      replicaSync.stop();
      await jobs.stop();
      await watcher.stop();
      await microservice.close();
      await eager?.stop();
      policy.stop();
      await relay.stop();
      await health.close();
      await bus.close();
      await db.close();
      logger.info({}, 'mesh router stopped');
    },
  };
}

import 'reflect-metadata';
import { MESH_EVENT_SUBJECTS, MESH_INBOX_STREAM, MESH_INBOX_SUBJECTS } from '@orgmesh/contracts';
import { callersRefusedCounter, countingRefusals, verifierFromConfig, type JwtVerifier } from '@orgmesh/auth';
import { Database, RetentionJob, SessionLock } from '@orgmesh/persistence';
import {
  serviceApp,
  serviceAppStarter,
  type ServiceApp,
  type ServiceAppOptions,
  type ServiceHost,
} from '@orgmesh/service-host';
import { TokenBucketLimiter } from '@orgmesh/telemetry';
import type { MeshRouterConfig } from './mesh-router.config.js';
import { CallerIdentity } from './identity/caller-identity.js';
import { NatsPolicyAdapter } from './policy/nats-policy.adapter.js';
import type { PolicyPort } from './policy/policy.port.js';
import { startUndeliverableWatcher } from './delivery/undeliverable.consumer.js';
import { EagerPublisher } from './delivery/eager-publisher.js';
import { SenderUpdates } from './delivery/sender-updates.js';
import { RedeliverySweep } from './delivery/redelivery.js';
import { TaskModule } from './task/task.module.js';
import { ReplicaCacheSync } from './task/replica-sync.js';
import { RpcPacking } from './replicas/rpc-packing.js';
import { TaskRepository, MESH_SCHEMA } from './task/task.repository.js';
import { TaskService, systemClock, type Clock } from './task/task.service.js';
import { TaskMetrics } from './task/task.metrics.js';
import { taskJobs, type TaskJobs } from './task/task.jobs.js';
import { meshRetentionTargets } from './task/task.retention.js';
import { ApprovalRepository } from './approval/approval.repository.js';
import { ApprovalDelegations } from './approval/approval.delegations.js';
import { ApprovalVisibility } from './approval/approval.visibility.js';
import { ApprovalService } from './approval/approval.service.js';
import { approvalJobs, type ApprovalJobs } from './approval/approval.jobs.js';
import { NatsOrgChartAdapter } from './approval/nats-org-chart.adapter.js';
import { BudgetWarningNotifier } from './budget/budget-warning.notifier.js';
import { BudgetWarningConsumer } from './budget/budget-warning.consumer.js';

export interface MeshRouterApp extends ServiceApp<TaskService, TaskJobs> {
  /** Approvals decided by people (ADR 0019) and their deadline sweep (tests run it by hand with startJobs: false). */
  readonly approvals: ApprovalService;
  readonly approvalJobs: ApprovalJobs;
  /** The inbox re-delivery sweep (tests run it by hand with startJobs: false). */
  readonly redelivery: RedeliverySweep;
  readonly policy: PolicyPort;
  /** The task store (its row cache statistics: tests and diagnostics). */
  readonly repository: TaskRepository;
  readonly replicaSync: ReplicaCacheSync;
  /** Pack, then spread (MESH_RPC_PACKING; undefined when off). */
  readonly packing: RpcPacking | undefined;
}

export type MeshRouterOptions = ServiceAppOptions<Clock>;

/**
 * Starts the mesh router: Postgres pool, NATS bus, the MESH event stream and the MESH_INBOX work
 * queue, the Nest microservice on the orgmesh NATS transport, the outbox relay, the dead-letter
 * watcher (undeliverable tasks), the deadline job and the health port.
 */
export const startMeshRouterApp = serviceAppStarter(
  {
    service: 'mesh-router',
    schema: MESH_SCHEMA,
    migrations: 'mesh',
    // Replicas learn each other's changes from the task events (ReplicaCacheSync), never their own.
    bus: { noEcho: true },
  },
  async (host, config: MeshRouterConfig, options: MeshRouterOptions): Promise<MeshRouterApp> => {
    const { bus, logger } = host;
    // The event stream first (narrowed to the events), so the inbox subjects are free for the work queue.
    await bus.ensureStream('mesh', { subjects: [...MESH_EVENT_SUBJECTS] });
    await bus.ensureWorkQueue(MESH_INBOX_STREAM, [...MESH_INBOX_SUBJECTS]);

    const parts = openParts(host, config, options, await openBatchPool(host, config));
    await serveHandlers(host, parts, options.verifier ?? verifierFromConfig(config));
    const packing = startPacking(host, config, parts.replicaSync);
    await wireConsumers(host, config, parts);
    const jobs = runJobs(host, config, parts, options.startJobs !== false);

    const health = await host.serveHealth({ host: config.MESH_HTTP_HOST, port: config.MESH_HTTP_PORT });
    logger.info({ healthPort: health.port }, 'mesh router started');

    const { service, approvals, policy, repository, replicaSync } = parts;
    return serviceApp(
      host,
      { service, ...jobs, approvals, policy, health, repository, replicaSync, packing },
      'mesh router stopped',
    );
  },
);

/**
 * The pool of the batched task statements and the marks, planned generically (ADR 0025): one
 * connection per statement in flight (three batchers) and one for the marks. Closed after every
 * part that writes through it (parts close first: they register later). Undefined when
 * MESH_WRITE_GENERIC_PLANS is off: they use the router's pool.
 */
async function openBatchPool(host: ServiceHost, config: MeshRouterConfig): Promise<Database | undefined> {
  if (!config.MESH_WRITE_GENERIC_PLANS) return undefined;
  const batchDb = await Database.connect({
    url: config.DATABASE_URL,
    schema: MESH_SCHEMA,
    poolSize: 3 * config.MESH_WRITE_BATCHES_IN_FLIGHT + 1,
    applicationName: 'orgmesh-mesh-router-batches',
    planCacheMode: 'force_generic_plan',
  });
  host.onClose(() => batchDb.close());
  return batchDb;
}

/** What the router's handlers, consumers and jobs share (opened once by `openParts`). */
interface MeshRouterParts {
  readonly clock: Clock;
  readonly metrics: TaskMetrics;
  readonly policy: NatsPolicyAdapter;
  readonly repository: TaskRepository;
  readonly senderUpdates: SenderUpdates;
  readonly replicaSync: ReplicaCacheSync;
  readonly orgChart: NatsOrgChartAdapter;
  readonly approvalRepository: ApprovalRepository;
  readonly approvals: ApprovalService;
  readonly service: TaskService;
}

/**
 * Opens the router's parts: the registry's policy and org-chart caches, the task store with its
 * publication paths (eager publisher, replica sync, repeats to the sender), and the task and
 * approval services, which depend on each other. Each part that runs is stopped at the host's close.
 */
function openParts(
  host: ServiceHost,
  config: MeshRouterConfig,
  options: MeshRouterOptions,
  batchDb: Database | undefined,
): MeshRouterParts {
  const { bus, db, logger, metrics: registry } = host;
  const metrics = new TaskMetrics(registry);
  const policy = new NatsPolicyAdapter(bus, logger, {
    ttlMs: config.MESH_POLICY_CACHE_TTL,
    timeoutMs: config.MESH_REGISTRY_TIMEOUT,
  });
  policy.start();
  host.onClose(() => policy.stop());
  const repository = new TaskRepository(
    db,
    { maxBatch: config.MESH_WRITE_BATCH_SIZE, maxInFlight: config.MESH_WRITE_BATCHES_IN_FLIGHT, db: batchDb },
    // A failed mark only means the relay publishes those rows again.
    (error, rows) => logger.debug({ err: error, rows }, 'marking eagerly published rows failed'),
  );
  // Whichever path publishes a task-updated event repeats it to the task's sender (ADR 0011).
  const senderUpdates = new SenderUpdates(bus, logger);
  if (config.MESH_EAGER_PUBLISH) startEagerPublisher(host, repository, senderUpdates);
  const replicaSync = new ReplicaCacheSync(bus, repository, logger);
  replicaSync.start();
  host.onClose(() => replicaSync.stop());
  const clock = options.clock ?? systemClock;
  const orgChart = new NatsOrgChartAdapter(bus, {
    ttlMs: config.MESH_POLICY_CACHE_TTL,
    timeoutMs: config.MESH_REGISTRY_TIMEOUT,
  });
  orgChart.start();
  host.onClose(() => orgChart.stop());
  // The approvals write their task changes through the task service (set right below).
  const late: { tasks?: TaskService } = {};
  const approvalRepository = new ApprovalRepository(db);
  const approvals = new ApprovalService(
    approvalRepository,
    {
      get: (id) => repository.get(id, false),
      applyOutcome: (id, actor, decide) => late.tasks!.applyOutcome(id, actor, decide),
    },
    orgChart,
    logger,
    () => clock.now(),
  );
  const service = taskService(config, repository, policy, clock, approvals);
  late.tasks = service;
  return {
    clock,
    metrics,
    policy,
    repository,
    senderUpdates,
    replicaSync,
    orgChart,
    approvalRepository,
    approvals,
    service,
  };
}

/** Publishes committed task events right away instead of waiting for the relay's poll (MESH_EAGER_PUBLISH). */
function startEagerPublisher(
  host: ServiceHost,
  repository: TaskRepository,
  senderUpdates: SenderUpdates,
): void {
  const eager = new EagerPublisher(
    host.bus,
    repository.publishedMarks,
    () => repository.wakeRelay(),
    host.logger,
    (subject, payload) => senderUpdates.repeat(subject, payload),
  );
  repository.onCommitted((rows) => eager.publish(rows));
  host.onClose(() => eager.stop());
}

/** The task service with the configured rate limit, deadlines and payload bound. */
function taskService(
  config: MeshRouterConfig,
  repository: TaskRepository,
  policy: PolicyPort,
  clock: Clock,
  approvals: ApprovalService,
): TaskService {
  return new TaskService(
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
    clock,
    approvals,
  );
}

/**
 * Starts the outbox relay (its published task updates repeated to the sender), then the Nest
 * handlers, and exposes the policy and row-cache gauges.
 */
async function serveHandlers(
  host: ServiceHost,
  parts: MeshRouterParts,
  verifier: JwtVerifier,
): Promise<void> {
  const { clock, metrics, policy, repository, senderUpdates, replicaSync, orgChart, approvalRepository } =
    parts;
  await host.startRelay({ onPublished: (event) => senderUpdates.repeat(event.subject, event.data) });
  await host.listen(
    TaskModule.register({
      service: parts.service,
      identity: new CallerIdentity(countingRefusals(verifier, callersRefusedCounter(host.metrics))),
      metrics,
      approvals: parts.approvals,
      delegations: new ApprovalDelegations(approvalRepository, orgChart, () => clock.now()),
      visibility: new ApprovalVisibility(approvalRepository, () => clock.now()),
    }),
  );
  metrics.observe({
    policyInvalidations: () => policy.invalidations,
    rowCache: () => ({ ...repository.cacheStats, learned: replicaSync.learned }),
  });
}

/**
 * Pack, then spread (ADR 0024): started once the handlers serve, so the weight applies to every
 * RPC; stopped first at close, handing the requests back and the lock to another replica.
 */
function startPacking(
  host: ServiceHost,
  config: MeshRouterConfig,
  replicaSync: ReplicaCacheSync,
): RpcPacking | undefined {
  if (!config.MESH_RPC_PACKING) return undefined;
  const lock = new SessionLock(config.DATABASE_URL, 'mesh-router-rpc-packing', {
    applicationName: 'orgmesh-mesh-router-packing',
  });
  const packing = new RpcPacking(
    { lock, bus: host.bus, sync: replicaSync },
    {
      weight: config.MESH_RPC_PACKING_WEIGHT,
      spreadCpu: config.MESH_RPC_SPREAD_CPU,
      learnAboveRps: config.MESH_RPC_LEARN_ABOVE,
      intervalMs: config.MESH_RPC_PACKING_INTERVAL,
    },
    host.logger,
    host.metrics,
  );
  packing.start();
  host.onClose(() => packing.stop());
  return packing;
}

/** The stream consumers: the dead-letter watcher (undeliverable tasks) and the LLM budget warnings. */
async function wireConsumers(
  host: ServiceHost,
  config: MeshRouterConfig,
  parts: MeshRouterParts,
): Promise<void> {
  const { bus, logger } = host;
  const { service, metrics, repository, orgChart, clock } = parts;
  const watcher = await startUndeliverableWatcher({ bus, service, metrics, logger });
  host.onClose(() => watcher.stop());
  // LLM budget warnings become notifications to the manager's role (issue 24, ADR 0016).
  const budgetWarnings = new BudgetWarningConsumer(
    bus,
    new BudgetWarningNotifier(repository, orgChart, { deadlineMs: config.MESH_DEADLINE_NOTIFICATION }, clock),
    logger,
    host.metrics,
  );
  await budgetWarnings.start();
  host.onClose(() => budgetWarnings.stop());
}

/**
 * The background jobs — task deadlines and retention, approval deadlines, inbox re-delivery —
 * started now unless the caller runs them by hand (tests: `startJobs: false`).
 */
function runJobs(
  host: ServiceHost,
  config: MeshRouterConfig,
  parts: MeshRouterParts,
  start: boolean,
): Pick<MeshRouterApp, 'jobs' | 'approvalJobs' | 'redelivery'> {
  const { bus, db, logger } = host;
  const { service, repository, metrics, approvals, clock } = parts;
  repository.onStateChange((kind, state) => metrics.transitions.inc({ kind, state }));
  const jobs = host.runJobs(
    taskJobs(
      { service, repository, metrics, logger, retention: retentionJob(host, config, clock) },
      {
        deadlineIntervalMs: config.MESH_DEADLINE_SWEEP_INTERVAL,
        retentionIntervalMs: config.MESH_RETENTION_INTERVAL,
      },
    ),
    start,
  );
  const approvalSweep = host.runJobs(
    approvalJobs(
      { service: approvals, repository, metrics, logger },
      { intervalMs: config.MESH_DEADLINE_SWEEP_INTERVAL },
    ),
    start,
  );
  const redelivery = host.runJobs(
    new RedeliverySweep(db, bus, metrics, logger, {
      afterMs: config.MESH_REDELIVER_AFTER,
      maxAttempts: config.MESH_REDELIVER_MAX_ATTEMPTS,
      batchSize: config.MESH_REDELIVER_BATCH_SIZE,
      intervalMs: config.MESH_REDELIVER_INTERVAL,
      now: () => clock.now(),
    }),
    start,
  );
  return { jobs, approvalJobs: approvalSweep, redelivery };
}

/** The mesh's retention (task.retention.ts: what it deletes, for how long each table keeps rows). */
function retentionJob(host: ServiceHost, config: MeshRouterConfig, clock: Clock): RetentionJob {
  return new RetentionJob(host.db, {
    lockKey: 'mesh-job-retention',
    targets: meshRetentionTargets({
      tasksMs: config.MESH_TASK_RETENTION,
      idempotencyKeysMs: config.MESH_IDEMPOTENCY_RETENTION,
      processedEventsMs: config.PROCESSED_EVENTS_RETENTION,
    }),
    batchSize: config.MESH_RETENTION_BATCH_SIZE,
    pauseMs: config.MESH_RETENTION_BATCH_PAUSE,
    metrics: host.metrics,
    // Task rows carry the service clock's timestamps.
    now: () => clock.now(),
  });
}

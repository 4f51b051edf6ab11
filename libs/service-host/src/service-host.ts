import { NestFactory } from '@nestjs/core';
import type { DynamicModule, INestMicroservice } from '@nestjs/common';
import { redactDatabaseUrl, resolveDatabaseUrl } from '@orgmesh/config';
import {
  busOptionsFromConfig,
  connectBus,
  NatsTransportServer,
  OutboxRelay,
  type BusOptions,
  type MessageBus,
  type NatsConfigKeys,
  type OutboxRelayOptions,
} from '@orgmesh/messaging';
import { runMigrations } from '@orgmesh/migrations';
import { Database } from '@orgmesh/persistence';
import {
  createLogger,
  createMetricsRegistry,
  startHealthServer,
  type HealthServer,
  type Logger,
} from '@orgmesh/telemetry';
import type { Registry } from 'prom-client';
import { CloseStack } from './close-stack.js';

/**
 * The config keys every stateful service's schema has (each parses its own with zod): the bus keys
 * (NatsConfigKeys: URL, seed, TLS CA, namespace, stream replicas) and these.
 */
export interface ServiceHostConfig extends NatsConfigKeys {
  LOG_LEVEL: string;
  DATABASE_URL: string;
  DATABASE_POOL_SIZE: number;
  /** How long the outbox relay keeps published rows (MESSAGING_RETENTION_ENV; 0 keeps them). */
  OUTBOX_RETENTION?: number | undefined;
}

/** A service's background jobs: interval timers it starts, and stops at shutdown. */
export interface StartableJobs {
  start(): void;
  stop(): Promise<void> | void;
}

export interface ServiceHostOptions {
  /** The service's name: its logger, bus and metrics prefix, and `orgmesh-<service>` in pg_stat_activity. */
  service: string;
  /** The Postgres schema the service owns (the search_path of its connections, its outbox). */
  schema: string;
  config: ServiceHostConfig;
  logger?: Logger;
  /**
   * Applies these migrations (the service's key in @orgmesh/migrations: `sessions`, `mesh`,
   * `registry`) before the pool opens (MIGRATE_ON_START).
   */
  migrate?: string | undefined;
  /** Bus options beyond the config's (e.g. `noEcho`). */
  bus?: Pick<BusOptions, 'noEcho'>;
}

type CloseStep = () => unknown;

/**
 * What the stateful services (sessions, mesh-router, registry) open alike: the JSON logger, the
 * Postgres pool, the metrics registry, the NATS bus, then, as each service asks, its Nest
 * microservice on the orgmesh transport, its outbox relay and its health port. Everything
 * opened is closed by `close()` in reverse order, last opened first, and also when the
 * service's start fails half-way (`start`), so a service that cannot start leaves no
 * connection or port behind.
 */
export class ServiceHost {
  /** The bus and the pool close last, after every part opened on them. */
  private readonly parts = new CloseStack();
  private closing: Promise<void> | undefined;

  private constructor(
    readonly logger: Logger,
    readonly db: Database,
    readonly bus: MessageBus,
    readonly metrics: Registry,
    private readonly options: ServiceHostOptions,
  ) {
    this.parts.push(() => db.close());
    this.parts.push(() => bus.close());
  }

  /** Migrates (when asked), opens the pool and connects the bus. */
  static async open(options: ServiceHostOptions): Promise<ServiceHost> {
    const { config, service } = options;
    const logger = options.logger ?? createLogger({ service, level: config.LOG_LEVEL });
    // Which database, and which rule chose it (libs/config resolveDatabaseUrl); never the password.
    const chosen = resolveDatabaseUrl();
    logger.info(
      {
        database: redactDatabaseUrl(config.DATABASE_URL),
        databaseFrom: chosen.url === config.DATABASE_URL ? chosen.source : 'DATABASE_URL',
      },
      'database',
    );
    if (options.migrate) await runMigrations({ url: config.DATABASE_URL, service: options.migrate });
    const db = await Database.connect({
      url: config.DATABASE_URL,
      schema: options.schema,
      poolSize: config.DATABASE_POOL_SIZE,
      applicationName: `orgmesh-${service}`,
    });
    const metrics = createMetricsRegistry(service);
    let bus: MessageBus;
    try {
      bus = await connectBus({
        ...busOptionsFromConfig(config),
        name: service,
        logger,
        metrics,
        ...options.bus,
      });
    } catch (error) {
      await db.close().catch(() => undefined);
      throw error;
    }
    return new ServiceHost(logger, db, bus, metrics, options);
  }

  /** Runs `step` at close, before everything registered earlier. */
  onClose(step: CloseStep): void {
    this.parts.push(step);
  }

  /**
   * Runs the service's start on this host. If it throws, everything opened so far is closed
   * (errors of the closing are logged, not thrown) and the start's error is rethrown.
   */
  async start<T>(fn: (host: ServiceHost) => Promise<T>): Promise<T> {
    try {
      return await fn(this);
    } catch (error) {
      await this.close().catch(() => undefined);
      throw error;
    }
  }

  /** The Nest microservice of `module` on the orgmesh NATS transport, listening. */
  async listen(module: DynamicModule): Promise<INestMicroservice> {
    const microservice = await NestFactory.createMicroservice(module, {
      strategy: new NatsTransportServer(this.bus),
      logger: false,
    });
    this.onClose(() => microservice.close());
    await microservice.listen();
    return microservice;
  }

  /**
   * The outbox relay of the service's schema, started; it registers orgmesh_outbox_pending and
   * orgmesh_outbox_lag_seconds (libs/messaging). Started before `listen`, it is stopped after the
   * microservice (closing runs last-opened first), so requests in flight still publish.
   * `publishedRetentionMs`: how long published rows are kept (default: the config's
   * OUTBOX_RETENTION, else 24 h; 0 keeps them); `onPublished`: see OutboxRelayOptions.
   */
  async startRelay(
    options: Pick<OutboxRelayOptions, 'publishedRetentionMs' | 'onPublished'> = {},
  ): Promise<OutboxRelay> {
    const relay = new OutboxRelay({
      databaseUrl: this.options.config.DATABASE_URL,
      schema: this.options.schema,
      bus: this.bus,
      logger: this.logger,
      publishedRetentionMs: options.publishedRetentionMs ?? this.options.config.OUTBOX_RETENTION,
      onPublished: options.onPublished,
    });
    this.onClose(() => relay.stop());
    await relay.start();
    return relay;
  }

  /**
   * Starts `jobs` now unless `start` is false (tests that run each tick by hand), and stops them
   * at close either way (a tick started by hand may still be running). Returns `jobs`.
   */
  runJobs<J extends StartableJobs>(jobs: J, start: boolean): J {
    if (start) jobs.start();
    this.onClose(() => jobs.stop());
    return jobs;
  }

  /**
   * The health port: `/healthz`, `/readyz` (NATS and Postgres, plus `checks`) and `/metrics`, on
   * the service's `*_HTTP_HOST` and `*_HTTP_PORT`.
   */
  async serveHealth(
    listen: { host: string; port: number },
    checks: Record<string, () => Promise<void>> = {},
  ): Promise<HealthServer> {
    const health = await startHealthServer({
      host: listen.host,
      port: listen.port,
      registry: this.metrics,
      checks: { nats: async () => void (await this.bus.nc.rtt()), postgres: () => this.db.ping(), ...checks },
    });
    this.onClose(() => health.close());
    return health;
  }

  /**
   * Closes what was opened, last first, then the bus and the pool. A step that fails does not
   * keep the others from running; the first failure is rethrown at the end. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.parts.close(this.logger, { service: this.options.service });
    return this.closing;
  }
}

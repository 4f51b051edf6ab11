import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { AppError, type RegistryProblem } from '@orgmesh/contracts';
import { callersRefusedCounter, countingRefusals, verifierFromConfig, type JwtVerifier } from '@orgmesh/auth';
import { processedEventsRetention } from '@orgmesh/messaging';
import { RetentionJob, type Database } from '@orgmesh/persistence';
import {
  handlersModule,
  serviceApp,
  serviceAppStarter,
  type ServiceApp,
  type ServiceAppOptions,
} from '@orgmesh/service-host';
import type { Logger } from '@orgmesh/telemetry';
import type { Registry } from 'prom-client';
import { formatProblem } from './loader/problem.js';
import type { RegistryConfig } from './registry.config.js';
import { RegistryRepository, REGISTRY_SCHEMA } from './persistence/registry.repository.js';
import { profileSigningKey } from './service/profile-signing.key.js';
import { RegistryAccess } from './service/registry.access.js';
import { registryJobs, type RegistryJobs } from './service/registry.jobs.js';
import { RegistryMetrics } from './service/registry.metrics.js';
import { registryHandlers } from './service/registry.handlers.js';
import {
  ORG_IMPORT_PART_TTL_MS,
  RegistryService,
  systemClock,
  type Clock,
} from './service/registry.service.js';

export interface RegistryApp extends ServiceApp<RegistryService, RegistryJobs> {
  /** The kid of the key this replica signs profiles with. */
  readonly signingKid: string;
}

/** The default verifier only when REGISTRY_AUTH=on; with none, admin checks are off. */
export type RegistryAppOptions = ServiceAppOptions<Clock>;

/**
 * Starts the registry service: Postgres pool, NATS bus, the REGISTRY stream, the profile signing key,
 * the registry directory loaded as a new version when it changed, the Nest microservice on the orgmesh
 * NATS transport, the outbox relay, the presence and refresh jobs and the health port.
 */
export const startRegistryApp = serviceAppStarter(
  { service: 'registry', schema: REGISTRY_SCHEMA, migrations: 'registry', stream: 'registry' },
  async (host, config: RegistryConfig, options: RegistryAppOptions): Promise<RegistryApp> => {
    const { db, logger, metrics: registry } = host;
    const { signingKey, verifier } = await keys(config, options, logger);

    const metrics = new RegistryMetrics(registry);
    const service = await startService(db, config, signingKey, metrics, logger, options.clock ?? systemClock);

    await host.startRelay();
    const access = new RegistryAccess(
      verifier && countingRefusals(verifier, callersRefusedCounter(registry)),
    );
    await host.listen(handlersModule('RegistryModule', [registryHandlers(service, access, metrics)], []));
    metrics.observe({ version: () => service.current?.version ?? 0 });

    const retention = retentionJob(db, config, registry);
    const jobs = host.runJobs(
      registryJobs(
        { service, metrics, logger, retention },
        {
          presenceSweepIntervalMs: config.REGISTRY_PRESENCE_SWEEP_INTERVAL,
          refreshIntervalMs: config.REGISTRY_REFRESH_INTERVAL,
          retentionIntervalMs: config.REGISTRY_RETENTION_INTERVAL,
        },
      ),
      options.startJobs !== false,
    );

    const health = await host.serveHealth(
      { host: config.REGISTRY_HTTP_HOST, port: config.REGISTRY_HTTP_PORT },
      {
        registry: async () => {
          if (!service.current) throw new Error('no registry version loaded');
        },
      },
    );
    logger.info(
      {
        healthPort: health.port,
        version: service.current?.version ?? null,
        kid: signingKey.kid,
        auth: verifier ? 'on' : 'off',
      },
      'registry service started',
    );

    return serviceApp(
      host,
      { service, jobs, health, signingKid: signingKey.kid },
      'registry service stopped',
    );
  },
);

/** The registry service over its tables, started: REGISTRY_DIR loaded, the org chart seeded, drift reconciled. */
async function startService(
  db: Database,
  config: RegistryConfig,
  signingKey: Awaited<ReturnType<typeof profileSigningKey>>,
  metrics: RegistryMetrics,
  logger: Logger,
  clock: Clock,
): Promise<RegistryService> {
  const service = new RegistryService(
    new RegistryRepository(db),
    {
      endpoints: {
        privacyProxyUrl: config.PRIVACY_PROXY_URL,
        gatewayUrl: config.GATEWAY_URL,
        mcpCommand: config.REGISTRY_MCP_COMMAND,
      },
      presenceTimeoutMs: config.REGISTRY_PRESENCE_TIMEOUT,
      signingKey,
      remoteCards: { timeoutMs: config.REGISTRY_A2A_CARD_TIMEOUT },
    },
    logger,
    clock,
  );
  await service.start();
  if (config.REGISTRY_DIR) await loadAtStartup(service, metrics, logger, config.REGISTRY_DIR);
  if (config.REGISTRY_ORG_CHART) await seedOrgChart(service, logger, config.REGISTRY_ORG_CHART);
  if (service.current) await service.reconcileDrift();
  return service;
}

/** The key this replica signs profiles with, and the verifier of callers' tokens (none: admin checks off). */
async function keys(
  config: RegistryConfig,
  options: RegistryAppOptions,
  logger: Logger,
): Promise<{ signingKey: Awaited<ReturnType<typeof profileSigningKey>>; verifier: JwtVerifier | undefined }> {
  const signingKey = await profileSigningKey(config.REGISTRY_SIGNING_KEY);
  if (signingKey.origin === 'generated') {
    logger.warn(
      { kid: signingKey.kid },
      'profile signing key generated at startup (dev): set REGISTRY_SIGNING_KEY to sign with one managed key',
    );
  }
  const verifier =
    options.verifier ?? (config.REGISTRY_AUTH === 'on' ? verifierFromConfig(config) : undefined);
  if (!verifier) {
    logger.warn(
      { auth: 'off' },
      'admin checks are off (REGISTRY_AUTH=off): any caller may load, import-org and assign-profile',
    );
  }
  return { signingKey, verifier };
}

/**
 * The registry's own tables grow only with what operators load and import (docs/operations.md);
 * what grows regardless is the dedupe table and the parts of org imports nobody completed (the
 * outbox: the relay, OUTBOX_RETENTION).
 */
function retentionJob(db: Database, config: RegistryConfig, registry: Registry): RetentionJob {
  return new RetentionJob(db, {
    lockKey: 'registry-job-retention',
    targets: [
      processedEventsRetention(REGISTRY_SCHEMA, config.PROCESSED_EVENTS_RETENTION),
      {
        name: 'registry.org_import_parts',
        table: 'registry.org_import_parts',
        ageColumn: 'received_at',
        maxAgeMs: ORG_IMPORT_PART_TTL_MS,
      },
    ],
    metrics: registry,
  });
}

/**
 * Loads REGISTRY_DIR as a new version when its content changed. An invalid directory is logged
 * problem by problem (file, path, reason) and refused; the service then keeps serving the stored
 * version, or does not start when there is none.
 */
async function loadAtStartup(
  service: RegistryService,
  metrics: RegistryMetrics,
  logger: Logger,
  dir: string,
): Promise<void> {
  const path = resolve(dir);
  try {
    const result = await service.loadDirectory(path, 'startup');
    metrics.loads.inc({ result: result.changed ? 'stored' : 'unchanged' });
    logger.info(
      { dir: path, version: result.version, changed: result.changed, agents: result.agents },
      'registry directory loaded',
    );
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'validation_failed') throw error;
    metrics.loads.inc({ result: 'validation_failed' });
    const problems = (error.details?.['problems'] ?? []) as RegistryProblem[];
    logger.error(
      { dir: path, problems: problems.map(formatProblem) },
      'registry directory refused, nothing loaded',
    );
    if (!service.current) throw error;
    logger.warn({ version: service.current.version }, 'serving the stored registry version');
  }
}

/**
 * Imports the org chart at `file` when no org chart has been imported yet. Replicas starting together
 * may both import it: the same people twice, one org version apart, which is harmless. An unreadable
 * or invalid file is logged problem by problem and stops the start, like an invalid REGISTRY_DIR.
 */
async function seedOrgChart(service: RegistryService, logger: Logger, file: string): Promise<void> {
  if (!service.current) {
    logger.warn({ file }, 'org chart not seeded: no registry version is loaded');
    return;
  }
  if ((await service.directory()).orgVersion > 0) return;
  const path = resolve(file);
  const csv = await readFile(path, 'utf8').catch((cause: unknown) => {
    throw new AppError('validation_failed', 'REGISTRY_ORG_CHART cannot be read', {
      cause,
      details: { path },
    });
  });
  try {
    const result = await service.importOrg(csv, basename(path), 'startup');
    logger.info({ file: path, orgVersion: result.orgVersion, users: result.users }, 'org chart seeded');
  } catch (error) {
    if (error instanceof AppError && error.code === 'validation_failed') {
      const problems = (error.details?.['problems'] ?? []) as RegistryProblem[];
      logger.error(
        { file: path, problems: problems.map(formatProblem) },
        'org chart refused, nothing imported',
      );
    }
    throw error;
  }
}

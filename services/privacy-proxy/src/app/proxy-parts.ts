import { verifierTuning } from '@orgmesh/auth';
import { busOptionsFromConfig, connectBus, type MessageBus } from '@orgmesh/messaging';
import { runMigrations } from '@orgmesh/migrations';
import { Database, RetentionJob } from '@orgmesh/persistence';
import type { CloseStack } from '@orgmesh/service-host';
import type { Logger } from '@orgmesh/telemetry';
import { LogAuditSink, type AuditSink } from '../audit/audit-sink.js';
import { AuditSpool } from '../audit/audit-spool.js';
import { NatsAuditSink } from '../audit/nats-audit-sink.js';
import { JoseTokenVerifier, type TokenVerifier } from '../auth/token-verifier.js';
import { MemoryCounterStore, PostgresCounterStore } from '../governance/counter-store.js';
import { Governor } from '../governance/governor.js';
import { DEFAULT_PRICES, PriceList } from '../governance/prices.js';
import { MemoryUsageStore, PostgresUsageStore, type UsageStore } from '../governance/usage-store.js';
import { budgetWarningPublisher } from '../governance/warnings.js';
import { httpNerHook } from '../privacy/privacy-engine.js';
import type { PrivacyProxyConfig } from '../privacy-proxy.config.js';
import { PrivacyProxyMetrics } from '../privacy-proxy.metrics.js';
import { createPrivacyProxy } from '../privacy-proxy.server.js';
import { FileProfileSource, type ProfileSource } from '../profiles/profile-source.js';
import { RegistryProfileSource } from '../profiles/registry-profile-source.js';
import { NatsRegistryReader } from '../profiles/registry-reader.js';
import {
  MemoryRedactionStore,
  PostgresRedactionStore,
  RedactionRecorder,
  teeAudit,
} from '../redactions/redaction-store.js';
import type { PrivacyProxy } from '../server/options.js';
import { proxyRetentionTargets } from './proxy-retention.js';

/** Everything the proxy process runs on, opened from its config; the Nest module serves it. */
export interface ProxyParts {
  readonly config: PrivacyProxyConfig;
  readonly logger: Logger;
  readonly bus: MessageBus | undefined;
  readonly db: Database | undefined;
  readonly metrics: PrivacyProxyMetrics;
  /** The audit sink teed with the redaction counts: model calls and mask-text texts are counted alike. */
  readonly audit: AuditSink;
  readonly usage: UsageStore;
  readonly redactions: RedactionRecorder;
  readonly verifier: TokenVerifier;
  readonly governor: Governor;
  /** The model APIs on node:http (privacy-proxy.server.ts): created here, listening once Nest boots. */
  readonly proxy: PrivacyProxy;
}

/**
 * Opens the proxy's parts in dependency order — the bus, the audit sink, the profiles, Postgres and
 * its retention, the redaction counts, the verifier, the governor, the HTTP unit — registering each
 * one's close on `closing`, so a start that fails half-way leaves nothing open.
 */
export async function openProxyParts(
  config: PrivacyProxyConfig,
  logger: Logger,
  closing: CloseStack,
  options: { verifier?: TokenVerifier } = {},
): Promise<ProxyParts> {
  const bus = await openBus(config, logger, closing);
  const metrics = new PrivacyProxyMetrics();
  const audit = await openAudit(config, logger, bus, metrics, closing);
  const profiles = openProfiles(config, logger, bus, closing) ?? (await fileProfiles(config));
  const db = await openDatabase(config, logger, metrics, closing);
  // Budget warnings go to the PRIVACY stream, which the nats audit sink provisions; without it, here.
  if (bus && config.PRIVACY_AUDIT !== 'nats') await bus.ensureStream('privacy');
  const usage = db ? new PostgresUsageStore(db) : new MemoryUsageStore();
  // Redaction counts per hour, role, entity type and action: every audited request, summed in memory
  // and written once a second (the request path only adds to a map).
  const redactions = new RedactionRecorder(
    db ? new PostgresRedactionStore(db) : new MemoryRedactionStore(),
    logger,
  );
  redactions.start();
  closing.push(() => redactions.stop());
  // Every audited finding is counted: model calls and the texts of rpc.privacy.v1.mask-text alike.
  const counted = teeAudit(audit, redactions);
  const verifier =
    options.verifier ??
    JoseTokenVerifier.fromJwksUrl(config.AUTH_JWKS_URL, {
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
      ...verifierTuning(config),
    });
  const governor = new Governor(
    {
      counters: db ? new PostgresCounterStore(db) : new MemoryCounterStore(),
      usage,
      prices: new PriceList({ ...DEFAULT_PRICES, ...config.PRIVACY_LLM_PRICES }),
      logger,
      outputReserveTokens: config.PRIVACY_LLM_OUTPUT_RESERVE,
      syncIntervalMs: config.PRIVACY_BUDGET_SYNC_INTERVAL,
      staleAfterMs: config.PRIVACY_BUDGET_STALE_AFTER,
      onWarning: budgetWarningPublisher(bus, logger),
    },
    metrics,
  );
  const proxy = createPrivacyProxy({
    ...upstreams(config),
    verifier,
    profiles,
    hmacKey: config.PRIVACY_HMAC_KEY,
    audit: counted,
    logger,
    metrics,
    ...(config.PRIVACY_NER_URL
      ? { ner: httpNerHook(config.PRIVACY_NER_URL, config.PRIVACY_NER_TIMEOUT) }
      : {}),
    maxBodyBytes: config.PRIVACY_MAX_BODY_BYTES,
    processingBudget: { maxChars: config.PRIVACY_MAX_SCAN_CHARS, maxValues: config.PRIVACY_MAX_VALUES },
    detectionMemoEntries: config.PRIVACY_DETECTION_MEMO_ENTRIES,
    upstreamTimeoutMs: config.PRIVACY_UPSTREAM_TIMEOUT,
    governor,
  });
  return { config, logger, bus, db, metrics, audit: counted, usage, redactions, verifier, governor, proxy };
}

function upstreams(config: PrivacyProxyConfig) {
  return {
    ...(config.PRIVACY_UPSTREAM_OPENAI_URL
      ? { openai: { url: config.PRIVACY_UPSTREAM_OPENAI_URL, key: config.PRIVACY_UPSTREAM_OPENAI_KEY } }
      : {}),
    ...(config.PRIVACY_UPSTREAM_ANTHROPIC_URL
      ? {
          anthropic: {
            url: config.PRIVACY_UPSTREAM_ANTHROPIC_URL,
            key: config.PRIVACY_UPSTREAM_ANTHROPIC_KEY,
          },
        }
      : {}),
  };
}

/** One NATS connection for whatever needs it: the audit sink, the registry's profiles, the RPCs. */
async function openBus(
  config: PrivacyProxyConfig,
  logger: Logger,
  closing: CloseStack,
): Promise<MessageBus | undefined> {
  if (config.PRIVACY_AUDIT !== 'nats' && config.PRIVACY_PROFILE_SOURCE !== 'registry') return undefined;
  const bus = await connectBus({
    ...busOptionsFromConfig(config),
    name: 'privacy-proxy',
    logger,
  });
  closing.push(() => bus.close());
  return bus;
}

async function openAudit(
  config: PrivacyProxyConfig,
  logger: Logger,
  bus: MessageBus | undefined,
  metrics: PrivacyProxyMetrics,
  closing: CloseStack,
): Promise<AuditSink> {
  if (config.PRIVACY_AUDIT !== 'nats' || !bus) return new LogAuditSink(logger);
  await bus.ensureStream('privacy');
  // Opened before the first request: what a killed predecessor left unpublished goes out first.
  const spool = AuditSpool.open({
    dir: config.PRIVACY_AUDIT_SPOOL_DIR,
    maxBytes: config.PRIVACY_AUDIT_SPOOL_MAX_BYTES,
  });
  if (spool.pendingBytes > 0)
    logger.info(
      { bytes: spool.pendingBytes },
      'privacy audit spool holds unpublished events from an earlier run',
    );
  const sink = new NatsAuditSink(bus, spool, logger, { registry: metrics.registry });
  sink.start();
  closing.push(async () => {
    // Whatever NATS has not acknowledged by then stays spooled for the next start.
    await Promise.race([sink.flush(), new Promise((resolve) => setTimeout(resolve, 3_000))]);
    await sink.stop();
  });
  return sink;
}

/** The registry's profiles over the bus, or undefined when the config names a profiles file. */
function openProfiles(
  config: PrivacyProxyConfig,
  logger: Logger,
  bus: MessageBus | undefined,
  closing: CloseStack,
): ProfileSource | undefined {
  if (config.PRIVACY_PROFILE_SOURCE === 'file' && config.PRIVACY_PROFILES_FILE) {
    logger.info({ profileSource: 'file' }, 'privacy profiles source chosen');
    return undefined;
  }
  if (!bus) throw new Error('unreachable: the config guarantees a profiles file or a NATS connection');
  // Nothing is fetched here: the registry may start after the proxy. Until it answers, model calls
  // are refused with 503 and /readyz reports not ready.
  const source = new RegistryProfileSource(
    new NatsRegistryReader(bus, config.PRIVACY_REGISTRY_TIMEOUT),
    logger,
    {
      ttlMs: config.PRIVACY_PROFILE_CACHE_TTL,
      ...(config.PRIVACY_FALLBACK_MODE !== 'refuse'
        ? { fallback: { mode: config.PRIVACY_FALLBACK_MODE } }
        : {}),
      ...(config.PRIVACY_PROFILE_JWKS ? { trustedKeys: config.PRIVACY_PROFILE_JWKS } : {}),
    },
  );
  source.start();
  closing.push(() => source.stop());
  logger.info(
    {
      profileSource: 'registry',
      fallback: config.PRIVACY_FALLBACK_MODE,
      pinnedKeys: Boolean(config.PRIVACY_PROFILE_JWKS),
    },
    'privacy profiles source chosen',
  );
  return source;
}

function fileProfiles(config: PrivacyProxyConfig): Promise<ProfileSource> {
  return FileProfileSource.load(config.PRIVACY_PROFILES_FILE!);
}

/**
 * LLM governance's and the redaction counts' store (ADR 0016): Postgres when DATABASE_URL is set,
 * shared by the replicas, with its hourly retention job; undefined keeps them in this process.
 */
async function openDatabase(
  config: PrivacyProxyConfig,
  logger: Logger,
  metrics: PrivacyProxyMetrics,
  closing: CloseStack,
): Promise<Database | undefined> {
  if (!config.DATABASE_URL) {
    logger.warn(
      {},
      'DATABASE_URL unset: LLM usage and budget counters are kept in this process only (one replica)',
    );
    return undefined;
  }
  if (config.MIGRATE_ON_START) await runMigrations({ url: config.DATABASE_URL, service: 'privacy-proxy' });
  const db = await Database.connect({
    url: config.DATABASE_URL,
    schema: 'privacy_proxy',
    poolSize: config.DATABASE_POOL_SIZE,
    applicationName: 'privacy-proxy',
    statementTimeoutMs: 5_000,
  });
  closing.push(() => db.close());
  const job = new RetentionJob(db, {
    lockKey: 'privacy-proxy-usage-retention',
    targets: proxyRetentionTargets(config.PRIVACY_USAGE_RETENTION),
    metrics: metrics.registry,
  });
  const retention = setInterval(() => void job.runOnce().catch(() => undefined), 3_600_000);
  retention.unref();
  closing.push(() => clearInterval(retention));
  return db;
}

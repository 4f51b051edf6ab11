import { runMigrations } from '@orgmesh/migrations';
import { Database, RetentionJob } from '@orgmesh/persistence';
import { preloadNamesLexicon } from '@orgmesh/privacy';
import { createLogger, startTracing } from '@orgmesh/telemetry';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { verifierTuning } from '@orgmesh/auth';
import { LogAuditSink, type AuditSink } from './audit/audit-sink.js';
import { AuditSpool } from './audit/audit-spool.js';
import { NatsAuditSink } from './audit/nats-audit-sink.js';
import { JoseTokenVerifier } from './auth/token-verifier.js';
import { httpNerHook } from './privacy/privacy-engine.js';
import { loadPrivacyProxyConfig } from './privacy-proxy.config.js';
import { PrivacyProxyMetrics } from './privacy-proxy.metrics.js';
import { createPrivacyProxy } from './privacy-proxy.server.js';
import { MemoryCounterStore, PostgresCounterStore } from './governance/counter-store.js';
import { Governor } from './governance/governor.js';
import { DEFAULT_PRICES, PriceList } from './governance/prices.js';
import { MemoryUsageStore, PostgresUsageStore } from './governance/usage-store.js';
import { serveUsage } from './governance/usage-rpc.js';
import { serveTextPrivacy } from './text-rpc/text-privacy.rpc.js';
import { budgetWarningPublisher } from './governance/warnings.js';
import {
  MemoryRedactionStore,
  PostgresRedactionStore,
  RedactionRecorder,
  teeAudit,
} from './redactions/redaction-store.js';
import { serveRedactions } from './redactions/redactions-rpc.js';
import { FileProfileSource, type ProfileSource } from './profiles/profile-source.js';
import { RegistryProfileSource } from './profiles/registry-profile-source.js';
import { NatsRegistryReader } from './profiles/registry-reader.js';

const config = loadPrivacyProxyConfig();
const logger = createLogger({ service: 'privacy-proxy', level: config.LOG_LEVEL });
// The names recogniser's lexicon is built before the first request, not during it.
preloadNamesLexicon();
// Before anything opens a connection: every span from here on reaches the exporter.
const tracing = startTracing({
  service: config.OTEL_SERVICE_NAME ?? 'privacy-proxy',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logger,
});

// One NATS connection for whatever needs it: the audit sink and the registry-backed profiles.
let bus: MessageBus | undefined;
if (config.PRIVACY_AUDIT === 'nats' || config.PRIVACY_PROFILE_SOURCE === 'registry') {
  bus = await connectBus({
    url: config.NATS_URL,
    name: 'privacy-proxy',
    nkeySeedFile: config.NATS_NKEY_SEED_FILE,
    tlsCaFile: config.NATS_TLS_CA_FILE,
    subjectPrefix: config.NATS_SUBJECT_PREFIX,
    nameSuffix: config.NATS_NAME_SUFFIX,
    logger,
  });
}

const metrics = new PrivacyProxyMetrics();
let audit: AuditSink = new LogAuditSink(logger);
if (config.PRIVACY_AUDIT === 'nats' && bus) {
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
  audit = sink;
}

let registryProfiles: RegistryProfileSource | undefined;
let profiles: ProfileSource;
if (config.PRIVACY_PROFILE_SOURCE === 'file' && config.PRIVACY_PROFILES_FILE) {
  profiles = await FileProfileSource.load(config.PRIVACY_PROFILES_FILE);
} else if (bus) {
  // Nothing is fetched here: the registry may start after the proxy. Until it answers, model calls
  // are refused with 503 and /readyz reports not ready.
  registryProfiles = new RegistryProfileSource(
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
  registryProfiles.start();
  profiles = registryProfiles;
} else {
  throw new Error('unreachable: the config guarantees a profiles file or a NATS connection');
}
logger.info(
  registryProfiles
    ? {
        profileSource: 'registry',
        fallback: config.PRIVACY_FALLBACK_MODE,
        pinnedKeys: Boolean(config.PRIVACY_PROFILE_JWKS),
      }
    : { profileSource: 'file' },
  'privacy profiles source chosen',
);

// LLM governance (ADR 0016): Postgres when DATABASE_URL is set (shared by the replicas), else memory.
let db: Database | undefined;
let retention: NodeJS.Timeout | undefined;
if (config.DATABASE_URL) {
  if (config.MIGRATE_ON_START) await runMigrations({ url: config.DATABASE_URL, service: 'privacy-proxy' });
  db = await Database.connect({
    url: config.DATABASE_URL,
    schema: 'privacy_proxy',
    poolSize: config.DATABASE_POOL_SIZE,
    applicationName: 'privacy-proxy',
    statementTimeoutMs: 5_000,
  });
  const job = new RetentionJob(db, {
    lockKey: 'privacy-proxy-usage-retention',
    targets: [
      {
        name: 'privacy_proxy.llm_usage',
        table: 'privacy_proxy.llm_usage',
        ageColumn: 'bucket',
        maxAgeMs: config.PRIVACY_USAGE_RETENTION,
      },
      // Redaction counts are kept as long as the usage beside them.
      {
        name: 'privacy_proxy.redaction_counts',
        table: 'privacy_proxy.redaction_counts',
        ageColumn: 'bucket',
        maxAgeMs: config.PRIVACY_USAGE_RETENTION,
      },
      // Counters older than the longest window (a month) decide nothing any more.
      {
        name: 'privacy_proxy.llm_counters',
        table: 'privacy_proxy.llm_counters',
        ageColumn: 'bucket',
        maxAgeMs: 35 * 86_400_000,
      },
      {
        name: 'privacy_proxy.llm_budget_warnings',
        table: 'privacy_proxy.llm_budget_warnings',
        ageColumn: 'sent_at',
        maxAgeMs: 35 * 86_400_000,
      },
    ],
    metrics: metrics.registry,
  });
  retention = setInterval(() => void job.runOnce().catch(() => undefined), 3_600_000);
  retention.unref();
} else {
  logger.warn(
    {},
    'DATABASE_URL unset: LLM usage and budget counters are kept in this process only (one replica)',
  );
}
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
const verifier = JoseTokenVerifier.fromJwksUrl(config.AUTH_JWKS_URL, {
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
  ...(config.PRIVACY_UPSTREAM_OPENAI_URL
    ? { openai: { url: config.PRIVACY_UPSTREAM_OPENAI_URL, key: config.PRIVACY_UPSTREAM_OPENAI_KEY } }
    : {}),
  ...(config.PRIVACY_UPSTREAM_ANTHROPIC_URL
    ? {
        anthropic: { url: config.PRIVACY_UPSTREAM_ANTHROPIC_URL, key: config.PRIVACY_UPSTREAM_ANTHROPIC_KEY },
      }
    : {}),
  verifier,
  profiles,
  hmacKey: config.PRIVACY_HMAC_KEY,
  audit: teeAudit(audit, redactions),
  logger,
  metrics,
  ...(config.PRIVACY_NER_URL ? { ner: httpNerHook(config.PRIVACY_NER_URL, config.PRIVACY_NER_TIMEOUT) } : {}),
  maxBodyBytes: config.PRIVACY_MAX_BODY_BYTES,
  processingBudget: { maxChars: config.PRIVACY_MAX_SCAN_CHARS, maxValues: config.PRIVACY_MAX_VALUES },
  upstreamTimeoutMs: config.PRIVACY_UPSTREAM_TIMEOUT,
  governor,
});

// GET /v1/usage at the gateway: rpc.privacy.v1.get-usage, answered by any replica (one queue group).
if (bus) serveUsage(bus, { usage, recorder: governor.recorder, verifier });
// Text a bridge sends to a remote A2A agent, masked and restored as model calls are (ADR 0021).
if (bus)
  serveTextPrivacy(bus, { engine: proxy.engine, verifier, hmacKey: config.PRIVACY_HMAC_KEY, audit, logger });
// GET /v1/privacy/redactions: rpc.privacy.v1.get-redactions, the same way.
if (bus) serveRedactions(bus, { redactions: redactions.store, recorder: redactions, verifier });

const url = await proxy.listen(config.PRIVACY_PROXY_PORT, config.PRIVACY_PROXY_HOST);
logger.info(
  {
    url,
    openai: Boolean(config.PRIVACY_UPSTREAM_OPENAI_URL),
    anthropic: Boolean(config.PRIVACY_UPSTREAM_ANTHROPIC_URL),
  },
  'privacy proxy listening',
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    void proxy
      .close()
      .then(
        () => 0,
        () => 1,
      )
      .then(async (code) => {
        registryProfiles?.stop();
        if (retention) clearInterval(retention);
        await redactions.stop().catch(() => undefined);
        await db?.close().catch(() => undefined);
        if (audit instanceof NatsAuditSink) {
          // Whatever NATS has not acknowledged by then stays spooled for the next start.
          await Promise.race([audit.flush(), new Promise((resolve) => setTimeout(resolve, 3_000))]);
          await audit.stop().catch(() => undefined);
        }
        await bus?.close().catch(() => undefined);
        await tracing.shutdown().catch(() => undefined);
        process.exit(code);
      });
  });
}

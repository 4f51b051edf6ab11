import { createLogger, startTracing } from '@orgmesh/telemetry';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { LogAuditSink, type AuditSink } from './audit/audit-sink.js';
import { NatsAuditSink } from './audit/nats-audit-sink.js';
import { JoseTokenVerifier } from './auth/token-verifier.js';
import { httpNerHook } from './privacy/privacy-engine.js';
import { loadPrivacyProxyConfig } from './privacy-proxy.config.js';
import { createPrivacyProxy } from './privacy-proxy.server.js';
import { FileProfileSource } from './profiles/profile-source.js';

const config = loadPrivacyProxyConfig();
const logger = createLogger({ service: 'privacy-proxy', level: config.LOG_LEVEL });
// Before anything opens a connection: every span from here on reaches the exporter.
const tracing = startTracing({
  service: config.OTEL_SERVICE_NAME ?? 'privacy-proxy',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logger,
});
const profiles = await FileProfileSource.load(config.PRIVACY_PROFILES_FILE);

let bus: MessageBus | undefined;
let audit: AuditSink = new LogAuditSink(logger);
if (config.PRIVACY_AUDIT === 'nats') {
  bus = await connectBus({
    url: config.NATS_URL,
    name: 'privacy-proxy',
    subjectPrefix: config.NATS_SUBJECT_PREFIX,
    nameSuffix: config.NATS_NAME_SUFFIX,
    logger,
  });
  await bus.ensureStream('privacy');
  audit = new NatsAuditSink(bus, logger);
}

const proxy = createPrivacyProxy({
  ...(config.PRIVACY_UPSTREAM_OPENAI_URL
    ? { openai: { url: config.PRIVACY_UPSTREAM_OPENAI_URL, key: config.PRIVACY_UPSTREAM_OPENAI_KEY } }
    : {}),
  ...(config.PRIVACY_UPSTREAM_ANTHROPIC_URL
    ? {
        anthropic: { url: config.PRIVACY_UPSTREAM_ANTHROPIC_URL, key: config.PRIVACY_UPSTREAM_ANTHROPIC_KEY },
      }
    : {}),
  verifier: JoseTokenVerifier.fromJwksUrl(config.AUTH_JWKS_URL, {
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
  }),
  profiles,
  hmacKey: config.PRIVACY_HMAC_KEY,
  audit,
  logger,
  ...(config.PRIVACY_NER_URL ? { ner: httpNerHook(config.PRIVACY_NER_URL, config.PRIVACY_NER_TIMEOUT) } : {}),
  maxBodyBytes: config.PRIVACY_MAX_BODY_BYTES,
  upstreamTimeoutMs: config.PRIVACY_UPSTREAM_TIMEOUT,
});

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
        if (audit instanceof NatsAuditSink) await audit.flush().catch(() => undefined);
        await bus?.close().catch(() => undefined);
        await tracing.shutdown().catch(() => undefined);
        process.exit(code);
      });
  });
}

import { Writable } from 'node:stream';
import { LocalIssuer } from '@orgmesh/auth';
import type { ProcessingBudget } from '@orgmesh/privacy';
import { createLogger } from '@orgmesh/telemetry';
import { RecordingAuditSink, type AuditSink } from '../audit/audit-sink.js';
import { JoseTokenVerifier, type TokenVerifier } from '../auth/token-verifier.js';
import { createPrivacyProxy, type PrivacyProxy } from '../privacy-proxy.server.js';
import { PrivacyProxyMetrics } from '../privacy-proxy.metrics.js';
import { MemoryCounterStore } from '../governance/counter-store.js';
import { Governor, type GovernorOptions } from '../governance/governor.js';
import { MemoryUsageStore } from '../governance/usage-store.js';
import { FileProfileSource, type ProfileSource } from '../profiles/profile-source.js';
import { FakeUpstream, type FakeUpstreamOptions } from './fake-upstream.js';

/** Personal data planted in requests; none of it may reach the upstream in mask mode. */
export const SEEDED = {
  email: 'maria.gonzalez@example.org',
  phone: '+44 20 7946 0958',
  ssn: '123-45-6789',
  card: '4111 1111 1111 1111',
  iban: 'DE89 3704 0044 0532 0130 00',
  ip: '203.0.113.45',
  directoryPerson: 'Jane Doe',
  cuedPerson: 'Hendricks',
  dateOfBirth: '1985-03-12',
  account: '004512339871',
  employeeId: 'EMP-20431',
  denied: 'Project Nightjar',
} as const;
export const SEEDED_VALUES: readonly string[] = Object.values(SEEDED);

/** A paragraph that carries every seeded value with the context its detector needs. */
export const SEEDED_TEXT =
  `Please email ${SEEDED.email} or call ${SEEDED.phone}. SSN ${SEEDED.ssn}, card ${SEEDED.card}, ` +
  `IBAN ${SEEDED.iban}, last login from ${SEEDED.ip}. ${SEEDED.directoryPerson} and Mr. ${SEEDED.cuedPerson} ` +
  `(DOB: ${SEEDED.dateOfBirth}, account number ${SEEDED.account}, badge ${SEEDED.employeeId}) work on ${SEEDED.denied}.`;

export const PROFILES = {
  profiles: {
    finance: { mode: 'mask' as const, employeeIdPattern: 'EMP-\\d{5}', denyList: ['Project Nightjar'] },
    legal: { mode: 'strict' as const },
    manager: { mode: 'detect' as const },
    analyst: { mode: 'mask' as const, entities: { ssn: 'strict' as const } },
    intern: { mode: 'off' as const },
  },
  directory: [{ name: 'Jane Doe', email: 'jane.doe@acme.example', userId: 'u-1001' }],
};

export interface Harness {
  readonly proxy: PrivacyProxy;
  readonly url: string;
  readonly upstream: FakeUpstream;
  readonly issuer: LocalIssuer;
  readonly audit: RecordingAuditSink;
  /** Every log line the proxy wrote. */
  readonly logs: string[];
  /** LLM governance, when the harness was started with it. */
  readonly governor: Governor | undefined;
  token(role: string, options?: { scope?: string; sub?: string }): Promise<string>;
  close(): Promise<void>;
}

export async function startHarness(
  upstreamOptions: FakeUpstreamOptions = {},
  options: {
    extraAudit?: AuditSink;
    profiles?: ProfileSource;
    processingBudget?: ProcessingBudget;
    /** LLM governance: its stores default to memory; `true` for all defaults. */
    governance?: Partial<GovernorOptions> | true;
    /** Tokens of another issuer (the gateway's) instead of the harness's own. */
    verifier?: TokenVerifier;
    /** PRIVACY_DETECTION_MEMO_ENTRIES (default: the proxy's). */
    detectionMemoEntries?: number;
  } = {},
): Promise<Harness> {
  const upstream = await FakeUpstream.start(upstreamOptions);
  const issuer = await LocalIssuer.create({ issuer: 'urn:orgmesh:test', audience: 'orgmesh' });
  const audit = new RecordingAuditSink();
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ service: 'privacy-proxy', level: 'debug', destination });
  const metrics = new PrivacyProxyMetrics();
  const governance = options.governance === true ? {} : options.governance;
  const governor = governance
    ? new Governor(
        {
          counters: new MemoryCounterStore(),
          usage: new MemoryUsageStore(),
          logger,
          syncIntervalMs: 50,
          ...governance,
        },
        metrics,
      )
    : undefined;
  const proxy = createPrivacyProxy({
    metrics,
    ...(governor ? { governor } : {}),
    openai: { url: upstream.openaiUrl, key: 'sk-upstream-openai-secret' },
    anthropic: { url: upstream.anthropicUrl, key: 'sk-ant-upstream-secret' },
    verifier:
      options.verifier ??
      JoseTokenVerifier.fromLocalJwks(issuer.jwks, {
        issuer: issuer.issuer,
        audience: issuer.audience,
      }),
    profiles: options.profiles ?? FileProfileSource.fromObject(PROFILES),
    hmacKey: 'integration-test-hmac-key-0123456789abcdef',
    audit: options.extraAudit
      ? {
          emit(event) {
            audit.emit(event);
            options.extraAudit?.emit(event);
          },
        }
      : audit,
    logger,
    ...(options.processingBudget ? { processingBudget: options.processingBudget } : {}),
    ...(options.detectionMemoEntries !== undefined
      ? { detectionMemoEntries: options.detectionMemoEntries }
      : {}),
  });
  const url = await proxy.listen(0);
  return {
    proxy,
    url,
    upstream,
    issuer,
    audit,
    logs,
    governor,
    token: (role, options = {}) =>
      issuer.sign({
        sub: options.sub ?? `${role}-agent`,
        role,
        tenant: 'acme',
        scope: options.scope ?? 'orgmesh:agent',
      }),
    async close() {
      await proxy.close();
      await upstream.close();
    },
  };
}

/** Reads an SSE response body into its `data:` payloads. */
export async function sseData(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split(/\n\n/)
    .flatMap((block) =>
      block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6)),
    )
    .filter((d) => d.length > 0);
}

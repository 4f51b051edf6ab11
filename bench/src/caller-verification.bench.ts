import { randomUUID } from 'node:crypto';
import { createJwtVerifier, LocalIssuer } from '@orgmesh/auth';
import { CreateSession, GetSession } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import {
  benchEnv,
  benchNamespace,
  progress,
  runComparison,
  type BenchNamespace,
  type BenchResult,
} from './harness.js';
import { startSessionsChild, type VerificationMode } from './sessions-verification.child.js';

/**
 * Caller verification (issue 18): "verifying the forwarded JWT adds ≤ 0.2 ms p50 to a NATS RPC
 * against the same RPC with verification off". Three sessions services, each its own process on its
 * own namespace, differ only in their verifier (sessions-verification.child.ts): off (the baseline),
 * the production verifier with its cache (a caller reusing its token, the common case) and with the
 * cache off (a full ES256 signature and claims check per call, what every new token costs). The RPC
 * is `get-session` of one session by one client back to back, the cheapest session RPC, so the
 * verification's share is the largest it gets. The three are measured in interleaved rounds.
 */
const MODES: readonly VerificationMode[] = ['off', 'cached', 'uncached'];
const NAMES: Record<VerificationMode, string> = {
  off: 'sessions get over NATS, verification off',
  cached: 'sessions get over NATS, JWT verified (cache)',
  uncached: 'sessions get over NATS, JWT verified (no cache)',
};

export async function run(): Promise<BenchResult[]> {
  const env = benchEnv();
  const issuer = await LocalIssuer.create({ issuer: 'urn:orgmesh:bench' });
  const authorization = `Bearer ${await issuer.sign(
    { sub: 'bench-admin', role: 'admin', scope: 'orgmesh:admin' },
    { expiresInSec: 6 * 3600 },
  )}`;
  const logger = createLogger({ service: 'bench-caller-verification', level: 'warn' });
  const namespaces: BenchNamespace[] = [];
  const children: Array<{ close(): Promise<void> }> = [];
  const buses: MessageBus[] = [];
  try {
    const targets: Record<string, { bus: MessageBus; sessionId: string }> = {};
    for (const mode of MODES) {
      const ns = await benchNamespace(`bver${mode[0]}`);
      namespaces.push(ns);
      children.push(
        await startSessionsChild({
          mode,
          env: {
            NATS_URL: env.natsUrl,
            DATABASE_URL: ns.databaseUrl,
            NATS_SUBJECT_PREFIX: ns.subjectPrefix,
            NATS_NAME_SUFFIX: ns.nameSuffix,
            SESSIONS_HTTP_PORT: '0',
            AUTH_ISSUER: issuer.issuer,
            AUTH_AUDIENCE: issuer.audience,
            LOG_LEVEL: 'warn',
          },
          issuer: issuer.issuer,
          audience: issuer.audience,
          jwks: issuer.jwks,
        }),
      );
      const bus = await connectBus({
        url: env.natsUrl,
        name: `bench-caller-verification-${mode}`,
        subjectPrefix: ns.subjectPrefix,
        nameSuffix: ns.nameSuffix,
        logger,
      });
      buses.push(bus);
      const created = await bus.request(
        CreateSession,
        { agentId: `bench-agent-${randomUUID().slice(0, 8)}`, role: 'finance' },
        { authorization },
      );
      targets[mode] = { bus, sessionId: created.id };
    }
    progress(
      'caller-verification: three sessions services up (verification off / cached / uncached); get-session, 1 client',
    );
    const scenario = (mode: VerificationMode) => {
      const target = targets[mode]!;
      return {
        name: NAMES[mode],
        ...(mode === 'off' ? {} : { baseline: NAMES.off }),
        concurrency: 1,
        warmupMs: 1_000,
        durationMs: 6_000,
        op: () => target.bus.request(GetSession, { id: target.sessionId }, { authorization }),
        notes:
          mode === 'off'
            ? 'baseline: every caller taken as admin, token not read'
            : 'target: ≤ 0.2 ms p50 over the baseline (issue 18)',
      };
    };
    const results = await runComparison(MODES.map(scenario) as never, { rounds: 6 });

    // The verifier alone, in this process: what it adds to a handler's path, without the bus's and
    // the scheduler's noise (on a loaded machine the RPC figures above vary by more than the target).
    progress('caller-verification: the verifier alone, in process');
    const cachedVerifier = createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwks: issuer.jwks,
    });
    const uncachedVerifier = createJwtVerifier({
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwks: issuer.jwks,
      cacheSize: 0,
    });
    const verifierOnly = await runComparison(
      [
        {
          name: 'verify() alone, cache (a reused token)',
          op: () => cachedVerifier.verify(authorization),
          durationMs: 2_000,
        },
        {
          name: 'verify() alone, no cache (ES256 + claims)',
          op: () => uncachedVerifier.verify(authorization),
          durationMs: 2_000,
        },
      ] as never,
      { rounds: 4 },
    );
    const base = results.find((r) => r.name === NAMES.off)!;
    return [
      ...results.map((result) =>
        result.name === NAMES.off
          ? result
          : {
              ...result,
              extra: {
                ...result.extra,
                addedP50Ms: Math.round((result.latencyMs.p50 - base.latencyMs.p50) * 1000) / 1000,
                addedMeanMs: Math.round((result.latencyMs.mean - base.latencyMs.mean) * 1000) / 1000,
              },
            },
      ),
      ...verifierOnly,
    ];
  } finally {
    for (const bus of buses) await bus.close().catch(() => undefined);
    for (const child of children) await child.close().catch(() => undefined);
    for (const ns of namespaces) await ns.dispose().catch(() => undefined);
  }
}

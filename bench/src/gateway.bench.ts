import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientRegistry, createJwtVerifier, DevIssuer } from '@orgmesh/auth';
import { AppError, CreateSession, GetSession, type Session } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
// The gateway also runs in this process (beside its own-process run) to separate its cost from the extra process hop.
import { loadGatewayConfig, startGatewayApp } from '@orgmesh/gateway/testing';
import { benchNamespace, benchEnv, progress, round, runComparison, runScenario, type BenchResult } from './harness.js';

/**
 * Gateway benchmark (issue 7). The sessions service runs as its own OS process (its built
 * `dist/main.js`), as deployed.
 * - REST round trip through the gateway (`GET /v1/sessions/{id}`: token check, validation, one NATS
 *   RPC, JSON reply) against the same RPC sent directly over NATS to the same sessions service, in
 *   interleaved rounds of the same run. Target: added p50 ≤ 1 ms. The gateway runs twice: as its
 *   own process (the deployment; on a loaded 2-core machine this includes scheduling one more
 *   process per hop) and inside this process (its own cost: HTTP client and server, token check,
 *   validation, RPC).
 * - The same for a write (`POST /v1/sessions` as an agent: one RPC, one Postgres transaction).
 * - Token verification (jose, ES256) from the verifier's cache, in µs, with the uncached cost beside it.
 */

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const DURATION_MS = 4_000;



/** Starts a built service; resolves when `ready` matches its stdout. Its stderr is kept for a failure report. */
function startService(
  name: string,
  entry: string,
  env: Record<string, string>,
  ready?: RegExp,
): Promise<{ child: ChildProcess; match?: RegExpExecArray }> {
  const path = join(root, entry);
  if (!existsSync(path))
    throw new Error(`${entry} not built: run npm run bench (it builds first) or npm run build`);
  const child = spawn(process.execPath, [path], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    let stdout = '';
    const fail = (why: string) =>
      reject(new Error(`${name} ${why}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
    child.once('exit', (code) => fail(`exited (${code})`));
    if (!ready) return resolve({ child });
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = ready.exec(stdout);
      if (match) resolve({ child, match });
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.removeAllListeners('exit');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Keep-alive HTTP/1.1 JSON client on node:http (what a service-to-gateway client would use). */
function jsonRequest(
  agent: Agent,
  base: URL,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method,
        path,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function eventually<T>(what: string, attempt: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function tokenVerification(): Promise<BenchResult[]> {
  const issuer = await DevIssuer.create({ issuer: 'http://127.0.0.1:8080', audience: 'orgmesh' });
  const clients = await ClientRegistry.create([
    {
      clientId: 'finance-agent',
      secret: 'finance-agent-dev-secret',
      role: 'finance',
      scopes: ['orgmesh:agent'],
    },
  ]);
  if (!(await clients.authenticate('finance-agent', 'finance-agent-dev-secret')))
    throw new Error('dev client did not authenticate');
  const { access_token: token } = await issuer.issue({
    sub: 'finance-agent',
    role: 'finance',
    scopes: ['orgmesh:agent'],
  });
  const cached = createJwtVerifier({ issuer: issuer.issuer, audience: 'orgmesh', jwks: issuer.jwks() });
  const uncached = createJwtVerifier({
    issuer: issuer.issuer,
    audience: 'orgmesh',
    jwks: issuer.jwks(),
    cacheSize: 0,
  });
  await cached.verify(`Bearer ${token}`);
  const BATCH = 1_000;
  const results = await runComparison(
    [
      {
        name: 'auth.verify.uncached',
        durationMs: 2_000,
        op: () => uncached.verify(`Bearer ${token}`),
        notes: 'jose jwtVerify, ES256 signature check every time (the cost of a first-seen token)',
      },
      {
        name: 'auth.verify.cached.x1000',
        baseline: 'auth.verify.uncached',
        durationMs: 2_000,
        op: async () => {
          for (let i = 0; i < BATCH; i++) await cached.verify(`Bearer ${token}`);
        },
        notes: `one op = ${BATCH} verifications of a token already verified (cache hit); latency is per batch`,
      },
    ],
    { rounds: 2 },
  );
  const batch = results.find((r) => r.name === 'auth.verify.cached.x1000');
  const single = results.find((r) => r.name === 'auth.verify.uncached');
  if (batch)
    batch.extra = {
      cachedVerifyUsP50: round((batch.latencyMs.p50 * 1000) / BATCH, 3),
      cachedVerifyUsMean: round((batch.latencyMs.mean * 1000) / BATCH, 3),
    };
  if (single) single.extra = { uncachedVerifyUsP50: round(single.latencyMs.p50 * 1000, 1) };
  progress(
    `    token verification from cache: ${batch?.extra?.['cachedVerifyUsP50']} µs p50 (uncached ${single?.extra?.['uncachedVerifyUsP50']} µs)`,
  );
  return results;
}

export async function run(): Promise<BenchResult[]> {
  const env = benchEnv();
  const ns = await benchNamespace('bg');
  const { subjectPrefix: prefix, nameSuffix: suffix, databaseUrl: dbUrl } = ns;
  const logger = createLogger({ service: 'bench-gateway', level: 'warn' });
  const cleanups: Array<() => Promise<unknown>> = [];
  const results: BenchResult[] = [];
  const common = {
    NATS_URL: env.natsUrl,
    NATS_SUBJECT_PREFIX: prefix,
    NATS_NAME_SUFFIX: suffix,
    LOG_LEVEL: 'warn',
  };

  results.push(...(await tokenVerification()));

  cleanups.push(() => ns.dispose());
  try {
    progress('  sessions service and gateway as separate processes');
    const gateway = await startService(
      'gateway',
      'services/gateway/dist/main.js',
      {
        ...common,
        GATEWAY_HTTP_PORT: '0',
        GATEWAY_GRPC_PORT: '0',
        GATEWAY_RATE_LIMIT_RPS: '1000000',
        GATEWAY_RATE_LIMIT_BURST: '1000000',
      },
      /gateway: REST (http:\/\/\S+) /,
    );
    cleanups.push(() => stop(gateway.child));
    const base = new URL(gateway.match?.[1] ?? '');
    // Started after the gateway: it verifies every forwarded token against the gateway's JWKS.
    const issuerUrl = base.origin;
    const sessions = await startService('sessions', 'services/sessions/dist/main.js', {
      ...common,
      DATABASE_URL: dbUrl,
      SESSIONS_HTTP_PORT: '0',
      MIGRATE_ON_START: 'true',
      AUTH_ISSUER: issuerUrl,
      AUTH_JWKS_URL: `${issuerUrl}/.well-known/jwks.json`,
    });
    cleanups.push(() => stop(sessions.child));

    const bus: MessageBus = await connectBus({
      url: env.natsUrl,
      name: 'bench-gateway-client',
      subjectPrefix: prefix,
      nameSuffix: suffix,
      logger,
    });
    cleanups.push(() => bus.close());
    const tokens = Object.fromEntries(
      await Promise.all(
        ['admin', 'finance-agent'].map(async (id) => {
          const res = await fetch(new URL('/v1/auth/token', base), {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `grant_type=client_credentials&client_id=${id}&client_secret=${id}-dev-secret`,
          });
          return [id, ((await res.json()) as { access_token: string }).access_token] as const;
        }),
      ),
    );
    const admin = tokens['admin'] as string;
    const finance = tokens['finance-agent'] as string;
    const session = await eventually('sessions service answering', () =>
      bus.request(
        CreateSession,
        { agentId: 'finance-agent', role: 'finance' },
        { authorization: `Bearer ${finance}` },
      ),
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    cleanups.push(async () => agent.destroy());

    const viaGateway = async () => {
      const res = await jsonRequest(agent, base, 'GET', `/v1/sessions/${session.id}`, admin);
      if (res.status !== 200) throw new AppError('internal', `gateway answered ${res.status}`);
      return res.body as Session;
    };
    const inProcess = await startGatewayApp(
      loadGatewayConfig({
        ...common,
        GATEWAY_HTTP_PORT: '0',
        GATEWAY_GRPC_PORT: '0',
        GATEWAY_RATE_LIMIT_RPS: '1000000',
        GATEWAY_RATE_LIMIT_BURST: '1000000',
        // The separate gateway's tokens, so the sessions service (which trusts that issuer) accepts
        // what this one forwards.
        AUTH_MODE: 'oidc',
        AUTH_ISSUER: issuerUrl,
        AUTH_AUDIENCE: 'orgmesh',
        AUTH_JWKS_URL: `${issuerUrl}/.well-known/jwks.json`,
      }),
      { logger },
    );
    cleanups.push(() => inProcess.close());
    const inProcessBase = new URL(inProcess.url);
    const inProcessAdmin = admin;
    const viaInProcessGateway = async () => {
      const res = await jsonRequest(
        agent,
        inProcessBase,
        'GET',
        `/v1/sessions/${session.id}`,
        inProcessAdmin,
      );
      if (res.status !== 200) throw new AppError('internal', `gateway answered ${res.status}`);
    };
    await viaInProcessGateway();
    const direct = () => bus.request(GetSession, { id: session.id }, { authorization: `Bearer ${admin}` });
    await viaGateway();

    for (const concurrency of [1, 16]) {
      results.push(
        ...(await runComparison([
          {
            name: `nats.get-session.c${concurrency}`,
            concurrency,
            durationMs: DURATION_MS,
            op: direct,
            notes: 'MessageBus.request(GetSession) straight to the sessions service',
          },
          {
            name: `gateway.get-session.c${concurrency}`,
            baseline: `nats.get-session.c${concurrency}`,
            concurrency,
            durationMs: DURATION_MS,
            op: viaGateway,
            notes:
              'GET /v1/sessions/{id} over keep-alive HTTP to the gateway process: JWT (cached), validation, the same RPC, JSON reply',
          },
          {
            name: `gateway-in-process.get-session.c${concurrency}`,
            baseline: `nats.get-session.c${concurrency}`,
            concurrency,
            durationMs: DURATION_MS,
            op: viaInProcessGateway,
            notes: 'the same request to a gateway running in the bench process (no extra process hop)',
          },
        ])),
      );
    }

    // Writes: each op opens a session in its own context (one Postgres transaction + outbox row).
    let contexts = 0;
    results.push(
      ...(await runComparison([
        {
          name: 'nats.create-session.c1',
          durationMs: DURATION_MS,
          op: () =>
            bus.request(
              CreateSession,
              { agentId: 'finance-agent', role: 'finance', contextId: `n${contexts++}` },
              { authorization: `Bearer ${finance}` },
            ),
          notes: 'MessageBus.request(CreateSession)',
        },
        {
          name: 'gateway.create-session.c1',
          baseline: 'nats.create-session.c1',
          durationMs: DURATION_MS,
          op: async () => {
            const res = await jsonRequest(agent, base, 'POST', '/v1/sessions', finance, {
              agentId: 'finance-agent',
              contextId: `g${contexts++}`,
            });
            if (res.status !== 201) throw new AppError('internal', `gateway answered ${res.status}`);
          },
          notes: 'POST /v1/sessions as an agent (role from the token), the same RPC',
        },
      ])),
    );

    for (const [subject, baseline] of [
      ['gateway.get-session.c1', 'nats.get-session.c1'],
      ['gateway-in-process.get-session.c1', 'nats.get-session.c1'],
      ['gateway.create-session.c1', 'nats.create-session.c1'],
    ] as const) {
      const s = results.find((r) => r.name === subject);
      const b = results.find((r) => r.name === baseline);
      if (s && b) {
        s.extra = {
          ...(s.extra ?? {}),
          addedP50Ms: round(s.latencyMs.p50 - b.latencyMs.p50, 3),
          addedP99Ms: round(s.latencyMs.p99 - b.latencyMs.p99, 3),
          targetAddedP50Ms: 1,
        };
        progress(
          `    ${subject}: added p50 ${s.extra['addedP50Ms']} ms (target ≤ 1 ms), added p99 ${s.extra['addedP99Ms']} ms`,
        );
      }
    }
    // One more data point without a baseline: open loop at a steady rate.
    results.push(
      await runScenario({
        name: 'gateway.get-session.rate200',
        concurrency: 16,
        durationMs: DURATION_MS,
        ratePerSec: 200,
        op: viaGateway,
        notes: 'open loop at 200 req/s (latency from scheduled start)',
      }),
    );
  } finally {
    for (const step of cleanups.reverse())
      await step().catch((error: unknown) => progress(`  cleanup: ${String(error)}`));
  }
  return results;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';

/**
 * The whole suite as separate OS processes, from the built `dist/` entries, isolated on a shared
 * NATS and Postgres: every process gets the same subject prefix, stream-name suffix and database,
 * and its own free ports. Each process's output goes to `<logDir>/<name>.log`.
 */
export interface SuiteOptions {
  root: string;
  natsUrl: string;
  databaseUrl: string;
  subjectPrefix: string;
  nameSuffix: string;
  logDir: string;
  /** Where the scripted model records every request body it receives. */
  recordFile: string;
  logLevel?: string;
  /** Extra environment per process name (`gateway`, `agent-finance`, …). */
  env?: Record<string, Record<string, string>>;
  readyTimeoutMs?: number;
  /**
   * Production identity mode (docs/identity.md): the gateway runs `AUTH_MODE=oidc` and every service
   * verifies tokens of this OpenID provider; the agents get theirs from it by client_credentials
   * (`ORGMESH_OIDC_*`, one secret for all in the demo). Default: the gateway's dev issuer.
   */
  oidc?: { issuer: string; jwksUrl: string; audience: string; clientSecret: string };
}

export interface SuiteProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly healthUrl: string;
  readonly logFile: string;
}

export interface RunningSuite {
  readonly gatewayUrl: string;
  readonly proxyUrl: string;
  readonly modelUrl: string;
  readonly processes: readonly SuiteProcess[];
  /** Time from the first spawn until every process answered its readiness probe. */
  readonly readyMs: number;
  /** Resident memory per process, in MiB. */
  rss(): Record<string, number>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (typeof address !== 'object' || address === null) return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

export async function startSuite(options: SuiteOptions): Promise<RunningSuite> {
  const port = async () => String(await freePort());
  const ports = {
    gateway: await port(),
    grpc: await port(),
    sessions: await port(),
    registry: await port(),
    mesh: await port(),
    proxy: await port(),
    model: await port(),
    finance: await port(),
    manager: await port(),
    legal: await port(),
  };
  const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
  const proxyUrl = `http://127.0.0.1:${ports.proxy}`;
  const modelUrl = `http://127.0.0.1:${ports.model}`;
  const bus = {
    NATS_URL: options.natsUrl,
    NATS_SUBJECT_PREFIX: options.subjectPrefix,
    NATS_NAME_SUFFIX: options.nameSuffix,
  };
  const oidc = options.oidc;
  const auth = oidc
    ? { AUTH_ISSUER: oidc.issuer, AUTH_AUDIENCE: oidc.audience, AUTH_JWKS_URL: oidc.jwksUrl }
    : {
        AUTH_ISSUER: gatewayUrl,
        AUTH_AUDIENCE: 'orgmesh',
        AUTH_JWKS_URL: `${gatewayUrl}/.well-known/jwks.json`,
      };
  const gatewayAuth: Record<string, string> = oidc
    ? { AUTH_MODE: 'oidc', ...auth }
    : { AUTH_MODE: 'dev', AUTH_DEV_CLIENTS: 'finance-lead:finance' };
  const agentAuth: Record<string, string> = oidc
    ? {
        ORGMESH_OIDC_ISSUER: oidc.issuer,
        ORGMESH_OIDC_CLIENT_SECRET: oidc.clientSecret,
        ORGMESH_OIDC_SCOPE: 'orgmesh:agent',
      }
    : {};
  const common = { LOG_LEVEL: options.logLevel ?? 'info', NODE_ENV: 'test' };

  const specs: Array<{ name: string; entry: string; env: Record<string, string>; health: string }> = [
    {
      name: 'scripted-model',
      entry: 'services/agents/dist/scripted-model/main.js',
      env: {
        SCRIPTED_MODEL_HOST: '127.0.0.1',
        SCRIPTED_MODEL_PORT: ports.model,
        SCRIPTED_MODEL_RECORD_FILE: options.recordFile,
      },
      health: `${modelUrl}/healthz`,
    },
    {
      name: 'gateway',
      entry: 'services/gateway/dist/main.js',
      env: {
        ...bus,
        GATEWAY_HTTP_PORT: ports.gateway,
        GATEWAY_GRPC_PORT: ports.grpc,
        ...gatewayAuth,
        GATEWAY_RATE_LIMIT_RPS: '500',
        GATEWAY_RATE_LIMIT_BURST: '1000',
      },
      health: `${gatewayUrl}/readyz`,
    },
    {
      name: 'sessions',
      entry: 'services/sessions/dist/main.js',
      env: { ...bus, ...auth, DATABASE_URL: options.databaseUrl, SESSIONS_HTTP_PORT: ports.sessions },
      health: `http://127.0.0.1:${ports.sessions}/readyz`,
    },
    {
      name: 'registry',
      entry: 'services/registry/dist/main.js',
      env: {
        ...bus,
        ...auth,
        DATABASE_URL: options.databaseUrl,
        REGISTRY_HTTP_PORT: ports.registry,
        REGISTRY_DIR: join(options.root, 'deploy/registry'),
        // The proxy reads role profiles and the org chart's people from the registry, as deployed.
        REGISTRY_ORG_CHART: join(options.root, 'deploy/registry/org-chart.csv'),
        PRIVACY_PROXY_URL: proxyUrl,
        GATEWAY_URL: gatewayUrl,
      },
      health: `http://127.0.0.1:${ports.registry}/readyz`,
    },
    {
      name: 'mesh-router',
      entry: 'services/mesh-router/dist/main.js',
      env: { ...bus, ...auth, DATABASE_URL: options.databaseUrl, MESH_HTTP_PORT: ports.mesh },
      health: `http://127.0.0.1:${ports.mesh}/readyz`,
    },
    {
      name: 'privacy-proxy',
      entry: 'services/privacy-proxy/dist/main.js',
      env: {
        ...bus,
        ...auth,
        PRIVACY_PROXY_PORT: ports.proxy,
        PRIVACY_UPSTREAM_OPENAI_URL: `${modelUrl}/v1`,
        // As in `npm start`: the scripted model answers Anthropic Messages too (the Claude-model agents).
        PRIVACY_UPSTREAM_ANTHROPIC_URL: modelUrl,
        PRIVACY_HMAC_KEY: `e2e-${options.nameSuffix}-hmac-key-0123456789abcdef`,
        // One spool per suite: two suites sharing the default directory would refuse the second proxy.
        PRIVACY_AUDIT_SPOOL_DIR: join(options.logDir, 'privacy-audit'),
      },
      health: `${proxyUrl}/readyz`,
    },
  ];
  const agents = (['finance', 'manager', 'legal'] as const).map((role) => ({
    name: `agent-${role}`,
    entry: 'services/agents/dist/main.js',
    env: {
      ...bus,
      AGENT_ROLE: role,
      AGENTS_HTTP_PORT: ports[role],
      GATEWAY_URL: gatewayUrl,
      PRIVACY_PROXY_URL: proxyUrl,
      AGENT_HEARTBEAT_INTERVAL: '2s',
      ...agentAuth,
    },
    health: `http://127.0.0.1:${ports[role]}/readyz`,
  }));

  const processes: SuiteProcess[] = [];
  const stop = async () => {
    await Promise.all(
      [...processes].reverse().map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
            child.once('exit', () => (clearTimeout(timer), resolve()));
            child.kill('SIGTERM');
          }),
      ),
    );
  };
  const started = Date.now();
  try {
    for (const group of [specs, agents]) {
      const starting = group.map((spec) => {
        const entry = join(options.root, spec.entry);
        if (!existsSync(entry)) throw new Error(`${spec.name}: ${spec.entry} is not built`);
        const logFile = join(options.logDir, `${spec.name}.log`);
        const out = createWriteStream(logFile);
        const child = spawn(process.execPath, ['--enable-source-maps', entry], {
          cwd: options.root,
          env: {
            PATH: process.env['PATH'] ?? '',
            HOME: process.env['HOME'] ?? '',
            ...common,
            ...spec.env,
            ...(options.env?.[spec.name] ?? {}),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout?.pipe(out);
        child.stderr?.pipe(out);
        const proc: SuiteProcess = { name: spec.name, child, healthUrl: spec.health, logFile };
        processes.push(proc);
        return proc;
      });
      await Promise.all(starting.map((proc) => waitReady(proc, options.readyTimeoutMs ?? 60_000)));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const readyMs = Date.now() - started;
  return {
    gatewayUrl,
    proxyUrl,
    modelUrl,
    processes,
    readyMs,
    rss: () => Object.fromEntries(processes.map((p) => [p.name, rssMiB(p.child.pid)])),
    stop,
  };
}

async function waitReady(proc: SuiteProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null)
      throw new Error(
        `${proc.name} exited with ${proc.child.exitCode} before it was ready; see ${proc.logFile}:\n${tail(proc.logFile)}`,
      );
    try {
      const res = await fetch(proc.healthUrl, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(
        `${proc.name} not ready at ${proc.healthUrl} after ${timeoutMs} ms; see ${proc.logFile}:\n${tail(proc.logFile)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** VmRSS of a process in MiB (Linux /proc), or NaN where unavailable. */
export function rssMiB(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb ? Math.round((Number(kb) / 1024) * 10) / 10 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

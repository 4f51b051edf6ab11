// `npm start`'s NATS (ADR 0011): its own nats-server, secured with one NKey per identity, on
// 127.0.0.1:4223 with its store under .orgmesh/nats-secure, leaving a system server on 4222 alone.
// NATS_URL overrides it (then ORGMESH_NATS_CREDENTIALS_DIR, if set, holds the `<identity>.nk` seeds
// that `orgmesh nats-config` wrote for that server). Without a nats-server binary it answers
// undefined and start.mjs falls back to an open server.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// The bus identity of each process start.mjs runs; the scripted model never touches NATS.
const SERVICE_IDENTITIES = ['sessions', 'registry', 'mesh-router', 'privacy-proxy', 'gateway'];

/** The nats-server binary: NATS_SERVER_BIN, the Debian and local paths, then PATH; undefined if none. */
export function natsServerBinary() {
  for (const candidate of [process.env.NATS_SERVER_BIN, '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function answers(port) {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** The seed-file environment of each process, by its start.mjs name (`agent-<role>` for agents). */
function envByProcess(dir, agents) {
  const env = {};
  for (const name of SERVICE_IDENTITIES) env[name] = { NATS_NKEY_SEED_FILE: join(dir, `${name}.nk`) };
  for (const { role, agentId } of agents) env[`agent-${role}`] = { NATS_NKEY_SEED_FILE: join(dir, `agent-${agentId}.nk`) };
  return env;
}

/**
 * Starts (or, with NATS_URL, only describes) the suite's NATS. Answers `{ url, envFor(name),
 * runnerSeed }`, or undefined when no nats-server binary is installed.
 *
 * @param {{ stateDir: string, log: (line: string) => void, agents: {role: string, agentId: string}[],
 *   onChild: (entry: {name: string, child: import('node:child_process').ChildProcess}) => void }} options
 */
export async function startSecureNats({ stateDir, log, agents, onChild }) {
  if (process.env.NATS_URL) {
    const dir = process.env.ORGMESH_NATS_CREDENTIALS_DIR;
    const env = dir ? envByProcess(dir, agents) : {};
    return { url: process.env.NATS_URL, envFor: (name) => env[name] ?? {}, runnerSeed: dir ? join(dir, 'runner.nk') : undefined };
  }
  const binary = natsServerBinary();
  if (!binary) return undefined;
  const port = Number(process.env.ORGMESH_NATS_PORT ?? 4223);
  if (await answers(port)) {
    throw new Error(
      `something already answers on 127.0.0.1:${port}, where npm start runs its secured nats-server.\n` +
        '  Stop it (a previous run left behind?), or set ORGMESH_NATS_PORT, or NATS_URL to use that server.',
    );
  }
  const dir = join(stateDir, 'nats-secure');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const modulePath = join(root, 'libs/messaging/dist/nats-server-config.js');
  if (!existsSync(modulePath)) throw new Error('libs/messaging is not built yet; run npm run build first');
  const { generateSecuredBus } = await import(pathToFileURL(modulePath).href);
  // Seeds are kept across runs; the permissions are recomputed from the contracts every start.
  const generated = generateSecuredBus({
    outDir: dir,
    namespace: { subjectPrefix: '', nameSuffix: '' },
    agents: agents.map(({ agentId, role }) => ({ agentId, agentRole: role })),
    port,
    storeDir: join(dir, 'jetstream'),
  });
  const child = spawn(binary, ['-c', generated.configFile], {
    stdio: 'ignore',
    // Its own process group: the terminal's Ctrl-C reaches npm start, which stops it after the services.
    detached: true,
  });
  onChild({ name: 'nats-server', child });
  const deadline = Date.now() + 20_000;
  while (!(await answers(port))) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}); check nats-server -c ${generated.configFile} -t`);
    if (Date.now() > deadline) throw new Error(`nats-server did not answer on port ${port} within 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`NATS: started a secured ${binary} on 127.0.0.1:${port} (JetStream; one NKey per process in ${dir})`);
  const env = envByProcess(dir, agents);
  return { url: `nats://127.0.0.1:${port}`, envFor: (name) => env[name] ?? {}, runnerSeed: join(dir, 'runner.nk') };
}

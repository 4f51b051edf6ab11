import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { restartableServer, type PrivateServer } from './server-process.js';

/** A private nats-server: stopped with SIGTERM; its JetStream store stays on disk for a restart. */
export type PrivateNats = PrivateServer;

/** Locates the nats-server binary, or throws with how to install one. */
export function natsServerBinary(): string {
  const candidates = [process.env['NATS_SERVER_BIN'], '/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next one
    }
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim() || fail();
  } catch {
    return fail();
  }
  function fail(): never {
    throw new Error(
      'nats-server binary not found: install it (Debian: apt-get install nats-server) or set NATS_URL / NATS_SERVER_BIN',
    );
  }
}

/** Starts a private nats-server with JetStream on a free port, for tests that stop and restart it. */
export async function startPrivateNats(options: { port?: number } = {}): Promise<PrivateNats> {
  const binary = natsServerBinary();
  const port = options.port ?? (await freePort());
  const storeDir = mkdtempSync(join(tmpdir(), 'orgmesh-nats-'));
  return restartableServer({
    url: `nats://127.0.0.1:${port}`,
    port,
    launch: () => spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' }),
    ready: () => waitForPort(port),
    stopping: { signal: 'SIGTERM', graceMs: 5_000 },
    cleanUp: () => rmSync(storeDir, { recursive: true, force: true }),
  });
}

import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';

export interface PrivateNats {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM, then SIGKILL); JetStream data stays on disk for a restart. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same JetStream store. */
  start(): Promise<void>;
  /** Stops it and removes its store. */
  dispose(): Promise<void>;
}

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
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    if (child) return;
    child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
    child.once('exit', () => {
      child = undefined;
    });
    await waitForPort(port);
  }

  async function stop(): Promise<void> {
    const running = child;
    if (!running) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
      running.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      running.kill('SIGTERM');
    });
  }

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async dispose() {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

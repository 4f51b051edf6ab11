import { closeSync, mkdirSync, openSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A free TCP port for a test server, below the kernel's ephemeral range.
 *
 * The port is checked free now and bound later by another process. A port from the ephemeral
 * range (what `listen(0)` hands out) can meanwhile become the local port of any outgoing
 * connection on the machine. CI saw it: an agent of the e2e suite failed with EADDRINUSE on its
 * health port while other suites opened Postgres and NATS connections. Ports below the range are
 * never used that way; one is picked at random and checked free on every interface (services
 * listen on 0.0.0.0). Falls back to the kernel's choice if none is found.
 *
 * A port is also reserved for {@link RESERVATION_MS} across the machine's test processes (a file
 * created exclusively under the temp dir): between the check and the bind, a test file in another
 * jest worker could otherwise pick the same free port, and one of the two servers fails to start.
 */
export async function freePort(): Promise<number> {
  const below = ephemeralRangeStart();
  for (let attempt = 0; attempt < 50 && below > 11_000; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (below - 10_000));
    if (reserve(port) && (await canListen(port))) return port;
  }
  return listenOnce(0);
}

/** How long a port handed out stays reserved for the process that asked (its server binds by then). */
export const RESERVATION_MS = 120_000;

const RESERVATIONS = join(tmpdir(), 'orgmesh-test-ports');

/** True when `port` was not handed out to any test process in the last RESERVATION_MS; reserves it. */
function reserve(port: number): boolean {
  const file = join(RESERVATIONS, String(port));
  try {
    mkdirSync(RESERVATIONS, { recursive: true });
    closeSync(openSync(file, 'wx'));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return true; // no reservations here: the bind check alone
  }
  try {
    // Reserved before: free again once the reservation is old (its test has bound and released it).
    if (Date.now() - statSync(file).mtimeMs < RESERVATION_MS) return false;
    const now = new Date();
    utimesSync(file, now, now);
    return true;
  } catch {
    return false;
  }
}

function ephemeralRangeStart(): number {
  try {
    const start = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    return Number.isInteger(start) && start > 0 ? start : 32_768;
  } catch {
    return 32_768; // Linux's default; elsewhere the range starts at 49152, so this stays below it
  }
}

function canListen(port: number): Promise<boolean> {
  return listenOnce(port).then(
    () => true,
    () => false,
  );
}

/** Listens on `port` (0: the kernel picks) on every interface, closes, and returns the port. */
function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(port, '0.0.0.0', () => {
      const address = server.address();
      if (typeof address !== 'object' || address === null) return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port, or rejects after the timeout. */
export async function waitForPort(port: number, timeoutMs = 15_000, host = '127.0.0.1'): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpListenOptions {
  port: number;
  /** The address to bind (`0.0.0.0`/`::`: every interface). */
  host: string;
  /**
   * How long `close()` lets requests in flight finish before their connections are cut (ms).
   * Idle keep-alive connections are closed at once either way. 0: cut everything at once (an edge
   * whose responses are long-lived streams). Default 10 s.
   */
  graceMs?: number;
}

/** A listening node:http server; `close()` is what `runService`'s graceful stop awaits. */
export interface HttpEdge {
  /** The address bound. */
  readonly host: string;
  readonly port: number;
  /** `http://host:port` to reach it from this machine (loopback when bound to every interface). */
  readonly origin: string;
  /**
   * Stops accepting, closes idle connections, lets requests in flight finish within the grace,
   * then cuts what is left. Resolves once the server is closed; idempotent.
   */
  close(): Promise<void>;
}

const DEFAULT_GRACE_MS = 10_000;

/** Listens on `options.port` (0: a free one) and resolves once bound, or rejects (e.g. EADDRINUSE). */
export async function listenHttp(server: Server, options: HttpListenOptions): Promise<HttpEdge> {
  let stopping = false;
  // A keep-alive connection whose last request finishes during the grace is idle from then on, but
  // Node only closes the connections idle at the moment close() was called: without this the close
  // would wait for the client's keep-alive to lapse (seconds) after the last answer.
  server.on('request', (_req, res) => {
    res.once('finish', () => {
      if (stopping) setImmediate(() => server.closeIdleConnections());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const reachable = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  let closing: Promise<void> | undefined;
  return {
    host: address.address,
    port: address.port,
    origin: `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${address.port}`,
    close() {
      stopping = true;
      closing ??= new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), graceMs);
        // A process that has nothing else left to do must not wait for the timer.
        cut.unref();
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        if (graceMs <= 0) server.closeAllConnections();
        else server.closeIdleConnections();
      });
      return closing;
    },
  };
}

import { createServer, type Server } from 'node:http';
import { Registry, collectDefaultMetrics } from 'prom-client';

export type ReadinessCheck = () => Promise<void>;

export interface HealthServer {
  /** The address bound (the configured host; `0.0.0.0` means every interface). */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A metrics registry per service: every series it holds carries `service="<service>"` (a default
 * label, set here and nowhere else), plus Node's runtime metrics under their standard `process_*`
 * and `nodejs_*` names (`defaultMetrics: false` leaves them out, e.g. for several servers in one
 * test process). The naming rules every series follows are checked by
 * {@link metricConventionViolations} (ADR 0010).
 */
export function createMetricsRegistry(service: string, options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * The small HTTP port every service exposes: `/healthz` (the process is alive), `/readyz` (each
 * dependency answered within the timeout; the body names the failing ones) and Prometheus `/metrics`.
 */
export async function startHealthServer(options: {
  port: number;
  /**
   * The address to bind, from the service's `*_HTTP_HOST` key: loopback unless set (npm start),
   * `0.0.0.0` in containers, where probes and scrapes come from outside the pod (ADR 0010).
   */
  host: string;
  checks: Record<string, ReadinessCheck>;
  registry: Registry;
  checkTimeoutMs?: number;
}): Promise<HealthServer> {
  const timeoutMs = options.checkTimeoutMs ?? 2_000;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      void readiness(options.checks, timeoutMs).then((result) => {
        res.writeHead(result.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      });
      return;
    }
    if (path === '/metrics') {
      void options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no such path"}}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    host: typeof address === 'object' && address ? address.address : options.host,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function readiness(
  checks: Record<string, ReadinessCheck>,
  timeoutMs: number,
): Promise<{ ok: boolean; checks: Record<string, 'ok' | 'failing'> }> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
          }),
        ]);
        return [name, 'ok'] as const;
      } catch {
        return [name, 'failing'] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ok: entries.every(([, state]) => state === 'ok'), checks: Object.fromEntries(entries) };
}

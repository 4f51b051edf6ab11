import { sendJson } from '@orgmesh/service-host/http-edge';
import type { ProxyContext } from './context.js';
import type { Exchange } from './exchange.js';

/** How long `/readyz` waits for the first detector build before answering 503 (probes time out at 3 s). */
const READY_WAIT_MS = 2_000;

/** `/healthz` (alive) and `/readyz` (a dictionary in use, its detectors built, the counters read). */
export async function health(ctx: ProxyContext, x: Exchange): Promise<void> {
  if (!x.req.url?.startsWith('/readyz')) {
    sendJson(x.res, 200, { status: 'ok' });
    return;
  }
  const { engine, governor, options } = ctx;
  // The file source announces nothing: its one directory starts building here.
  engine.directoryLoaded(await options.profiles.getDirectory());
  // Ready while a dictionary is in use, even a stale one (the registry down), and once detectors
  // are built for it, so that no call is sent here to wait for the first build (a small org's
  // is built within this wait; 100k people take seconds). Details say which org version.
  const [detectorsReady, storeSynced] = await Promise.all([
    engine.detectorsReady(READY_WAIT_MS),
    // Budgets and limits need the shared counters read once; afterwards an outage of the store
    // does not make the replica unready (profiles decide, most calls need no store at all).
    governor ? governor.ledger.synced(READY_WAIT_MS) : Promise.resolve(true),
  ]);
  const ready = detectorsReady && storeSynced;
  const directory = options.profiles.directoryStatus?.();
  const detector = engine.detectorStatus();
  sendJson(x.res, ready ? 200 : 503, {
    status: ready ? 'ready' : 'not_ready',
    details: {
      ...(directory ? { directory } : {}),
      detector,
      ...(governor ? { budgetStore: { synced: storeSynced, healthy: governor.ledger.storeHealthy() } } : {}),
    },
  });
}

/** `/metrics` in the Prometheus text format. */
export async function metricsEndpoint(ctx: ProxyContext, x: Exchange): Promise<void> {
  const body = await ctx.metrics.registry.metrics();
  x.res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType });
  x.res.end(body);
}

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DetectionMemo, Pseudonymizer } from '@orgmesh/privacy';
import { answerClientError } from './http/boundary.js';
import { PrivacyEngine } from './privacy/privacy-engine.js';
import { PrivacyProxyMetrics } from './privacy-proxy.metrics.js';
import { registerDirectoryMetrics } from './profiles/directory.metrics.js';
import type { ProxyContext } from './server/context.js';
import type { PrivacyProxy, PrivacyProxyOptions } from './server/options.js';
import { requestListener } from './server/request-handler.js';
import { UpstreamClient } from './server/upstream.js';

export type { PrivacyProxy, PrivacyProxyOptions, Provider, UpstreamConfig } from './server/options.js';
export { MASK_SCOPE } from './server/authenticate.js';
export { PRIVACY_PROXY_TRACER } from './server/exchange.js';
export { PASSED_HEADER, UNSCANNED_HEADER } from './server/mask-request.js';

/**
 * The privacy proxy: OpenAI- and Anthropic-compatible endpoints that mask personal data on the way
 * to the provider and restore it on the way back, on plain node:http (no framework on the hot path).
 * This file wires the parts; the request path is in `server/`: `request-handler.ts` (route, errors,
 * the log line), `authenticate.ts`, `completion.ts` (profile, `admission.ts`, `mask-request.ts`,
 * `upstream.ts`, `answer-relay.ts`/`stream-relay.ts`), `privacy-audit.ts`, `utility.ts`, `health.ts`.
 */
export function createPrivacyProxy(options: PrivacyProxyOptions): PrivacyProxy {
  const metrics = options.metrics ?? new PrivacyProxyMetrics();
  const profiles = options.profiles;
  if (profiles.directoryStatus) registerDirectoryMetrics(metrics.registry, () => profiles.directoryStatus!());
  const engine = new PrivacyEngine(
    options.profiles,
    new Pseudonymizer(options.hmacKey),
    options.ner,
    options.processingBudget,
    {
      observer: { built: (seconds, outcome) => metrics.detectorBuild.observe({ outcome }, seconds) },
      memo: new DetectionMemo({
        ...(options.detectionMemoEntries !== undefined ? { maxEntries: options.detectionMemoEntries } : {}),
        observe: (result) => metrics.detectionMemo.inc({ result }),
      }),
      ...(options.detectorBuilder ? { builder: options.detectorBuilder } : {}),
    },
  );
  metrics.observeDetectors(() => engine.detectorStatus());
  // A new directory's detectors are built as soon as the source loads it, not on the next request.
  const stopDirectory = profiles.onDirectory?.((directory) => engine.directoryLoaded(directory));
  const governor = options.governor;
  governor?.start();
  const upstream = new UpstreamClient(options, options.upstreamTimeoutMs ?? 600_000, metrics);
  const ctx: ProxyContext = {
    options,
    engine,
    metrics,
    logger: options.logger,
    governor,
    maxBody: options.maxBodyBytes ?? 20 * 1024 * 1024,
    upstream,
  };

  const server = createServer(
    { keepAlive: true, keepAliveTimeout: 65_000, requestTimeout: 0 },
    requestListener(ctx),
  );
  server.on('clientError', answerClientError);

  return {
    server,
    metrics,
    engine,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          resolve(
            `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
          );
        });
      });
    },
    async close() {
      stopDirectory?.();
      await governor?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await upstream.close();
    },
  };
}

import { createLogger, startTracing } from '@orgmesh/telemetry';
import { loadGatewayConfig } from './gateway.config.js';
import { devCredentialLines, startGatewayApp } from './gateway.app.js';

const config = loadGatewayConfig();
const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
// Before anything opens a connection: every span from here on reaches the exporter.
const tracing = startTracing({
  service: config.OTEL_SERVICE_NAME ?? 'gateway',
  otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
  logger,
});
const app = await startGatewayApp(config, { logger });

if (app.identity.dev) {
  // Printed on purpose: these are the documented dev credentials, and dev mode serves nothing else.
  process.stdout.write(
    [
      `gateway: REST ${app.url} (docs ${app.url}/docs), gRPC :${app.grpcPort}, dev identity (issuer ${app.identity.issuer})`,
      '  dev clients (POST /v1/auth/token, grant_type=client_credentials):',
      ...devCredentialLines(app.identity),
      '',
    ].join('\n'),
  );
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    void app
      .close()
      .then(
        () => 0,
        () => 1,
      )
      .then(async (code) => {
        // Flushes the spans of the shutdown itself too.
        await tracing.shutdown().catch(() => undefined);
        process.exit(code);
      });
  });
}

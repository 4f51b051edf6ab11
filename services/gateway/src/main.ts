import { createLogger } from '@orgmesh/telemetry';
import { loadGatewayConfig } from './gateway.config.js';
import { devCredentialLines, startGatewayApp } from './gateway.app.js';

const config = loadGatewayConfig();
const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
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
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

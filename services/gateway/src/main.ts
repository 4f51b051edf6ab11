import { runService } from '@orgmesh/telemetry';
import { loadGatewayConfig } from './gateway.config.js';
import { devCredentialLines, startGatewayApp } from './gateway.app.js';

const config = loadGatewayConfig();
await runService({
  service: 'gateway',
  config,
  start: async (logger) => {
    const app = await startGatewayApp(config, { logger });
    if (app.identity.dev) {
      // Printed on purpose: these are the documented dev credentials, and dev mode serves nothing else.
      process.stdout.write(
        [
          `gateway: REST ${app.url} (docs ${app.url}/docs), gRPC :${app.grpcPort}, dev identity (issuer ${app.identity.issuer})`,
          '  the dev issuer is for local development (npm start) only: production runs AUTH_MODE=oidc against an OpenID provider (docs/identity.md)',
          '  dev clients (POST /v1/auth/token, grant_type=client_credentials):',
          ...devCredentialLines(app.identity),
          `  the dev operator (admin) and the people of the org chart (console ${app.url}/console/; passwords random at every start):`,
          ...(app.login?.people.credentialLines() ?? []),
          '',
        ].join('\n'),
      );
    }
    return app;
  },
});

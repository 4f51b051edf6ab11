import { pino } from 'pino';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { ConfigError } from '@orgmesh/config';
import { createLogger, startTracing } from '@orgmesh/telemetry';
import { loadMcpConfig } from './mcp.config.js';
import { type TokenSource } from './gateway/token.provider.js';
import { agentTokenSource } from './gateway/oidc.token-source.js';
import { CredentialCheckFailed, checkCredentials } from './gateway/credentials.check.js';
import { createOrgmeshMcpServer, taskCallsOf } from './server/mcp.server.js';
import { startMcpHttpServer } from './server/http.transport.js';
import { createModernMcpServer } from './server/modern.server.js';
import { opensModernEra, peekFirstLine } from './server/stdio-era.js';
import { GuardedTransport } from './server/guarded.transport.js';
import { McpMetrics } from './server/mcp.metrics.js';
import { MCP_HELP, wantsHelp } from './mcp.help.js';

// --help needs no configuration (it used to fail with "invalid configuration").
if (wantsHelp(process.argv.slice(2))) {
  process.stdout.write(`${MCP_HELP}\n`);
  process.exit(0);
}
// orgmesh-mcp: stdout belongs to the MCP protocol in stdio mode, so logs go to stderr (fd 2) always.
let config;
try {
  // The environment is read in mcp.config.ts (its default source), nowhere else.
  config = loadMcpConfig(undefined, process.argv.slice(2));
} catch (error) {
  // A ConfigError's message already names the program and every bad key (never a value).
  process.stderr.write(`${error instanceof ConfigError ? error.message : `orgmesh-mcp: ${String(error)}`}\n`);
  process.exit(2);
}
const logger = createLogger({
  service: 'orgmesh-mcp',
  level: config.logLevel,
  destination: pino.destination(2),
});
// Before anything opens a connection: every span from here on reaches the exporter.
const tracing = startTracing({
  service: config.otelServiceName ?? 'orgmesh-mcp',
  otlpEndpoint: config.otlpEndpoint,
  logger,
});
const ownTokens =
  config.oidc || (config.clientId && config.clientSecret)
    ? agentTokenSource({
        oidc: config.oidc,
        gatewayUrl: config.gatewayUrl,
        clientId: config.clientId ?? '',
        clientSecret: config.clientSecret,
        timeoutMs: config.gatewayTimeoutMs,
        logger,
      })
    : undefined;
if (ownTokens && config.startupCheck) {
  try {
    const caller = await checkCredentials({
      tokens: ownTokens,
      gatewayUrl: config.gatewayUrl,
      clientId: config.oidc?.clientId ?? config.clientId ?? '',
      oidcIssuer: config.oidc?.issuer,
      timeoutMs: config.gatewayTimeoutMs,
    });
    logger.info({ subject: caller.subject, role: caller.role, kind: caller.kind }, 'credentials checked');
  } catch (error) {
    if (!(error instanceof CredentialCheckFailed)) throw error;
    // One line an operator (or the MCP client's server log) shows; it never holds a secret or token.
    process.stderr.write(`orgmesh-mcp: ${error.message}\n`);
    logger.error({ problem: error.problem, exitCode: error.exitCode }, 'credential check failed');
    await tracing.shutdown().catch(() => undefined);
    process.exit(error.exitCode);
  }
}
const metrics = new McpMetrics();
const depsFor = (tokens: TokenSource) => ({
  gatewayUrl: config.gatewayUrl,
  tokens,
  gatewayTimeoutMs: config.gatewayTimeoutMs,
  logger,
  metrics,
  claims: config.oidc?.claims,
  approvalWaitMs: config.approvalWaitMs,
  taskPollIntervalMs: config.taskPollIntervalMs,
});
const serverFor = (tokens: TokenSource) => createOrgmeshMcpServer(depsFor(tokens));

if (config.transport === 'stdio') {
  if (!ownTokens) throw new Error('unreachable: stdio mode requires credentials (checked by loadMcpConfig)');
  const tokens = ownTokens;
  // The first message decides the era of the connection (ADR 0017): the 2026-07-28 envelope goes
  // to the v2 SDK, anything else (initialize, unreadable lines) to the 2025-era server below.
  const firstLine = await peekFirstLine(process.stdin);
  const modernStdio = opensModernEra(firstLine)
    ? serveStdio(() => createModernMcpServer(depsFor(tokens)), {
        // The v2 SDK's stdio reader skips a line that is not JSON without a word; behind the same
        // edge as the 2025 era, it is answered -32700 (and JSON that is not JSON-RPC -32600).
        transport: new GuardedTransport(
          new StdioServerTransport(),
          logger,
          true,
          metrics,
          undefined,
          false,
        ) as unknown as NonNullable<Parameters<typeof serveStdio>[1]>['transport'],
        legacy: 'reject',
        // Reporting only: rejected requests (bad input) arrive here too.
        onerror: (error) => logger.debug({ errorType: error.name }, 'mcp 2026-07-28 request refused'),
      })
    : undefined;
  const server = serverFor(tokens);
  const transport = new GuardedTransport(
    new StdioServerTransport(),
    logger,
    true,
    metrics,
    taskCallsOf(server),
  );
  // The client closing stdin ends the session; so do SIGTERM and SIGINT.
  const stop = async (reason: string) => {
    logger.info({ reason }, 'orgmesh-mcp stopping');
    await server.close().catch(() => undefined);
    await modernStdio?.close().catch(() => undefined);
    await tracing.shutdown().catch(() => undefined);
    process.exit(0);
  };
  if (firstLine === undefined) await stop('stdin closed');
  process.stdin.once('end', () => void stop('stdin closed'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  if (!modernStdio) await server.connect(transport);
  // Both transports listen now: let the first line (put back by the peek) and the rest flow.
  process.stdin.resume();
  logger.info(
    {
      agentId: config.agentId,
      gatewayUrl: config.gatewayUrl,
      transport: 'stdio',
      revision: modernStdio ? '2026-07-28' : '2025',
    },
    'orgmesh-mcp started',
  );
} else {
  const http = await startMcpHttpServer({
    host: config.httpHost,
    port: config.httpPort,
    serverFor,
    // MCP 2026-07-28 requests go to the v2 SDK's server (ADR 0017).
    modernServerFor: (tokens) => createModernMcpServer(depsFor(tokens)),
    ownTokens,
    allowedHosts: config.allowedHosts,
    logger,
    metrics,
  });
  logger.info(
    { agentId: config.agentId, gatewayUrl: config.gatewayUrl, transport: 'http', url: http.url },
    'orgmesh-mcp started',
  );
  // One line on stdout for whoever started it (scripts, tests): where to connect.
  process.stdout.write(`orgmesh-mcp listening on ${http.url}\n`);
  const stop = async (reason: string) => {
    logger.info({ reason }, 'orgmesh-mcp stopping');
    await http.close();
    await tracing.shutdown().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

import { AppError } from '@orgmesh/contracts';
import { OidcTokenSource, type OidcClientSettings, type AccessTokenSource } from '@orgmesh/agent-sdk';
import type { Logger } from '@orgmesh/telemetry';
import { GatewayError } from './gateway.errors.js';
import { ClientCredentialsTokenProvider, type TokenSource } from './token.provider.js';

/**
 * The agent's tokens from an OpenID provider (the SDK's `OidcTokenSource`: discovery, client
 * secret or private_key_jwt, renewal ahead of expiry), seen through orgmesh-mcp's `TokenSource`.
 * Errors become `GatewayError`s so callers keep one error type: status 0 when the provider was not
 * reached (the runner's "unavailable" exit), 401 when it refused the client.
 */
export class OidcGatewayTokenSource implements TokenSource {
  constructor(private readonly inner: AccessTokenSource) {}

  async token(refresh = false): Promise<string> {
    if (refresh) this.inner.invalidate();
    try {
      return (await this.inner.current()).token;
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const status =
        error.code === 'unavailable' || error.code === 'timeout'
          ? 0
          : error.code === 'unauthenticated'
            ? 401
            : 502;
      throw new GatewayError(error.code, error.message, status, error.details ?? {}, { cause: error });
    }
  }

  stop(): void {
    this.inner.stop();
  }
}

export interface AgentTokenSourceOptions {
  /** Set when ORGMESH_OIDC_ISSUER is: tokens come from that provider. */
  readonly oidc: OidcClientSettings | undefined;
  /** Otherwise from the gateway's dev issuer (`npm start`). */
  readonly gatewayUrl: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly timeoutMs: number;
  readonly logger?: Logger;
}

/** The one place orgmesh-mcp and the runner choose where an agent's tokens come from. */
export function agentTokenSource(options: AgentTokenSourceOptions): TokenSource {
  if (options.oidc) {
    return new OidcGatewayTokenSource(
      new OidcTokenSource({ ...options.oidc, requestTimeoutMs: options.timeoutMs, logger: options.logger }),
    );
  }
  if (!options.clientSecret) throw new Error('a client secret is needed for the gateway token endpoint');
  return new ClientCredentialsTokenProvider({
    gatewayUrl: options.gatewayUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    timeoutMs: options.timeoutMs,
  });
}

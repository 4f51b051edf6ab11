import { EXIT, type ExitCode } from '@orgmesh/config';
import { errorFromResponse, GatewayError } from './gateway.errors.js';
import { unreachable, type TokenSource } from './token.provider.js';

/** What went wrong at start, one value per fix an operator would make. */
export type CredentialProblem =
  /** The issuer (OpenID provider or the gateway's dev token endpoint) refused the client: wrong id or secret. */
  | 'client_refused'
  /** The OpenID provider did not answer. */
  | 'issuer_unreachable'
  /** The gateway did not answer (for a token, or for the check call). */
  | 'gateway_unreachable'
  /** A token was issued, but the gateway refused it (another issuer or audience, no orgmesh scope). */
  | 'token_refused'
  /** Anything else the issuer or gateway answered (overloaded, a gateway without /v1/auth/whoami). */
  | 'gateway_failed';

/** A failed start-up check: `message` is for stderr as is (it never contains a secret or a token). */
export class CredentialCheckFailed extends Error {
  override readonly name = 'CredentialCheckFailed';

  constructor(
    readonly problem: CredentialProblem,
    message: string,
    /** From the shared exit-code table (libs/config): 69 not reached, 1 refused. */
    readonly exitCode: ExitCode,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

/** The caller as `GET /v1/auth/whoami` answers it. */
export interface CheckedCaller {
  subject: string;
  role: string;
  kind: string;
}

export interface CredentialCheckOptions {
  tokens: TokenSource;
  gatewayUrl: string;
  clientId: string;
  /** ORGMESH_OIDC_ISSUER when tokens come from an OpenID provider; undefined: the gateway's dev issuer. */
  oidcIssuer: string | undefined;
  timeoutMs: number;
  fetch?: typeof fetch;
}

function retryLater(code: string): boolean {
  return code === 'unavailable' || code === 'timeout' || code === 'rate_limited';
}

async function obtainToken(options: CredentialCheckOptions): Promise<string> {
  const { oidcIssuer, clientId } = options;
  try {
    return await options.tokens.token();
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    if (error.status === 0) {
      throw oidcIssuer
        ? new CredentialCheckFailed(
            'issuer_unreachable',
            `cannot obtain a token: the OpenID provider ${oidcIssuer} did not answer (${error.message}); check ORGMESH_OIDC_ISSUER and that the provider is up`,
            EXIT.unavailable,
            { cause: error },
          )
        : new CredentialCheckFailed(
            'gateway_unreachable',
            `cannot obtain a token: ${error.message}; check ORGMESH_GATEWAY_URL and that the gateway is running`,
            EXIT.unavailable,
            { cause: error },
          );
    }
    if (error.code === 'unauthenticated' || error.status === 400 || error.status === 401) {
      const keys = oidcIssuer
        ? 'ORGMESH_OIDC_CLIENT_ID / ORGMESH_CLIENT_ID and ORGMESH_OIDC_CLIENT_SECRET (or the private key)'
        : 'ORGMESH_CLIENT_ID / ORGMESH_AGENT_ID and ORGMESH_CLIENT_SECRET';
      throw new CredentialCheckFailed(
        'client_refused',
        `the client credentials were refused (wrong client id or secret?): ${error.message}; check ${keys}`,
        EXIT.failed,
        { cause: error },
      );
    }
    throw new CredentialCheckFailed(
      'gateway_failed',
      `cannot obtain a token for client "${clientId}": ${error.code}: ${error.message}`,
      retryLater(error.code) ? EXIT.unavailable : EXIT.failed,
      { cause: error },
    );
  }
}

/**
 * Checks the credentials orgmesh-mcp acts with, once at start: obtains a token (the issuer checks
 * the client id and secret) and has the gateway verify it (`GET /v1/auth/whoami`, answered by the
 * gateway alone). Without it a wrong secret surfaced only at the first tool call, as a tool error
 * the model sees instead of a start-up failure the operator sees.
 */
export async function checkCredentials(options: CredentialCheckOptions): Promise<CheckedCaller> {
  const token = await obtainToken(options);
  const fetchFn = options.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await fetchFn(`${options.gatewayUrl}/v1/auth/whoami`, {
      headers: { accept: 'application/json', authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const cause = unreachable(options.gatewayUrl, error);
    throw new CredentialCheckFailed(
      'gateway_unreachable',
      `${cause.message}; check ORGMESH_GATEWAY_URL and that the gateway is running`,
      EXIT.unavailable,
      { cause },
    );
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (res.ok) return body as CheckedCaller;
  const error = errorFromResponse(res.status, body);
  if (res.status === 401 || res.status === 403) {
    const hint = options.oidcIssuer
      ? `the gateway must trust ${options.oidcIssuer} (its AUTH_ISSUER / AUTH_AUDIENCE) and the client needs an orgmesh scope`
      : 'the token was issued for another gateway, or the client has no orgmesh scope';
    throw new CredentialCheckFailed(
      'token_refused',
      `the gateway at ${options.gatewayUrl} refused the token of client "${options.clientId}": ${error.message}; ${hint}`,
      EXIT.failed,
      { cause: error },
    );
  }
  throw new CredentialCheckFailed(
    'gateway_failed',
    `the gateway at ${options.gatewayUrl} answered ${res.status} to GET /v1/auth/whoami (${error.code}: ${error.message})`,
    retryLater(error.code) ? EXIT.unavailable : EXIT.failed,
    { cause: error },
  );
}

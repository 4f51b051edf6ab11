import { AppError, isErrorCode, type ErrorCode, type RegistryProblem } from '@orgmesh/contracts';
import { problemFields, readJsonAnswer } from '@orgmesh/service-host/http-edge';

type Env = Readonly<Record<string, string | undefined>>;

const REQUEST_TIMEOUT_MS = 10_000;
/** The dev-mode admin client of `npm start` (README, "dev secrets are refused outside dev mode"). */
const DEV_ADMIN = { clientId: 'admin', clientSecret: 'admin-dev-secret' } as const;

/** An answer of the gateway that is not 2xx, as its problem+json says it. */
export class GatewayProblem extends AppError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    readonly problems: readonly RegistryProblem[],
  ) {
    super(code, message, { details: { status } });
  }
}

export interface AdminCredentials {
  readonly gatewayUrl: string;
  /** `Bearer …` */
  readonly authorization: string;
  /** True when the dev admin secret was assumed (nothing configured): the caller says so, once. */
  readonly devSecret: boolean;
}

/**
 * The admin token the registry commands send through the gateway: ORGMESH_TOKEN, or client
 * credentials (ORGMESH_CLIENT_ID / ORGMESH_CLIENT_SECRET) exchanged at the gateway, or, with nothing
 * set, the dev admin client of `npm start` (which a gateway outside dev mode refuses).
 */
export async function adminCredentials(env: Env): Promise<AdminCredentials> {
  const gatewayUrl = (env['ORGMESH_GATEWAY_URL'] ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const token = env['ORGMESH_TOKEN'];
  if (token)
    return {
      gatewayUrl,
      authorization: token.startsWith('Bearer ') ? token : `Bearer ${token}`,
      devSecret: false,
    };
  const configured = env['ORGMESH_CLIENT_ID'] && env['ORGMESH_CLIENT_SECRET'];
  const clientId = configured ? (env['ORGMESH_CLIENT_ID'] as string) : DEV_ADMIN.clientId;
  const clientSecret = configured ? (env['ORGMESH_CLIENT_SECRET'] as string) : DEV_ADMIN.clientSecret;
  const body = await gatewayFetch<{ access_token?: unknown }>(gatewayUrl, 'POST', '/v1/auth/token', {
    body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
  }).catch((error: unknown) => {
    if (error instanceof GatewayProblem && (error.status === 401 || error.status === 400)) {
      throw new AppError(
        'unauthenticated',
        `the gateway at ${gatewayUrl} refused the client credentials of "${clientId}"${
          configured
            ? ''
            : ' (the dev admin secret: is the gateway outside dev mode? set ORGMESH_TOKEN or ORGMESH_CLIENT_ID/ORGMESH_CLIENT_SECRET)'
        }`,
        { cause: error },
      );
    }
    throw error;
  });
  if (typeof body.access_token !== 'string')
    throw new AppError('internal', `the gateway at ${gatewayUrl} answered no access_token`);
  return { gatewayUrl, authorization: `Bearer ${body.access_token}`, devSecret: !configured };
}

/**
 * One JSON call to the gateway. An unreachable gateway is `unavailable` (exit 69); an error answer is
 * a GatewayProblem carrying the problem's code, detail and any registry `problems`.
 */
export async function gatewayFetch<T>(
  gatewayUrl: string,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  options: { authorization?: string; body?: unknown } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.authorization ? { authorization: options.authorization } : {}),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new AppError(
      'unavailable',
      `the gateway does not answer at ${gatewayUrl} (start the suite with npm start, or set ORGMESH_GATEWAY_URL)`,
      { cause: error },
    );
  }
  const { json } = await readJsonAnswer(response);
  if (response.ok) return json as T;
  const problem = problemFields(json, `HTTP ${response.status}`);
  const code: ErrorCode = isErrorCode(problem.code)
    ? problem.code
    : response.status === 503 || response.status === 502 || response.status === 504
      ? 'unavailable'
      : 'internal';
  const problems = problem.extensions['problems'];
  throw new GatewayProblem(
    response.status,
    code,
    `${method} ${path}: ${problem.message}`,
    Array.isArray(problems) ? (problems as RegistryProblem[]) : [],
  );
}

import { AppError, ImportOrg, type RegistryProblem } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import type { OrgImporter } from '../cli.js';
import { formatProblem } from '../loader/problem.js';

type Env = Readonly<Record<string, string | undefined>>;

const CONNECT_TIMEOUT_MS = 5_000;
const IMPORT_TIMEOUT_MS = 60_000;

/**
 * `orgmesh registry import-org` over NATS: calls `rpc.registry.v1.import-org` at NATS_URL (and
 * NATS_SUBJECT_PREFIX) with an admin token, from ORGMESH_TOKEN, or fetched from the gateway's token
 * endpoint with ORGMESH_CLIENT_ID / ORGMESH_CLIENT_SECRET (client credentials). Without either the
 * call carries no token, which only a registry running with REGISTRY_AUTH=off accepts.
 */
export function natsOrgImporter(env: Env): OrgImporter {
  return async (csv, fileName) => {
    const authorization = await adminToken(env);
    const url = env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
    const bus = await withTimeout(
      connectBus({
        url,
        name: 'orgmesh-cli',
        subjectPrefix: env['NATS_SUBJECT_PREFIX'] ?? '',
        logger: createLogger({ service: 'orgmesh-cli', level: 'silent' }),
      }),
      CONNECT_TIMEOUT_MS,
      () => new AppError('unavailable', `cannot reach NATS at ${url} (set NATS_URL)`),
    );
    try {
      return await importOver(bus, csv, fileName, authorization);
    } finally {
      await bus.close();
    }
  };
}

async function importOver(bus: MessageBus, csv: string, fileName: string, authorization: string | undefined) {
  try {
    return await bus.request(ImportOrg, { csv, fileName }, { authorization, timeoutMs: IMPORT_TIMEOUT_MS });
  } catch (error) {
    // The service's problems, one line each, as the local check prints them.
    const problems =
      error instanceof AppError ? (error.details?.['problems'] as RegistryProblem[] | undefined) : undefined;
    if (error instanceof AppError && problems?.length) {
      throw new AppError(error.code, `refused by the registry:\n${problems.map(formatProblem).join('\n')}`, {
        cause: error,
      });
    }
    if (error instanceof AppError && error.code === 'unavailable') {
      throw new AppError('unavailable', 'no registry service answered on NATS (is it running?)', {
        cause: error,
      });
    }
    throw error;
  }
}

async function adminToken(env: Env): Promise<string | undefined> {
  const token = env['ORGMESH_TOKEN'];
  if (token) return token.startsWith('Bearer ') ? token : `Bearer ${token}`;
  const clientId = env['ORGMESH_CLIENT_ID'];
  const clientSecret = env['ORGMESH_CLIENT_SECRET'];
  if (!clientId || !clientSecret) return undefined;
  const gateway = (env['ORGMESH_GATEWAY_URL'] ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  let response: Response;
  try {
    response = await fetch(`${gateway}/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      }),
      signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS),
    });
  } catch (error) {
    throw new AppError(
      'unavailable',
      `cannot reach the gateway at ${gateway} for a token (set ORGMESH_GATEWAY_URL)`,
      { cause: error },
    );
  }
  const body = (await response.json().catch(() => ({}))) as { access_token?: unknown };
  if (!response.ok || typeof body.access_token !== 'string') {
    throw new AppError(
      'unauthenticated',
      `the gateway refused the client credentials of "${clientId}" (HTTP ${response.status})`,
    );
  }
  return `Bearer ${body.access_token}`;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

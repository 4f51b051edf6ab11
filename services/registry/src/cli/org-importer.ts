import { AppError, ImportOrg, ImportOrgPart, sendOrgImport, type RegistryProblem } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import type { OrgImporter } from '../cli.js';
import { formatProblem } from '../loader/problem.js';
import { adminCredentials } from './gateway-client.js';

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
        // The admin-cli identity of a secured bus (orgmesh nats-config): its seed from NATS_NKEY_SEED_FILE.
        name: 'admin-cli',
        nkeySeedFile: env['NATS_NKEY_SEED_FILE'] || undefined,
        tlsCaFile: env['NATS_TLS_CA_FILE'] || undefined,
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

/**
 * Imports `csv`: in one message when it fits one part, else as parts and a commit naming them
 * (ADR 0013; the splitting is @orgmesh/contracts' sendOrgImport, which the gateway uses too).
 * Exported for tests and for callers that hold a bus already.
 */
export async function importOver(
  bus: MessageBus,
  csv: string,
  fileName: string,
  authorization: string | undefined,
) {
  try {
    return await sendOrgImport(csv, fileName, {
      part: (request) => bus.request(ImportOrgPart, request, { authorization, timeoutMs: IMPORT_TIMEOUT_MS }),
      commit: (request) => bus.request(ImportOrg, request, { authorization, timeoutMs: IMPORT_TIMEOUT_MS }),
    });
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

/**
 * The admin token of `import-org`, when one is configured (ORGMESH_TOKEN, or client credentials
 * exchanged at the gateway, as `registry load` does); none otherwise, for a registry with
 * REGISTRY_AUTH=off, so no dev secret is assumed here.
 */
async function adminToken(env: Env): Promise<string | undefined> {
  if (!env['ORGMESH_TOKEN'] && !(env['ORGMESH_CLIENT_ID'] && env['ORGMESH_CLIENT_SECRET'])) return undefined;
  return (await adminCredentials(env)).authorization;
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

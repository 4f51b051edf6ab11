import { AppError, type ConfigFormat, type Session } from '@orgmesh/contracts';
import { EXIT } from '@orgmesh/config';
import { GatewayError } from '../gateway/gateway.errors.js';
import type { RunnerConfig } from './runner.config.js';
import type { WorkspaceDriftError } from './workspace.js';

/*
 * The refusals of `orgmesh agent run`, apart from the run itself: each names the problem and the
 * operator's fix, in the words the CLI prints (`refused: …` / `fix: …`). Kept together so the
 * runner's phases read as steps and the wording of every refusal can be reviewed in one place.
 */

/** Exit statuses of `orgmesh agent run` besides the command's own: the CLI's one table (EXIT). */
export const RUN_EXIT = {
  refused: EXIT.refused,
  unavailable: EXIT.unavailable,
  watchdog: EXIT.watchdog,
  interrupted: EXIT.interrupted,
  /** The session was ended from outside (`orgmesh sessions kill`, the idle sweeper). */
  terminated: EXIT.terminated,
} as const;

/** The runner will not start the agent; `fix` tells the operator what to do about it. */
export class RunRefused extends Error {
  override readonly name = 'RunRefused';
  constructor(
    readonly problem: string,
    readonly fix: string,
    readonly exitCode: number = RUN_EXIT.refused,
  ) {
    super(problem);
  }
}

/** Runs `action`; an error `refusal` recognises becomes that refusal, any other is rethrown as is. */
export async function refuseOnError<T>(
  action: () => Promise<T>,
  refusal: (error: unknown) => RunRefused | undefined,
): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw refusal(error) ?? error;
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The registry's answers an operator can act on (unknown agent, invalid render, not reached, token refused). */
export function registryRefusal(
  error: unknown,
  agentId: string,
  config: RunnerConfig,
  format?: ConfigFormat,
): RunRefused | undefined {
  if (!(error instanceof AppError)) return undefined;
  switch (error.code) {
    case 'agent_not_found':
      return new RunRefused(
        `unknown agent "${agentId}": the registry declares no such agent`,
        `declare it in agents/${agentId}.yaml of the registry directory (deploy/registry), check it with \`orgmesh registry validate deploy/registry\`, and load it with \`orgmesh registry load deploy/registry\``,
      );
    case 'validation_failed':
      return new RunRefused(
        `the registry refuses to render "${agentId}"${format ? ` for ${format}` : ''}: ${error.message}`,
        format === 'claude-code'
          ? 'run it with --format goose, or fix its declaration'
          : `fix its declaration (agents/${agentId}.yaml, its profile) and reload the registry (orgmesh registry load <dir>)`,
      );
    case 'unavailable':
    case 'timeout':
      return new RunRefused(
        `the registry service does not answer on ${config.natsUrl}${config.subjectPrefix ? ` (subject prefix ${config.subjectPrefix})` : ''}: ${error.message}`,
        'start the suite (npm start), or point NATS_URL (and NATS_SUBJECT_PREFIX) at the running one',
        RUN_EXIT.unavailable,
      );
    case 'unauthenticated':
    case 'forbidden':
      return new RunRefused(
        `the registry refuses the agent's token: ${error.message}`,
        `check that ORGMESH_CLIENT_ID/ORGMESH_CLIENT_SECRET are ${agentId}'s and that the registry trusts the gateway's issuer (AUTH_ISSUER)`,
      );
    default:
      return undefined;
  }
}

/** The agent's client could not get a token, from the OpenID provider or the gateway's dev issuer. */
export function tokenRefusal(error: unknown, clientId: string, config: RunnerConfig): RunRefused {
  const issuer = config.oidc.ORGMESH_OIDC_ISSUER;
  return new RunRefused(
    issuer
      ? `cannot obtain a token for client "${clientId}" from the OpenID provider ${issuer}: ${messageOf(error)}`
      : `cannot obtain a token for client "${clientId}" from the gateway at ${config.gatewayUrl}: ${messageOf(error)}`,
    issuer
      ? `check that the provider answers and that it knows ${clientId} with this ORGMESH_OIDC_CLIENT_SECRET or ORGMESH_OIDC_PRIVATE_KEY_FILE (docs/identity.md)`
      : `start the suite (npm start) or point ORGMESH_GATEWAY_URL at the gateway; set ORGMESH_CLIENT_SECRET to the agent's client secret (dev mode: ${clientId}-dev-secret)`,
    // Not reached at all (status 0) is "orgmesh is not running", as for NATS; an answer that refuses is a refusal.
    error instanceof GatewayError && error.status === 0 ? RUN_EXIT.unavailable : RUN_EXIT.refused,
  );
}

/** The workspace holds edits or files orgmesh did not write: refused unless --reset-config. */
export function driftRefusal(error: WorkspaceDriftError, agentId: string): RunRefused {
  const edited = error.drifted.filter((f) => f.reason === 'edited').map((f) => f.path);
  const foreign = error.drifted.filter((f) => f.reason === 'foreign').map((f) => f.path);
  const parts = [
    edited.length
      ? `${edited.join(', ')} changed since orgmesh rendered ${edited.length === 1 ? 'it' : 'them'}`
      : '',
    foreign.length
      ? `${foreign.join(', ')} ${foreign.length === 1 ? 'exists' : 'exist'} but orgmesh did not write ${foreign.length === 1 ? 'it' : 'them'}`
      : '',
  ].filter(Boolean);
  return new RunRefused(
    `agent "${agentId}" has drifted from its declared config in ${error.workspace}: ${parts.join('; ')}`,
    `undo the local changes, or rerun with --reset-config to replace them with the declared config; to keep a change, make it in the registry (agents/${agentId}.yaml or its profile) and reload it (orgmesh registry load <dir>)`,
  );
}

/** The agent already runs as many runner sessions as allowed; names each, so the operator can end one. */
export function limitRefusal(agentId: string, limit: number, open: readonly Session[]): RunRefused {
  return new RunRefused(
    `agent "${agentId}" already has ${open.length} open session${open.length === 1 ? '' : 's'} started by a runner (limit ${limit}): ` +
      open
        .map(
          (s) => `${s.id} (${s.status}, pid ${String(s.metadata['pid'])} on ${String(s.metadata['host'])})`,
        )
        .join(', '),
    'wait for it to end, stop it with `orgmesh sessions kill <session-id>`, or raise the limit (ORGMESH_MAX_SESSIONS or --max-sessions)',
  );
}

import { AppError, GetRedactions, type RpcResponse } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { RpcAnswer } from '../app/rpc-answer.js';
import { forwardedCaller } from '../auth/forwarded-caller.js';
import { readCounts, totalsOf, type CountsReadDeps } from '../governance/counts-read.js';
import { DAY_MS, hourOf } from '../governance/windows.js';
import type { RedactionRecorder, RedactionStore } from './redaction-store.js';

const ADMIN_SCOPE = 'orgmesh:admin';
const AGENT_SCOPE = 'orgmesh:agent';
const READ_SCOPE = 'orgmesh:read';

/**
 * Who reads which counts, by the forwarded token (the precedence of libs/auth callerKindOf): an admin
 * or a viewer (`orgmesh:read`) its whole tenant — counts carry no personal data, and viewers read
 * every other operator view; an agent its own role only (what its profile did to its own calls and
 * its peers'); a person of the org chart nothing (the console's people reach their approvals only).
 */
function scopeOf(
  caller: { scopes: readonly string[]; role: string },
  role: string | undefined,
): string | undefined {
  if (caller.scopes.includes(ADMIN_SCOPE)) return role;
  if (caller.scopes.includes(AGENT_SCOPE)) {
    if (role !== undefined && role !== caller.role)
      throw new AppError(
        'forbidden',
        `an agent reads its own role's redaction counts only: the caller's role is "${caller.role}", not "${role}"`,
        { details: { rule: 'redactions.own-role-only' } },
      );
    return caller.role;
  }
  if (caller.scopes.includes(READ_SCOPE)) return role;
  throw new AppError(
    'forbidden',
    'redaction counts are read by admins and viewers (all) and agents (their own role)',
  );
}

export interface RedactionsAnswerDeps extends CountsReadDeps<RedactionRecorder> {
  readonly redactions: RedactionStore;
}

/**
 * `rpc.privacy.v1.get-redactions` (GET /v1/privacy/redactions at the gateway). The forwarded token is
 * verified here, as every service does for itself. This replica's counts are written first; other
 * replicas' reach Postgres within a second.
 */
export function redactionsAnswer(deps: RedactionsAnswerDeps): RpcAnswer<typeof GetRedactions> {
  return async (request, ctx): Promise<RpcResponse<typeof GetRedactions>> => {
    const caller = await forwardedCaller(
      deps.verifier,
      ctx.authorization,
      'redaction counts are read with a token',
    );
    const role = scopeOf(caller, request.role);
    const page = await readCounts(deps, request, ({ from, to }, limit) =>
      deps.redactions.query({
        tenant: caller.tenant,
        ...(role !== undefined ? { role } : {}),
        ...(request.entityType !== undefined ? { entityType: request.entityType } : {}),
        // A day bucket counts the whole UTC day `from` falls in, an hour bucket the whole hour.
        from: request.bucket === 'day' ? Math.floor(from / DAY_MS) * DAY_MS : hourOf(from),
        to,
        bucket: request.bucket,
        limit,
      }),
    );
    const rows = page.rows.map((r) => ({
      bucket: new Date(r.bucket).toISOString(),
      role: r.role,
      entityType: r.entityType,
      masked: r.masked,
      passed: r.passed,
      refused: r.refused,
    }));
    return {
      rows,
      totals: totalsOf(rows, ['masked', 'passed', 'refused']),
      from: page.from,
      to: page.to,
      bucket: request.bucket,
      truncated: page.truncated,
    };
  };
}

/** The answer on a bus without Nest (the tests' proxies); the service serves it through its module. */
export function serveRedactions(
  bus: MessageBus,
  deps: RedactionsAnswerDeps,
): ReturnType<MessageBus['serve']> {
  return bus.serve(GetRedactions, redactionsAnswer(deps));
}

import { AppError, GetUsage, type LlmUsageRow, type RpcResponse } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { RpcAnswer } from '../app/rpc-answer.js';
import type { UsageRecorder, UsageStore } from './usage-store.js';
import { forwardedCaller } from '../auth/forwarded-caller.js';
import { readCounts, totalsOf, type CountsReadDeps } from './counts-read.js';
import { hourOf } from './windows.js';

const ADMIN_SCOPE = 'orgmesh:admin';
const AGENT_SCOPE = 'orgmesh:agent';

export interface UsageAnswerDeps extends CountsReadDeps<UsageRecorder> {
  readonly usage: UsageStore;
}

/**
 * `rpc.privacy.v1.get-usage` (GET /v1/usage at the gateway). The forwarded token is verified here, as
 * every service does for itself: an admin reads its tenant's usage, an agent its own calls only. This
 * replica's aggregates are written first; other replicas' reach Postgres within a second.
 */
export function usageAnswer(deps: UsageAnswerDeps): RpcAnswer<typeof GetUsage> {
  return async (request, ctx): Promise<RpcResponse<typeof GetUsage>> => {
    const caller = await forwardedCaller(deps.verifier, ctx.authorization, 'usage is read with a token');
    let agentId = request.agentId;
    if (!caller.scopes.includes(ADMIN_SCOPE)) {
      if (!caller.scopes.includes(AGENT_SCOPE))
        throw new AppError('forbidden', 'LLM usage is read by admins (all) and agents (their own)');
      if (agentId !== undefined && agentId !== caller.sub)
        throw new AppError(
          'forbidden',
          `an agent reads its own usage only: the caller is "${caller.sub}", not "${agentId}"`,
          {
            details: { rule: 'usage.own-agent-only' },
          },
        );
      agentId = caller.sub;
    }
    const page = await readCounts(deps, request, ({ from, to }, limit) =>
      deps.usage.query({
        tenant: caller.tenant,
        ...(agentId !== undefined ? { agentId } : {}),
        ...(request.role !== undefined ? { role: request.role } : {}),
        ...(request.model !== undefined ? { model: request.model } : {}),
        ...(request.provider !== undefined ? { provider: request.provider } : {}),
        from: hourOf(from),
        to,
        limit,
      }),
    );
    const rows: LlmUsageRow[] = page.rows.map((r) => ({
      hour: new Date(r.bucket).toISOString(),
      agentId: r.agentId,
      role: r.role,
      profileId: r.profileId,
      sessionId: r.sessionId,
      workflowId: r.workflowId,
      provider: r.provider,
      model: r.model,
      requests: r.requests,
      inputTokens: r.inputTokens,
      outputTokens: r.outputTokens,
      cachedInputTokens: r.cachedInputTokens,
      costUsd: r.costMicroUsd / 1e6,
      estimatedRequests: r.estimatedRequests,
    }));
    const totals = totalsOf(rows, ['requests', 'inputTokens', 'outputTokens', 'costUsd']);
    totals.costUsd = Math.round(totals.costUsd * 1e6) / 1e6;
    return { rows, totals, from: page.from, to: page.to, truncated: page.truncated };
  };
}

/** The answer on a bus without Nest (the tests' proxies); the service serves it through its module. */
export function serveUsage(bus: MessageBus, deps: UsageAnswerDeps): ReturnType<MessageBus['serve']> {
  return bus.serve(GetUsage, usageAnswer(deps));
}

import { AppError, GetUsage, type LlmUsageRow, type RpcResponse } from '@orgmesh/contracts';
import type { MessageBus } from '@orgmesh/messaging';
import type { RpcAnswer } from '../app/rpc-answer.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { UsageRecorder, UsageStore } from './usage-store.js';
import { forwardedCaller } from '../auth/forwarded-caller.js';
import { hourOf, requestedRange } from './windows.js';

const ADMIN_SCOPE = 'orgmesh:admin';
const AGENT_SCOPE = 'orgmesh:agent';

export interface UsageAnswerDeps {
  readonly usage: UsageStore;
  readonly recorder?: UsageRecorder;
  readonly verifier: TokenVerifier;
  readonly now?: () => number;
}

/**
 * `rpc.privacy.v1.get-usage` (GET /v1/usage at the gateway). The forwarded token is verified here, as
 * every service does for itself: an admin reads its tenant's usage, an agent its own calls only. This
 * replica's aggregates are written first; other replicas' reach Postgres within a second.
 */
export function usageAnswer(deps: UsageAnswerDeps): RpcAnswer<typeof GetUsage> {
  const now = deps.now ?? Date.now;
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
    const { from, to } = requestedRange(request, now);
    await deps.recorder?.flush();
    const found = await deps.usage.query({
      tenant: caller.tenant,
      ...(agentId !== undefined ? { agentId } : {}),
      ...(request.role !== undefined ? { role: request.role } : {}),
      ...(request.model !== undefined ? { model: request.model } : {}),
      ...(request.provider !== undefined ? { provider: request.provider } : {}),
      from: hourOf(from),
      to,
      limit: request.limit + 1,
    });
    const truncated = found.length > request.limit;
    const rows: LlmUsageRow[] = found.slice(0, request.limit).map((r) => ({
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
    const totals = { requests: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
    for (const row of rows) {
      totals.requests += row.requests;
      totals.inputTokens += row.inputTokens;
      totals.outputTokens += row.outputTokens;
      totals.costUsd += row.costUsd;
    }
    totals.costUsd = Math.round(totals.costUsd * 1e6) / 1e6;
    return { rows, totals, from: new Date(from).toISOString(), to: new Date(to).toISOString(), truncated };
  };
}

/** The answer on a bus without Nest (the tests' proxies); the service serves it through its module. */
export function serveUsage(bus: MessageBus, deps: UsageAnswerDeps): ReturnType<MessageBus['serve']> {
  return bus.serve(GetUsage, usageAnswer(deps));
}

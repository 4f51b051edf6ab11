import { randomUUID } from 'node:crypto';
import { AppError, MaskText, RestoreText, type RpcRequest, type RpcResponse } from '@orgmesh/contracts';
import type { MessageBus, MessageContext } from '@orgmesh/messaging';
import type { RpcAnswer } from '../app/rpc-answer.js';
import { Restorer } from '@orgmesh/privacy';
import type { Logger } from '@orgmesh/telemetry';
import type { AuditSink } from '../audit/audit-sink.js';
import { forwardedCaller } from '../auth/forwarded-caller.js';
import type { TokenVerifier, VerifiedToken } from '../auth/token-verifier.js';
import type { PrivacyEngine } from '../privacy/privacy-engine.js';
import { refusalError, reportRequest } from '../privacy/request-report.js';
import type { CollectedRequest } from '../providers/request-walker.js';
import { RestoreHandles } from './restore-handle.js';

const AGENT_SCOPE = 'orgmesh:agent';
const DEFAULT_TTL_SECONDS = 86_400;
/** What the endpoint of these calls is called in the audit (`privacy.redacted`). */
export const MASK_TEXT_ENDPOINT = 'rpc.mask-text';

export interface TextPrivacyDeps {
  readonly engine: PrivacyEngine;
  readonly verifier: TokenVerifier;
  /** The placeholder key: the handles are sealed under a key derived from it. */
  readonly hmacKey: string;
  readonly audit: AuditSink;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Texts only: nothing binary, no unknown fields (reportRequest's view of a request). */
const TEXTS_ONLY: Omit<CollectedRequest, 'texts' | 'apply'> = {
  unscanned: new Map(),
  refusedBinary: new Map(),
  unknownFields: 0,
  unscannableUnknown: 0,
  unknownRefused: false,
};

/**
 * `rpc.privacy.v1.mask-text` and `rpc.privacy.v1.restore-text` (ADR 0021): masking for text an agent
 * sends outside orgmesh without a model call — a bridge's task input to a remote A2A agent. The
 * caller's forwarded token decides the profile, exactly as for its model calls (`forCaller`: its
 * agent's profile, the workflow's pseudonym scope): `off` passes the texts untouched, `detect` lets
 * values out and reports them, `mask` replaces them, a strict type refuses the whole call
 * (`privacy_strict_refused`). Findings are audited as `privacy.redacted` (counts only) like a model
 * request's. Only agents call it; the restore mapping travels sealed in the answer (restore-handle.ts).
 */
export function textPrivacyAnswers(deps: TextPrivacyDeps): {
  mask: RpcAnswer<typeof MaskText>;
  restore: RpcAnswer<typeof RestoreText>;
} {
  const handles = new RestoreHandles(deps.hmacKey, deps.now);
  const mask = async (
    request: RpcRequest<typeof MaskText>,
    ctx: MessageContext,
  ): Promise<RpcResponse<typeof MaskText>> => {
    const caller = await agentCaller(deps.verifier, ctx.authorization);
    const privacy = await deps.engine.forCaller(
      caller,
      caller.tenant,
      request.contextId ? { contextId: request.contextId } : {},
    );
    if (!privacy.active) return { texts: request.texts, handle: null, counts: {}, masked: {} };
    const session = privacy.session;
    const texts = await session.processAllAsync(request.texts);
    const report = reportRequest(
      session,
      {
        ...TEXTS_ONLY,
        texts: request.texts,
        apply: () => ({ bodyChanged: false, query: '', unmaskable: 0 }),
      },
      { unmaskable: 0 },
    );
    if (report.notable) audit(deps, caller, privacy.profile.mode, report);
    if (report.refusal) throw refusalError(report, caller.role, session.strictTypes);
    const ttlMs = (request.ttlSeconds ?? DEFAULT_TTL_SECONDS) * 1000;
    return {
      texts,
      handle: session.mapping.size > 0 ? handles.seal(session.mapping, caller, ttlMs) : null,
      counts: report.counts,
      masked: report.masked,
    };
  };
  const restore = async (
    request: RpcRequest<typeof RestoreText>,
    ctx: MessageContext,
  ): Promise<RpcResponse<typeof RestoreText>> => {
    const caller = await agentCaller(deps.verifier, ctx.authorization);
    const restorer = new Restorer(handles.open(request.handle, caller));
    return { texts: request.texts.map((text) => restorer.restore(text)) };
  };
  return { mask, restore };
}

/** Both answers on a bus without Nest (the tests' proxies); the service serves them through its module. */
export function serveTextPrivacy(
  bus: MessageBus,
  deps: TextPrivacyDeps,
): Array<ReturnType<MessageBus['serve']>> {
  const answers = textPrivacyAnswers(deps);
  return [bus.serve(MaskText, answers.mask), bus.serve(RestoreText, answers.restore)];
}

async function agentCaller(
  verifier: TokenVerifier,
  authorization: string | undefined,
): Promise<VerifiedToken> {
  const caller = await forwardedCaller(
    verifier,
    authorization,
    'mask-text and restore-text need the agent token',
  );
  if (!caller.scopes.includes(AGENT_SCOPE))
    throw new AppError('forbidden', 'mask-text and restore-text are for agents (their own role profile)');
  return caller;
}

function audit(
  deps: TextPrivacyDeps,
  caller: VerifiedToken,
  mode: 'off' | 'detect' | 'mask' | 'strict',
  report: ReturnType<typeof reportRequest>,
): void {
  try {
    deps.audit.emit({
      eventId: randomUUID(),
      role: caller.role,
      agentId: caller.sub,
      tenant: caller.tenant,
      mode,
      outcome: report.outcome,
      counts: report.counts,
      maskedCounts: report.masked,
      passedCounts: report.passed,
      refusedCounts: report.refused,
      ...(report.refusal ? { refusal: report.refusal } : {}),
      endpoint: MASK_TEXT_ENDPOINT,
      occurredAt: new Date((deps.now ?? Date.now)()).toISOString(),
    });
  } catch (error) {
    // Counts only; a sink that fails must not turn a masked call into a failed one.
    deps.logger.warn({ err: error, endpoint: MASK_TEXT_ENDPOINT }, 'privacy audit event not emitted');
  }
}

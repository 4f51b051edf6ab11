import { AppError } from '@orgmesh/contracts';
import type { Restorer } from '@orgmesh/privacy';
import type { VerifiedToken } from '../auth/token-verifier.js';
import type { GovernedCall } from '../governance/governor.js';
import { parseJsonBody, readBody } from '../http/http-io.js';
import { conversationKey } from '../privacy/conversation-scope.js';
import { admitCall } from './admission.js';
import { relayAnswer, type CompletionFacts, type PartialAnswer } from './answer-relay.js';
import { authenticate } from './authenticate.js';
import type { CallerPrivacy, ProxyContext } from './context.js';
import { queryOf, workflowOf, type Exchange } from './exchange.js';
import { askForStreamUsage, maskRequest } from './mask-request.js';
import type { Provider } from './options.js';
import { unexpected } from './unexpected.js';

/**
 * A chat completion, an Anthropic message or a count_tokens request, in the order of the request
 * path: auth, body, profile, governance, detect/mask, forward, restore, usage.
 */
export async function completion(
  ctx: ProxyContext,
  x: Exchange,
  provider: Provider,
  restoreAnswer: boolean,
): Promise<void> {
  if (x.req.method !== 'POST') throw new AppError('not_found', 'use POST');
  const verified = await authenticate(ctx.options.verifier, x);
  const raw = await readBody(x.req, ctx.maxBody);
  const document = parseJsonBody(raw);
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new AppError('validation_failed', 'request body must be a JSON object');
  }
  const doc = document as Record<string, unknown>;
  // The workflow scopes the placeholders (pseudonym scope, libs/privacy pseudonymKeyScope); without
  // one, the session, else the conversation.
  const workflow = workflowOf(x.req, () => conversationKey(verified.sub, doc));
  const privacy = await ctx.engine.forCaller(verified, verified.tenant, workflow);
  const call = await admitCall(ctx, x, provider, verified, privacy, doc, raw.length);
  const partial: PartialAnswer = {};
  try {
    const facts = await forwardCompletion(ctx, x, {
      provider,
      restoreAnswer,
      verified,
      raw,
      document: doc,
      privacy,
      call,
      partial,
    });
    if (call && facts) {
      const usage = await call.finish(facts.answer, facts.texts);
      if (usage && x.genai) {
        x.genai['gen_ai.usage.input_tokens'] = usage.inputTokens;
        x.genai['gen_ai.usage.output_tokens'] = usage.outputTokens;
        x.genai['orgmesh.llm.usage_estimated'] = usage.estimated;
      }
    }
  } catch (error) {
    // Refused or unreachable: nothing was used, the reservation goes. A stream that broke off counts
    // what it carried (its usage if it came, else estimated from its text).
    const started = partial.stream?.();
    await call?.finish(started?.answer, started?.texts).catch(() => undefined);
    throw error;
  }
}

interface CompletionCall {
  readonly provider: Provider;
  readonly restoreAnswer: boolean;
  readonly verified: VerifiedToken;
  readonly raw: Buffer;
  readonly document: Record<string, unknown>;
  readonly privacy: CallerPrivacy;
  readonly call: GovernedCall | undefined;
  readonly partial: PartialAnswer;
}

/** Masks, forwards and restores one completion; what the answer said about usage, for accounting. */
async function forwardCompletion(
  ctx: ProxyContext,
  x: Exchange,
  c: CompletionCall,
): Promise<CompletionFacts | undefined> {
  const { provider, document, privacy, call } = c;
  const path =
    x.route === 'openai.chat.completions'
      ? '/chat/completions'
      : x.route === 'anthropic.count_tokens'
        ? '/messages/count_tokens'
        : '/messages';
  let body: string | Buffer = c.raw;
  let query = queryOf(x.req);
  let restorer: Restorer | undefined;
  let jsonRestorer: Restorer | undefined;
  let record: (() => void) | undefined;
  const dropUsageChunk = call !== undefined && provider === 'openai' && askForStreamUsage(document);
  if (privacy.active) {
    const masked = await maskRequest(ctx, x, c.verified, document, query, privacy, c.restoreAnswer);
    ({ body, query, restorer, jsonRestorer, record } = masked);
  } else if (dropUsageChunk) body = JSON.stringify(document);
  const overheadSeconds = Number(process.hrtime.bigint() - x.started) / 1e9;
  const answer = ctx.upstream.forward(x, provider, ctx.upstream.url(provider, path, query), {
    method: 'POST',
    body,
  });
  // The metrics and the audit event once the call is written (undici writes on a reused connection in
  // the next check phase, and immediates run in order): while the provider works, not before it is asked.
  setImmediate(recordAfterForward, ctx, x, overheadSeconds, record);
  const response = await answer;
  return relayAnswer(ctx.metrics, x, response, {
    provider,
    restorer,
    jsonRestorer,
    counted: call !== undefined,
    dropUsageChunk,
    sent: body,
    partial: c.partial,
  });
}

function recordAfterForward(
  ctx: ProxyContext,
  x: Exchange,
  overheadSeconds: number,
  record: (() => void) | undefined,
): void {
  try {
    ctx.metrics.overhead.observe({ route: x.route }, overheadSeconds);
    record?.();
  } catch (error) {
    // Outside the request's promise chain: a failure here must not become an uncaught exception.
    unexpected(ctx, error, x);
  }
}

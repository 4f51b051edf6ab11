import { PRIVACY_CONTEXT_HEADER } from '@orgmesh/contracts';
import type { VerifiedToken } from '../auth/token-verifier.js';
import { governanceOf } from '../governance/governance.js';
import type { GovernedCall } from '../governance/governor.js';
import { checkModelPolicy } from '../governance/model-policy.js';
import { modelLabel } from '../governance/usage.js';
import type { CallerPrivacy, ProxyContext } from './context.js';
import { headerValue, idShaped, SESSION_HEADER, type Exchange } from './exchange.js';
import type { Provider } from './options.js';

/**
 * The profile's governance for a model call, all before any masking work: the GenAI span attributes,
 * the model policy, then budgets and rate limits. Returns the admitted call (undefined when no
 * governor counts calls, or for count_tokens, which is no model call).
 */
export async function admitCall(
  ctx: ProxyContext,
  x: Exchange,
  provider: Provider,
  verified: VerifiedToken,
  privacy: CallerPrivacy,
  document: Record<string, unknown>,
  bytes: number,
): Promise<GovernedCall | undefined> {
  const requestModel = typeof document['model'] === 'string' ? document['model'] : '';
  const governance = governanceOf(privacy.profile);
  const modelCall = x.route !== 'anthropic.count_tokens';
  if (modelCall) {
    x.genai = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': provider,
      'gen_ai.system': provider,
      'gen_ai.request.model': modelLabel(requestModel),
      'orgmesh.llm.streaming': document['stream'] === true,
    };
  }
  if (governance) {
    try {
      checkModelPolicy(governance, provider, requestModel);
    } catch (error) {
      ctx.metrics.llmRefusals.inc({ reason: 'model_policy' });
      throw error;
    }
  }
  if (!modelCall || !ctx.governor) return undefined;
  return ctx.governor.admit(
    {
      tenant: verified.tenant,
      agentId: verified.sub,
      role: verified.role,
      ...(governance ? { profileId: governance.profileId } : {}),
      sessionId: idShaped(headerValue(x.req, SESSION_HEADER), 200) ?? '',
      workflowId: idShaped(headerValue(x.req, PRIVACY_CONTEXT_HEADER), 200) ?? '',
      provider,
      model: modelLabel(requestModel),
    },
    governance?.llm,
    { bytes, document },
  );
}

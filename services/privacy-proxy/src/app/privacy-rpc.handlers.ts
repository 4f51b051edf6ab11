import type { Type } from '@nestjs/common';
import { GetRedactions, GetUsage, MaskText, RestoreText } from '@orgmesh/contracts';
import { rpcController, rpcRoute } from '@orgmesh/messaging';
import { usageAnswer } from '../governance/usage-rpc.js';
import { redactionsAnswer } from '../redactions/redactions-rpc.js';
import { textPrivacyAnswers } from '../text-rpc/text-privacy.rpc.js';
import type { ProxyParts } from './proxy-parts.js';

/**
 * The proxy's NATS RPCs on the orgmesh transport (one queue group: any replica answers), answered
 * from the parts they read. Each answer verifies the forwarded token itself, as every service does;
 * the transport has validated the payload.
 */
export function privacyRpcHandlers(parts: ProxyParts): Type<unknown> {
  const { verifier, governor, redactions, proxy, config, audit, logger } = parts;
  const text = textPrivacyAnswers({
    engine: proxy.engine,
    verifier,
    hmacKey: config.PRIVACY_HMAC_KEY,
    audit,
    logger,
  });
  return rpcController('PrivacyRpcHandlers', [
    // GET /v1/usage at the gateway.
    rpcRoute(GetUsage, usageAnswer({ usage: parts.usage, recorder: governor.recorder, verifier })),
    // GET /v1/privacy/redactions at the gateway.
    rpcRoute(
      GetRedactions,
      redactionsAnswer({ redactions: redactions.store, recorder: redactions, verifier }),
    ),
    // Text a bridge sends to a remote A2A agent, masked as a model call's (ADR 0021).
    rpcRoute(MaskText, text.mask),
    // The remote agent's answer, restored with the handle mask-text sealed.
    rpcRoute(RestoreText, text.restore),
  ]);
}

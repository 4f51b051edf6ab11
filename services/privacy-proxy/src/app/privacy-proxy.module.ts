import { Module, type DynamicModule } from '@nestjs/common';
import { usageAnswer } from '../governance/usage-rpc.js';
import { redactionsAnswer } from '../redactions/redactions-rpc.js';
import { textPrivacyAnswers } from '../text-rpc/text-privacy.rpc.js';
import { ModelApiListener } from './model-api.listener.js';
import { PrivacyRpcAnswers, PrivacyRpcHandlers } from './privacy-rpc.handlers.js';
import { PROXY_PARTS } from './privacy-proxy.tokens.js';
import type { ProxyParts } from './proxy-parts.js';

/** The RPC answers, from the parts they read. */
function answersOf(parts: ProxyParts): PrivacyRpcAnswers {
  const { verifier, governor, redactions, proxy, config, audit, logger } = parts;
  const text = textPrivacyAnswers({
    engine: proxy.engine,
    verifier,
    hmacKey: config.PRIVACY_HMAC_KEY,
    audit,
    logger,
  });
  return {
    usage: usageAnswer({ usage: parts.usage, recorder: governor.recorder, verifier }),
    redactions: redactionsAnswer({ redactions: redactions.store, recorder: redactions, verifier }),
    maskText: text.mask,
    restoreText: text.restore,
  };
}

/**
 * The privacy proxy as a Nest module over parts opened outside Nest (proxy-parts.ts), as the other
 * services wire theirs: the model APIs' listener, and — when the proxy has a bus — the controller of
 * its NATS RPCs.
 */
@Module({})
export class PrivacyProxyModule {
  static register(parts: ProxyParts): DynamicModule {
    return {
      module: PrivacyProxyModule,
      controllers: parts.bus ? [PrivacyRpcHandlers] : [],
      providers: [
        { provide: PROXY_PARTS, useValue: parts },
        { provide: PrivacyRpcAnswers, useValue: answersOf(parts) },
        ModelApiListener,
      ],
    };
  }
}

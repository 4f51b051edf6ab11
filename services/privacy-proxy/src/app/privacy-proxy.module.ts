import { Module, type DynamicModule } from '@nestjs/common';
import { ModelApiListener } from './model-api.listener.js';
import { privacyRpcHandlers } from './privacy-rpc.handlers.js';
import { PROXY_PARTS } from './privacy-proxy.tokens.js';
import type { ProxyParts } from './proxy-parts.js';

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
      controllers: parts.bus ? [privacyRpcHandlers(parts)] : [],
      providers: [{ provide: PROXY_PARTS, useValue: parts }, ModelApiListener],
    };
  }
}

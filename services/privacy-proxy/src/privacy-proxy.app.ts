import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { NatsTransportServer } from '@orgmesh/messaging';
import { preloadNamesLexicon } from '@orgmesh/privacy';
import { createLogger, type Logger } from '@orgmesh/telemetry';
import { ModelApiListener } from './app/model-api.listener.js';
import { PrivacyProxyModule } from './app/privacy-proxy.module.js';
import { CloseStack } from '@orgmesh/service-host';
import { openProxyParts, type ProxyParts } from './app/proxy-parts.js';
import type { TokenVerifier } from './auth/token-verifier.js';
import type { PrivacyProxyConfig } from './privacy-proxy.config.js';

export interface PrivacyProxyApp {
  /** Where the model APIs listen (`http://host:port`). */
  readonly url: string;
  readonly parts: ProxyParts;
  /** Stops the RPCs and the model APIs (in-flight calls finish), then closes the parts, last opened first. */
  close(): Promise<void>;
}

/**
 * Starts the privacy proxy as a Nest service (ADR 0022): its parts opened from the config, then the
 * Nest module — on the orgmesh NATS transport when the proxy has a bus (its RPCs), else as an
 * application context — whose bootstrap listens the model APIs. A start that fails closes what it opened.
 */
export async function startPrivacyProxyApp(
  config: PrivacyProxyConfig,
  options: {
    logger?: Logger;
    /** Token verification; default: the JWKS of AUTH_JWKS_URL (a test's local issuer otherwise). */
    verifier?: TokenVerifier;
  } = {},
): Promise<PrivacyProxyApp> {
  const logger = options.logger ?? createLogger({ service: 'privacy-proxy', level: config.LOG_LEVEL });
  // The names recogniser's lexicon is built before the first request, not during it.
  preloadNamesLexicon();
  const closing = new CloseStack();
  try {
    const parts = await openProxyParts(config, logger, closing, {
      ...(options.verifier ? { verifier: options.verifier } : {}),
    });
    let app: INestApplicationContext;
    try {
      app = await startNest(parts);
    } catch (error) {
      await parts.proxy.close().catch(() => undefined);
      throw error;
    }
    closing.push(() => app.close());
    const url = app.get(ModelApiListener).listening;
    if (!url) throw new Error('unreachable: the model APIs listen when the module has booted');
    return {
      url,
      parts,
      async close() {
        await closing.close(logger);
        logger.info({}, 'privacy proxy stopped');
      },
    };
  } catch (error) {
    await closing.close(logger).catch(() => undefined);
    throw error;
  }
}

async function startNest(parts: ProxyParts): Promise<INestApplicationContext> {
  const module = PrivacyProxyModule.register(parts);
  if (!parts.bus) {
    const context = await NestFactory.createApplicationContext(module, { logger: false });
    await context.init();
    return context;
  }
  const microservice = await NestFactory.createMicroservice(module, {
    strategy: new NatsTransportServer(parts.bus),
    logger: false,
  });
  await microservice.listen();
  return microservice;
}

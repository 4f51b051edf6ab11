import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { PROXY_PARTS } from './privacy-proxy.tokens.js';
import type { ProxyParts } from './proxy-parts.js';

/**
 * The model APIs' HTTP listener under Nest's lifecycle. The request path is the proxy's own node:http
 * handler (privacy-proxy.server.ts, ADR 0022): Nest listens it once the module has booted, and closes
 * it (no new requests, in-flight ones finish, the governor settles) before the parts it uses close.
 */
@Injectable()
export class ModelApiListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private url: string | undefined;

  constructor(@Inject(PROXY_PARTS) private readonly parts: ProxyParts) {}

  /** Where the model APIs listen, once booted. */
  get listening(): string | undefined {
    return this.url;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { config, logger, proxy } = this.parts;
    this.url = await proxy.listen(config.PRIVACY_PROXY_PORT, config.PRIVACY_PROXY_HOST);
    logger.info(
      {
        url: this.url,
        openai: Boolean(config.PRIVACY_UPSTREAM_OPENAI_URL),
        anthropic: Boolean(config.PRIVACY_UPSTREAM_ANTHROPIC_URL),
      },
      'privacy proxy listening',
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.url === undefined) return;
    this.url = undefined;
    await this.parts.proxy.close();
  }
}

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LlmClient, OidcTokenSource } from '@orgmesh/agent-sdk';
import { createLogger } from '@orgmesh/telemetry';
import { expectEventually, startOidcProvider, type OidcTestProvider } from '@orgmesh/testing';
import { RecordingAuditSink } from '../src/audit/audit-sink.js';
import { JoseTokenVerifier } from '../src/auth/token-verifier.js';
import { createPrivacyProxy, type PrivacyProxy } from '../src/privacy-proxy.server.js';
import { FileProfileSource } from '../src/profiles/profile-source.js';
import { FakeUpstream } from './fake-upstream.js';
import { PROFILES } from './proxy-harness.js';

// Model calls of an SDK agent through the privacy proxy, both sides on a real OpenID provider
// (oidc-provider) whose tokens live 5 s: the agent's calls outlive its first token.
const AUDIENCE = 'urn:orgmesh:api';
const SECRET = `secret-${Math.random().toString(36).slice(2)}`;
/** The proxy's verifier accepts a token this long past `exp` (clock skew). */
const CLOCK_TOLERANCE_MS = 5_000;

describe('privacy proxy with an OpenID provider: model calls outlive the first token', () => {
  let provider: OidcTestProvider;
  let upstream: FakeUpstream;
  let proxy: PrivacyProxy;
  let url: string;

  beforeAll(async () => {
    provider = await startOidcProvider({
      audience: AUDIENCE,
      accessTokenTtlSec: 5,
      clients: [
        {
          clientId: 'finance-agent',
          clientSecret: SECRET,
          tokenEndpointAuthMethod: 'client_secret_basic',
          scope: 'orgmesh:agent',
          claims: { role: 'finance', tenant: 'acme' },
        },
      ],
    });
    upstream = await FakeUpstream.start();
    proxy = createPrivacyProxy({
      openai: { url: upstream.openaiUrl, key: 'sk-upstream-openai-secret' },
      anthropic: { url: upstream.anthropicUrl, key: 'sk-ant-upstream-secret' },
      verifier: JoseTokenVerifier.fromJwksUrl(provider.jwksUrl, {
        issuer: provider.issuer,
        audience: AUDIENCE,
      }),
      profiles: FileProfileSource.fromObject(PROFILES),
      hmacKey: 'integration-test-hmac-key-0123456789abcdef',
      audit: new RecordingAuditSink(),
      logger: createLogger({ service: 'privacy-proxy', level: 'silent' }),
    });
    url = await proxy.listen(0);
  });
  afterAll(async () => {
    await proxy?.close();
    await upstream?.close();
    await provider?.close();
  });

  it('an LlmClient call after the first token expired goes through with a renewed one; the old token is refused', async () => {
    const tokens = new OidcTokenSource({
      issuer: provider.issuer,
      clientId: 'finance-agent',
      auth: { method: 'client_secret_basic', secret: SECRET },
      scope: 'orgmesh:agent',
    });
    const llm = new LlmClient({ baseUrl: url, tokens, model: 'gpt-4o-mini', stream: false });
    try {
      const first = await tokens.current();
      const before = (await provider.stats()).tokenRequests;
      expect(
        (await llm.chat({ messages: [{ role: 'user', content: 'first call' }] })).message.content,
      ).toBeTruthy();
      // Past the first token's expiry and the proxy's clock tolerance.
      await expectEventually(
        () => expect(Date.now()).toBeGreaterThan(first.expiresAt + CLOCK_TOLERANCE_MS + 250),
        { timeoutMs: 15_000, intervalMs: 200 },
      );
      const stale = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(stale.status).toBe(401);
      expect(
        (await llm.chat({ messages: [{ role: 'user', content: 'a later call' }] })).message.content,
      ).toBeTruthy();
      // Renewed ahead of expiry, not per call: a few tokens in ~10 s of 5 s tokens.
      const renewals = (await provider.stats()).tokenRequests - before;
      expect(renewals).toBeGreaterThanOrEqual(2);
      expect(renewals).toBeLessThanOrEqual(4);
      expect(upstream.requests.length).toBe(2);
    } finally {
      tokens.stop();
    }
  }, 30_000);
});

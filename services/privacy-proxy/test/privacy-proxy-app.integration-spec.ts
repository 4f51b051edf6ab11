import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { GetRedactions, GetUsage, MaskText, RestoreText } from '@orgmesh/contracts';
import { connectBus, type MessageBus } from '@orgmesh/messaging';
import { createLogger } from '@orgmesh/telemetry';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import { type GatewayApp, devToken, startTestGateway } from '@orgmesh/gateway/testing';
import { loadPrivacyProxyConfig } from '../src/privacy-proxy.config.js';
import { startPrivacyProxyApp, type PrivacyProxyApp } from '../src/privacy-proxy.app.js';
import { FakeUpstream, echoPlaceholders } from '../src/testing/fake-upstream.js';

/**
 * The proxy as the process runs it (issue 22 item 3, ADR 0022): `startPrivacyProxyApp` from a parsed
 * config — its Nest module on the orgmesh NATS transport, the model APIs listened at bootstrap — on
 * this run's NATS namespace and database. One model call through the official OpenAI SDK, then each of
 * the proxy's four RPCs answered by the Nest controller, then a close that leaves the port free.
 */
const silent = createLogger({ service: 'privacy-proxy-app-test', level: 'silent' });

describe('the privacy proxy as a Nest service', () => {
  let ctx: TestContext;
  let gateway: GatewayApp;
  let upstream: FakeUpstream;
  let app: PrivacyProxyApp;
  let client: MessageBus;
  let dir: string;
  let financeToken: string;
  let adminToken: string;

  beforeAll(async () => {
    ctx = await createTestContext();
    gateway = await startTestGateway(ctx, { AUTH_DEV_CLIENTS: 'finance-agent:finance' });
    upstream = await FakeUpstream.start({ answer: echoPlaceholders });
    dir = await mkdtemp(join(tmpdir(), 'orgmesh-proxy-app-'));
    const profiles = join(dir, 'profiles.json');
    await writeFile(
      profiles,
      JSON.stringify({
        profiles: { finance: { mode: 'mask' } },
        directory: [{ name: 'Jane Doe', email: 'jane.doe@acme.example', userId: 'u-1001' }],
      }),
    );
    const config = loadPrivacyProxyConfig({
      PRIVACY_PROXY_PORT: '0',
      PRIVACY_UPSTREAM_OPENAI_URL: upstream.openaiUrl,
      PRIVACY_UPSTREAM_OPENAI_KEY: 'sk-upstream',
      PRIVACY_PROFILES_FILE: profiles,
      PRIVACY_HMAC_KEY: 'app-test-hmac-key-0123456789abcdef0123',
      PRIVACY_AUDIT: 'nats',
      PRIVACY_AUDIT_SPOOL_DIR: join(dir, 'spool'),
      AUTH_JWKS_URL: `${gateway.url}/.well-known/jwks.json`,
      AUTH_ISSUER: gateway.identity.issuer,
      AUTH_AUDIENCE: gateway.identity.audience,
      DATABASE_URL: ctx.databaseUrl,
      MIGRATE_ON_START: 'true',
      NATS_URL: ctx.natsUrl,
      NATS_SUBJECT_PREFIX: ctx.subjectPrefix,
      NATS_NAME_SUFFIX: ctx.nameSuffix,
    });
    app = await startPrivacyProxyApp(config, { logger: silent });
    client = await connectBus({
      url: ctx.natsUrl,
      name: 'proxy-app-test-client',
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logger: silent,
    });
    [financeToken, adminToken] = await Promise.all([
      devToken(gateway, 'finance-agent'),
      devToken(gateway, 'admin'),
    ]);
  });

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await client?.close();
    await upstream?.close();
    await gateway?.close();
    await ctx?.dispose();
    if (dir?.includes('orgmesh-proxy-app-')) await rm(dir, { recursive: true, force: true });
  });

  it('masks a model call on the listened port and serves usage and redaction counts from its controller', async () => {
    const openai = new OpenAI({ apiKey: financeToken, baseURL: `${app.url}/v1`, maxRetries: 0 });
    const answer = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Write to jane.doe@acme.example about the invoice.' }],
    });
    expect(upstream.last.body).not.toContain('jane.doe@acme.example');
    expect(answer.choices[0]!.message.content).toContain('jane.doe@acme.example');

    const auth = { authorization: `Bearer ${adminToken}` };
    const usage = await client.request(GetUsage, { limit: 10 }, auth);
    expect(usage.totals.requests).toBe(1);
    expect(usage.rows[0]).toMatchObject({ agentId: 'finance-agent', model: 'gpt-4o-mini' });

    const counts = await client.request(GetRedactions, {}, auth);
    expect(JSON.stringify(counts)).toContain('email');
    expect(JSON.stringify(counts)).not.toContain('jane.doe');
  });

  it('masks and restores text over the bus for an agent, and refuses a call without a token', async () => {
    const auth = { authorization: `Bearer ${financeToken}` };
    // The texts' findings are counted with the model calls' (the same teed audit sink).
    const emailsMasked = async () =>
      (await client.request(GetRedactions, { entityType: 'email' }, auth)).totals.masked;
    const before = await emailsMasked();
    const masked = await client.request(MaskText, { texts: ['Ask jane.doe@acme.example.'] }, auth);
    expect(masked.texts[0]).not.toContain('jane.doe@acme.example');
    expect(await emailsMasked()).toBe(before + 1);
    expect(masked.handle).toEqual(expect.any(String));
    const restored = await client.request(RestoreText, { texts: masked.texts, handle: masked.handle! }, auth);
    expect(restored.texts).toEqual(['Ask jane.doe@acme.example.']);
    await expect(client.request(GetUsage, { limit: 10 })).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it('closes: the RPCs stop answering and the port is released', async () => {
    const url = app.url;
    await app.close();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    await expect(
      client.request(GetUsage, { limit: 10 }, { authorization: `Bearer ${adminToken}`, timeoutMs: 500 }),
    ).rejects.toThrow();
  });
});

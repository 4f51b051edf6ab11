import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import { runMigrations } from '@orgmesh/migrations';
import { createTestContext, type TestContext } from '@orgmesh/testing';
import { startSuite, type RunningSuite } from '../src/suite.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface RenderedFile {
  path: string;
  content: string;
}

/** What one agent's tool would do with its rendered config: where it calls, which API, which model. */
interface ModelPath {
  format: 'claude-code' | 'goose';
  api: 'anthropic' | 'openai';
  url: string;
  model: string;
}

/**
 * Issue 20 "done when": a new user gets every demo agent answering. For every agent the registry
 * defines (listed through the gateway, checked against deploy/registry/agents), the test takes the
 * model endpoint and model its rendered config names (Claude Code for Anthropic models, Goose for the
 * others, as `orgmesh agent run` picks), gets that agent's own token from the dev issuer, and makes
 * the one model call its tool would make through the privacy proxy: Anthropic Messages, streamed as
 * Claude Code does, or an OpenAI chat completion. The proxy's upstreams are configured as `npm start`
 * configures them: the scripted model for both APIs.
 */
describe('e2e: every demo agent gets a model answer through the privacy proxy', () => {
  let ctx: TestContext;
  let suite: RunningSuite | undefined;

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'ignore' });
    ctx = await createTestContext();
    for (const service of ['sessions', 'mesh', 'registry'])
      await runMigrations({ url: ctx.databaseUrl, service });
    const dir = mkdtempSync(join(tmpdir(), 'orgmesh-e2e-agents-'));
    const logDir = join(dir, 'logs');
    mkdirSync(logDir);
    suite = await startSuite({
      root,
      natsUrl: ctx.natsUrl,
      databaseUrl: ctx.databaseUrl,
      subjectPrefix: ctx.subjectPrefix,
      nameSuffix: ctx.nameSuffix,
      logDir,
      recordFile: join(dir, 'upstream-requests.jsonl'),
      logLevel: 'warn',
    });
  }, 240_000);

  afterAll(async () => {
    await suite?.stop();
    await ctx?.dispose();
  }, 60_000);

  async function token(clientId: string): Promise<string> {
    const res = await fetch(`${suite!.gatewayUrl}/v1/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: `${clientId}-dev-secret`,
      }).toString(),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async function get<T>(path: string, bearer: string): Promise<T> {
    const res = await fetch(`${suite!.gatewayUrl}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** The model endpoint and model the agent's rendered config gives its tool. */
  async function modelPath(agentId: string, provider: string, bearer: string): Promise<ModelPath> {
    const format = provider === 'anthropic' ? 'claude-code' : 'goose';
    const { files } = await get<{ files: RenderedFile[] }>(`/v1/agents/${agentId}/config?format=${format}`, bearer);
    const file = (path: string) => {
      const found = files.find((f) => f.path === path);
      if (!found) throw new Error(`${agentId}: rendered ${format} config has no ${path}`);
      return found.content;
    };
    if (format === 'claude-code') {
      const settings = JSON.parse(file('.claude/settings.json')) as { model: string; env: Record<string, string> };
      // Claude Code calls `${ANTHROPIC_BASE_URL}/v1/messages`.
      return { format, api: 'anthropic', url: `${settings.env['ANTHROPIC_BASE_URL']}/v1/messages`, model: settings.model };
    }
    const config = parseYaml(file('.config/goose/config.yaml')) as Record<string, string>;
    if (config['GOOSE_PROVIDER'] === 'openai')
      return { format, api: 'openai', url: `${config['OPENAI_HOST']}/${config['OPENAI_BASE_PATH']}`, model: config['GOOSE_MODEL']! };
    return { format, api: 'anthropic', url: `${config['ANTHROPIC_HOST']}/v1/messages`, model: config['GOOSE_MODEL']! };
  }

  /** One model call as the agent's tool makes it; resolves to the status and the answer's text. */
  async function callModel(path: ModelPath, bearer: string): Promise<{ status: number; text: string; type: string }> {
    const prompt = 'Summarise your responsibilities in one sentence.';
    const res =
      path.api === 'anthropic'
        ? await fetch(path.url, {
            method: 'POST',
            headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
            body: JSON.stringify({ model: path.model, max_tokens: 256, stream: true, messages: [{ role: 'user', content: prompt }] }),
          })
        : await fetch(path.url, {
            method: 'POST',
            headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: path.model, messages: [{ role: 'user', content: prompt }] }),
          });
    return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
  }

  it('answers every agent the registry defines, on the API its rendered config names', async () => {
    const admin = await token('admin');
    const listed = await get<{ items: Array<{ agent: { id: string; model: { provider: string; name: string } } }>; nextCursor: string | null }>(
      '/v1/agents?limit=500',
      admin,
    );
    expect(listed.nextCursor).toBeNull();
    const files = readdirSync(join(root, 'deploy/registry/agents')).filter((f) => f.endsWith('.yaml'));
    // The registry serves exactly the demo directory's agents (26, both providers).
    expect(listed.items.map((i) => `${i.agent.id}.yaml`).sort()).toEqual(files.sort());
    const providers = new Set(listed.items.map((i) => i.agent.model.provider));
    expect([...providers].sort()).toEqual(['anthropic', 'openai']);

    const failures: string[] = [];
    const answered: string[] = [];
    for (const { agent } of listed.items) {
      const bearer = await token(agent.id);
      const path = await modelPath(agent.id, agent.model.provider, bearer);
      expect(path.model).toBe(agent.model.name);
      expect(path.url.startsWith(suite!.proxyUrl)).toBe(true);
      const { status, text, type } = await callModel(path, bearer);
      const ok =
        status === 200 &&
        (path.api === 'anthropic'
          ? type.startsWith('text/event-stream') && text.includes('event: message_stop') && text.includes('"text_delta"')
          : ((JSON.parse(text) as { choices?: Array<{ message?: { content?: string | null; tool_calls?: unknown[] } }> })
              .choices?.[0]?.message !== undefined));
      if (ok) answered.push(`${agent.id} (${path.format}, ${path.api})`);
      else failures.push(`${agent.id} (${path.format}, ${path.api} ${path.url}): ${status} ${text.slice(0, 200)}`);
    }
    process.stdout.write(`every-agent: ${answered.length} answered\n  ${answered.join('\n  ')}\n`);
    expect(failures).toEqual([]);
    expect(answered).toHaveLength(files.length);
  }, 180_000);
});

import { beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configHash, type ConfigFormat, type RenderedFile } from '@orgmesh/contracts';
import { demoFiles, demoModel, editFile } from '../../test/demo-registry.js';
import { validateRegistry } from '../loader/registry.validator.js';
import type { RegistryModel } from '../model/registry.model.js';
import { expectedConfigHashes, formatsFor, renderAgentConfig } from './config.renderer.js';
import type { RenderEndpoints } from './render.types.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../test/golden', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const ENDPOINTS: RenderEndpoints = {
  privacyProxyUrl: 'http://127.0.0.1:8090',
  gatewayUrl: 'http://127.0.0.1:8080',
  mcpCommand: 'orgmesh-mcp',
};

/** Agents chosen to cover: the three reference agents, Anthropic models, bash in full and by prefix, web, strict privacy. */
const GOLDEN: ReadonlyArray<readonly [agentId: string, format: ConfigFormat]> = [
  ['finance-agent', 'goose'],
  ['manager-agent', 'goose'],
  ['legal-agent', 'goose'],
  ['contracts-agent', 'claude-code'],
  ['backend-agent', 'claude-code'],
  ['frontend-agent', 'claude-code'],
  ['frontend-agent', 'goose'],
  ['hr-agent', 'claude-code'],
];

let model: RegistryModel;
beforeAll(async () => {
  model = await demoModel();
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

function file(files: readonly RenderedFile[], path: string): string {
  const found = files.find((f) => f.path === path);
  if (!found) throw new Error(`no rendered ${path}`);
  return found.content;
}

describe('golden files: YAML → model → rendered config', () => {
  it.each(GOLDEN)('%s as %s matches test/golden byte for byte', async (agentId, format) => {
    const files = renderAgentConfig(model, agentId, format, ENDPOINTS);
    const dir = join(GOLDEN_DIR, agentId, format);
    if (UPDATE) {
      for (const f of files) {
        await mkdir(dirname(join(dir, f.path)), { recursive: true });
        await writeFile(join(dir, f.path), f.content);
      }
    }
    expect(await listFiles(dir)).toEqual(files.map((f) => f.path).sort());
    for (const f of files) expect(f.content).toBe(await readFile(join(dir, f.path), 'utf8'));
  });
});

describe('determinism and hashing', () => {
  it('renders every agent identically from files given in another order', async () => {
    const reversed = validateRegistry([...(await demoFiles())].reverse());
    if (!reversed.ok) throw new Error('demo invalid');
    for (const agent of model.agents) {
      for (const format of formatsFor(agent)) {
        const a = renderAgentConfig(model, agent.id, format, ENDPOINTS);
        const b = renderAgentConfig(reversed.model, agent.id, format, ENDPOINTS);
        expect(b).toEqual(a);
        expect(configHash(b)).toBe(configHash(a));
      }
    }
  });

  // The agents (agent.config-source.spec.ts) and the runner (workspace.spec.ts) hash this same golden
  // render as they receive and write it; with this test, all three agree on it.
  it('expects, for the golden finance-agent goose render, the hash of those files as they are on disk', async () => {
    const dir = join(GOLDEN_DIR, 'finance-agent', 'goose');
    const golden = await Promise.all(
      (await listFiles(dir)).map(async (path) => ({
        path,
        content: await readFile(join(dir, path), 'utf8'),
      })),
    );
    expect(golden.map((f) => f.path).sort()).toEqual([
      '.config/goose/config.yaml',
      '.goosehints',
      '.gooseignore',
    ]);
    expect(expectedConfigHashes(model, 'finance-agent', ENDPOINTS).goose).toBe(configHash(golden));
  });

  it("changes the expected hash of a role's agents when their profile changes", async () => {
    const changed = validateRegistry(
      editFile(await demoFiles(), 'profiles/legal.yaml', 'ssn: strict', 'ssn: mask'),
    );
    if (!changed.ok) throw new Error('variant invalid');
    expect(expectedConfigHashes(changed.model, 'legal-agent', ENDPOINTS)).not.toEqual(
      expectedConfigHashes(model, 'legal-agent', ENDPOINTS),
    );
    expect(expectedConfigHashes(changed.model, 'finance-agent', ENDPOINTS)).toEqual(
      expectedConfigHashes(model, 'finance-agent', ENDPOINTS),
    );
  });
});

describe('rendered content', () => {
  it('points every client at the privacy proxy', () => {
    expect(
      file(renderAgentConfig(model, 'finance-agent', 'goose', ENDPOINTS), '.config/goose/config.yaml'),
    ).toContain('OPENAI_HOST: http://127.0.0.1:8090\n');
    expect(
      file(renderAgentConfig(model, 'contracts-agent', 'goose', ENDPOINTS), '.config/goose/config.yaml'),
    ).toContain('ANTHROPIC_HOST: http://127.0.0.1:8090\n');
    const settings = JSON.parse(
      file(renderAgentConfig(model, 'contracts-agent', 'claude-code', ENDPOINTS), '.claude/settings.json'),
    );
    expect(settings.env.ANTHROPIC_BASE_URL).toBe('http://127.0.0.1:8090');
  });

  it('renders no fixed model credential: Claude Code asks `orgmesh agent token` (apiKeyHelper), Goose takes it from the runner', () => {
    for (const agentId of ['contracts-agent', 'backend-agent', 'hr-agent']) {
      const settings = JSON.parse(
        file(renderAgentConfig(model, agentId, 'claude-code', ENDPOINTS), '.claude/settings.json'),
      );
      expect(settings.apiKeyHelper).toMatch(/exec "\$o" agent token$/);
      expect(settings.apiKeyHelper).toContain('.orgmesh/bin/orgmesh');
      // A credential in env would take precedence over the helper and expire with its token.
      expect(Object.keys(settings.env)).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/API_KEY|AUTH_TOKEN/)]),
      );
    }
    const goose = file(
      renderAgentConfig(model, 'contracts-agent', 'goose', ENDPOINTS),
      '.config/goose/config.yaml',
    );
    expect(goose).not.toMatch(/API_KEY|AUTH_TOKEN/);
  });

  it('references the agent secret by environment variable, never as a value', () => {
    const mcp = JSON.parse(
      file(renderAgentConfig(model, 'backend-agent', 'claude-code', ENDPOINTS), '.mcp.json'),
    );
    expect(mcp.mcpServers.orgmesh.env).toEqual({
      ORGMESH_AGENT_ID: 'backend-agent',
      ORGMESH_CLIENT_ID: 'backend-agent',
      ORGMESH_CLIENT_SECRET: '${ORGMESH_CLIENT_SECRET}',
      ORGMESH_GATEWAY_URL: 'http://127.0.0.1:8080',
    });
    const goose = file(
      renderAgentConfig(model, 'backend-agent', 'goose', ENDPOINTS),
      '.config/goose/config.yaml',
    );
    expect(goose).toContain('env_keys:\n      - ORGMESH_CLIENT_SECRET\n');
    expect(goose).not.toContain('dev-secret');
  });

  it("denies other agents' exclusive paths and the agent's cannot_access, not its own exclusive paths", () => {
    const settings = JSON.parse(
      file(renderAgentConfig(model, 'backend-agent', 'claude-code', ENDPOINTS), '.claude/settings.json'),
    );
    expect(settings.permissions.deny).toEqual(
      expect.arrayContaining(['Read(./hr/**)', 'Edit(./web/**)', 'Read(./finance/payroll/**)']),
    );
    expect(settings.permissions.deny).not.toContain('Edit(./services/**)');
    const ignore = file(renderAgentConfig(model, 'backend-agent', 'goose', ENDPOINTS), '.gooseignore').split(
      '\n',
    );
    expect(ignore).toEqual(expect.arrayContaining(['hr/**', 'web/**']));
    expect(ignore).not.toContain('services/**');
  });

  it('offers only the mesh tools the profile grants', async () => {
    const variant = validateRegistry(
      editFile(
        editFile(await demoFiles(), 'profiles/legal.yaml', 'send_task_to: [legal]', 'send_task_to: []'),
        'agents/legal-agent.yaml',
        'delegates_to: [contracts-agent, compliance-agent]',
        'delegates_to: []',
      ),
    );
    if (!variant.ok) throw new Error(JSON.stringify(variant.problems));
    const settings = JSON.parse(
      file(
        renderAgentConfig(variant.model, 'contracts-agent', 'claude-code', ENDPOINTS),
        '.claude/settings.json',
      ),
    );
    expect(settings.permissions.deny).toContain('mcp__orgmesh__send_task');
    expect(settings.permissions.allow).not.toContain('mcp__orgmesh__send_task');
    expect(settings.permissions.allow).toContain('mcp__orgmesh__request_approval');
  });

  it('refuses Claude Code for an agent on a non-Anthropic model, and an unknown agent', () => {
    expect(() => renderAgentConfig(model, 'finance-agent', 'claude-code', ENDPOINTS)).toThrow(
      'agent "finance-agent" uses a model of provider "openai"; Claude Code speaks only the Anthropic API (render format goose instead)',
    );
    expect(() => renderAgentConfig(model, 'ghost-agent', 'goose', ENDPOINTS)).toThrow(
      expect.objectContaining({ code: 'agent_not_found' }),
    );
    expect(Object.keys(expectedConfigHashes(model, 'finance-agent', ENDPOINTS))).toEqual(['goose']);
    expect(Object.keys(expectedConfigHashes(model, 'contracts-agent', ENDPOINTS))).toEqual([
      'claude-code',
      'goose',
    ]);
  });
});

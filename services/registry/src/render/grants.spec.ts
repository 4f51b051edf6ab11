import { beforeAll, describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import type { ConfigFormat, RenderedFile } from '@orgmesh/contracts';
import { demoModel } from '../../test/demo-registry.js';
import type { RegistryModel } from '../model/registry.model.js';
import { formatsFor, renderConfig, renderInputFor, renderWarnings } from './config.renderer.js';
import { GOOSE_PLATFORM_EXTENSIONS_OFF } from './goose.renderer.js';
import type { RenderEndpoints, RenderInput } from './render.types.js';

const ENDPOINTS: RenderEndpoints = {
  privacyProxyUrl: 'http://127.0.0.1:8090',
  gatewayUrl: 'http://127.0.0.1:8080',
  mcpCommand: 'orgmesh-mcp',
};

let model: RegistryModel;
beforeAll(async () => {
  model = await demoModel();
});

/** contracts-agent (an Anthropic model, so both formats) with exactly these grants. */
function granted(tools: string[]): RenderInput {
  const input = renderInputFor(model, 'contracts-agent', ENDPOINTS);
  return { ...input, agent: { ...input.agent, tools } };
}

function content(files: readonly RenderedFile[], path: string): string {
  const found = files.find((f) => f.path === path);
  if (!found) throw new Error(`no rendered ${path}`);
  return found.content;
}

interface ClaudePermissions {
  allow: string[];
  deny: string[];
  defaultMode: string;
}
function claude(tools: string[]): ClaudePermissions {
  const settings = JSON.parse(content(renderConfig(granted(tools), 'claude-code'), '.claude/settings.json'));
  return settings.permissions as ClaudePermissions;
}

interface GooseExtension {
  enabled: boolean;
  type: string;
  available_tools?: string[];
}
interface GooseConfig {
  GOOSE_MODE: string;
  extensions: Record<string, GooseExtension>;
}
function goose(tools: string[]): GooseConfig {
  return parseYaml(
    content(renderConfig(granted(tools), 'goose'), '.config/goose/config.yaml'),
  ) as GooseConfig;
}
/** The non-mesh tools Goose can call: enabled extensions' exposed tools (`*` = every tool of it). */
function gooseTools(config: GooseConfig): string[] {
  return Object.entries(config.extensions)
    .filter(([name, ext]) => ext.enabled && name !== 'orgmesh')
    .flatMap(([name, ext]) => (ext.available_tools ?? ['*']).map((tool) => `${name}:${tool}`))
    .sort();
}

const FILE_TOOLS = ['Glob', 'Grep', 'Read'];
const EDIT_TOOLS = ['Edit', 'NotebookEdit', 'Write'];
const WEB_TOOLS = ['WebFetch', 'WebSearch'];

describe('Claude Code: each grant kind renders exactly its tools, and dontAsk refuses the rest', () => {
  it.each([
    ['nothing', [], [], [...FILE_TOOLS, ...EDIT_TOOLS, ...WEB_TOOLS, 'Bash']],
    ['read', ['read'], FILE_TOOLS, [...EDIT_TOOLS, ...WEB_TOOLS, 'Bash']],
    ['edit', ['edit'], EDIT_TOOLS, [...FILE_TOOLS, ...WEB_TOOLS, 'Bash']],
    ['web', ['web'], WEB_TOOLS, [...FILE_TOOLS, ...EDIT_TOOLS, 'Bash']],
    ['bash', ['bash'], ['Bash'], [...FILE_TOOLS, ...EDIT_TOOLS, ...WEB_TOOLS]],
    ['bash:python3', ['bash:python3'], ['Bash(python3 *)'], [...FILE_TOOLS, ...EDIT_TOOLS, ...WEB_TOOLS]],
    ['bash:npm run', ['bash:npm run'], ['Bash(npm run *)'], [...FILE_TOOLS, ...EDIT_TOOLS, ...WEB_TOOLS]],
  ])('%s', (_kind, tools, allowed, denied) => {
    const permissions = claude(tools);
    const builtinAllow = permissions.allow.filter((rule) => !rule.startsWith('mcp__'));
    expect(builtinAllow.sort()).toEqual([...allowed].sort());
    expect(permissions.deny).toEqual(expect.arrayContaining(denied));
    for (const rule of allowed) expect(permissions.deny).not.toContain(rule);
    expect(permissions.defaultMode).toBe('dontAsk');
  });

  it('never allows the whole shell for a prefix grant (a deny of Bash would also refuse the prefix)', () => {
    const permissions = claude(['read', 'bash:git', 'bash:python3']);
    expect(permissions.allow).toEqual(expect.arrayContaining(['Bash(git *)', 'Bash(python3 *)']));
    expect(permissions.allow).not.toContain('Bash');
    expect(permissions.deny).not.toContain('Bash');
  });
});

describe('Goose: each grant kind renders the narrowest tools Goose can expose, and says where it is narrower', () => {
  it.each([
    ['nothing', [], [], []],
    ['read', ['read'], ['analyze:*', 'developer:tree'], ['read: Goose has no read-only tool']],
    ['edit', ['edit'], ['developer:edit', 'developer:write'], []],
    [
      'web',
      ['web'],
      ['computercontroller:web_scrape'],
      ["web: rendered as computercontroller's `web_scrape` only"],
    ],
    ['bash', ['bash'], ['developer:shell'], []],
    ['bash:python3', ['bash:python3'], [], ['bash:python3: not granted to Goose']],
    [
      'read, edit, bash',
      ['read', 'edit', 'bash'],
      ['analyze:*', 'developer:edit', 'developer:shell', 'developer:tree', 'developer:write'],
      [],
    ],
  ])('%s', (_kind, tools, exposed, warnings) => {
    const config = goose(tools);
    expect(gooseTools(config)).toEqual([...exposed].sort());
    const said = renderWarnings(granted(tools), 'goose');
    expect(said).toHaveLength(warnings.length);
    warnings.forEach((start, i) => expect(said[i]).toContain(start));
    // The same lines head config.yaml, so whoever opens the file sees them too.
    const file = content(renderConfig(granted(tools), 'goose'), '.config/goose/config.yaml');
    for (const line of said) expect(file).toContain(`# Narrower than the registry: ${line}\n`);
    // And the agent reads them in its brief, rather than finding out by failing.
    const hints = content(renderConfig(granted(tools), 'goose'), '.goosehints');
    for (const line of said) expect(hints).toContain(`- ${line}\n`);
    expect(hints.includes('Not as granted in Goose:')).toBe(said.length > 0);
  });

  it('keeps the developer extension and the default-enabled platform extensions present but disabled when not granted', () => {
    const config = goose([]);
    // Goose re-adds a missing default-enabled platform extension, enabled: an absent entry would grant it.
    expect(config.extensions['developer']).toMatchObject({ enabled: false, type: 'platform' });
    for (const name of GOOSE_PLATFORM_EXTENSIONS_OFF)
      expect(config.extensions[name]).toMatchObject({ enabled: false, type: 'platform' });
    expect(config.GOOSE_MODE).toBe('auto');
  });

  it('offers the orgmesh tools the profile grants whatever the other grants', () => {
    expect(goose([]).extensions['orgmesh']).toMatchObject({ enabled: true, type: 'stdio' });
    expect(goose([]).extensions['orgmesh']?.available_tools).toEqual(
      expect.arrayContaining(['complete_task', 'list_agents', 'send_task']),
    );
  });
});

describe('never wider than the registry, for every demo agent and format', () => {
  it('exposes a shell exactly when `bash` is granted, and a prefix only where the client can enforce it', () => {
    for (const agent of model.agents) {
      const input = renderInputFor(model, agent.id, ENDPOINTS);
      const shell = agent.tools.includes('bash');
      const prefixes = agent.tools.filter((t) => t.startsWith('bash:')).map((t) => t.slice(5));
      for (const format of formatsFor(agent) as ConfigFormat[]) {
        const files = renderConfig(input, format);
        if (format === 'goose') {
          const config = parseYaml(content(files, '.config/goose/config.yaml')) as GooseConfig;
          expect({ agent: agent.id, shell: gooseTools(config).includes('developer:shell') }).toEqual({
            agent: agent.id,
            shell,
          });
          expect(renderWarnings(input, format).filter((w) => w.startsWith('bash:'))).toHaveLength(
            shell ? 0 : prefixes.length,
          );
        } else {
          const { allow } = JSON.parse(content(files, '.claude/settings.json'))
            .permissions as ClaudePermissions;
          expect({ agent: agent.id, shell: allow.includes('Bash') }).toEqual({ agent: agent.id, shell });
          for (const prefix of shell ? [] : prefixes) expect(allow).toContain(`Bash(${prefix} *)`);
        }
      }
    }
  });
});

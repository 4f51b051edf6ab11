import { describe, expect, it } from '@jest/globals';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs script of npm start, without type declarations
import { modelPathLines, readAgentModels } from './agent-model-paths.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
type AgentModel = { id: string; provider: string; model: string };

describe("npm start's per-agent model paths", () => {
  const agents = (readAgentModels as (dir: string) => AgentModel[])(join(root, 'deploy/registry'));
  const lines = modelPathLines as (
    agents: AgentModel[],
    upstreams: Record<string, string | undefined>,
    options?: { scripted?: boolean },
  ) => string[];

  it('reads every demo agent with its provider', () => {
    expect(agents).toHaveLength(26);
    expect(agents.filter((a) => a.provider === 'anthropic')).toHaveLength(12);
    expect(agents.find((a) => a.id === 'contracts-agent')).toEqual({
      id: 'contracts-agent',
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
    });
  });

  it('says every agent has a path when both upstreams are set (npm start with the scripted model)', () => {
    const out = lines(agents, { openai: 'http://m/v1', anthropic: 'http://m' }, { scripted: true });
    expect(out).toEqual([
      '12 on anthropic models (Anthropic Messages) → privacy proxy → http://m (scripted model)',
      '14 on openai models (OpenAI chat completions) → privacy proxy → http://m/v1 (scripted model)',
    ]);
  });

  it('names each agent that cannot run, and why, when an upstream is missing', () => {
    const out = lines(agents, { openai: 'https://api.openai.com/v1' });
    expect(out[0]).toBe(
      '12 on anthropic models CANNOT RUN: no PRIVACY_UPSTREAM_ANTHROPIC_URL, the privacy proxy answers their model calls 503:',
    );
    expect(out).toContain('  ✗ contracts-agent (claude-sonnet-4-5): no anthropic upstream (set PRIVACY_UPSTREAM_ANTHROPIC_URL)');
    expect(out.filter((line) => line.startsWith('  ✗'))).toHaveLength(12);
    expect(out.at(-1)).toBe('14 on openai models (OpenAI chat completions) → privacy proxy → https://api.openai.com/v1');
  });
});

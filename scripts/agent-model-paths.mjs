// What `npm start` says at start about every agent of the registry: which model API it calls through
// the privacy proxy, where that goes, and, per agent, which cannot run and why (issue 20 item 1).
// Claude Code speaks Anthropic Messages; the rendered Goose configs of OpenAI-model agents speak
// OpenAI chat completions (services/registry/src/render). No upstream for an API: the proxy answers
// that agent's every model call 503 "no <api> upstream is configured".
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Each `agents/*.yaml` of a registry directory as { id, provider, model }; unreadable files are skipped (the registry reports them). */
export function readAgentModels(registryDir) {
  const dir = join(registryDir, 'agents');
  const agents = [];
  for (const file of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(file)) continue;
    let doc;
    try {
      doc = parseYaml(readFileSync(join(dir, file), 'utf8'));
    } catch {
      continue;
    }
    if (typeof doc?.id === 'string' && typeof doc?.model?.provider === 'string')
      agents.push({ id: doc.id, provider: doc.model.provider, model: String(doc.model.name ?? '') });
  }
  return agents;
}

/**
 * Lines for the start banner. `upstreams`: { openai?: string, anthropic?: string } (the proxy's
 * PRIVACY_UPSTREAM_*_URL, undefined when unset); `scripted`: whether they are the scripted model.
 */
export function modelPathLines(agents, upstreams, { scripted = false } = {}) {
  const lines = [];
  const byProvider = new Map();
  for (const agent of agents) byProvider.set(agent.provider, [...(byProvider.get(agent.provider) ?? []), agent]);
  const api = { openai: 'OpenAI chat completions', anthropic: 'Anthropic Messages' };
  for (const [provider, list] of [...byProvider].sort(([a], [b]) => a.localeCompare(b))) {
    const upstream = upstreams[provider];
    const name = api[provider] ?? provider;
    if (upstream) {
      const what = scripted ? `${upstream} (scripted model)` : upstream;
      lines.push(`${list.length} on ${provider} models (${name}) → privacy proxy → ${what}`);
    } else {
      const key = `PRIVACY_UPSTREAM_${provider.toUpperCase()}_URL`;
      lines.push(`${list.length} on ${provider} models CANNOT RUN: no ${key}, the privacy proxy answers their model calls 503:`);
      for (const agent of list) lines.push(`  ✗ ${agent.id} (${agent.model}): no ${provider} upstream (set ${key})`);
    }
  }
  return lines;
}

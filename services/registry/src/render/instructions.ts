import type { PrivacyMode } from '@orgmesh/contracts';
import { capabilitiesOf, describeTargets } from './agent-capabilities.js';
import type { RenderInput } from './render.types.js';

const MODE_WORDS: Record<PrivacyMode, string> = {
  off: 'passed through unfiltered',
  detect: 'detected and audited, but sent as is',
  mask: 'replaced by stable pseudonyms before the model sees them, and restored in the answers you receive',
  strict: 'refused: a request containing it is not sent at all',
};

/**
 * The agent's standing instructions, written once and used as both CLAUDE.md and .goosehints so the
 * two clients get the same brief. `narrower`: the client's render warnings, so the agent knows which
 * of its grants this client does not give it (instead of finding out by failing).
 */
export function renderInstructions(
  input: RenderInput,
  client: 'Claude Code' | 'Goose',
  narrower: readonly string[] = [],
): string {
  const { agent, profile } = input;
  const caps = capabilitiesOf(input);
  const out: string[] = [];
  out.push(
    `<!-- Rendered by the orgmesh registry from ${input.sources.agent} and ${input.sources.profile} for ${client}. ` +
      'Do not edit: a changed file is reported as drift. -->',
    '',
    `# ${agent.displayName} (\`${agent.id}\`)`,
    '',
  );
  if (agent.description) out.push(agent.description, '');
  out.push(
    `You work for the **${agent.role}** role under profile \`${profile.id}\`, on model \`${agent.model.provider}/${agent.model.name}\`. ` +
      'Every model call goes through the orgmesh privacy proxy.',
    '',
  );

  section(
    out,
    'Responsibilities',
    agent.responsibilities.map((r) => `- ${r}`),
    'None declared.',
  );
  section(
    out,
    'Forbidden',
    agent.forbidden.map((f) => `- ${f}`),
    'Nothing beyond the mesh policy and the off-limits paths.',
  );
  section(
    out,
    'Delegation',
    input.delegates.length > 0
      ? [
          'You may delegate work to these agents with `send_task`:',
          ...input.delegates.map(
            (d) => `- \`${d.id}\`: ${d.displayName} (${d.role})${d.description ? `. ${d.description}` : ''}`,
          ),
        ]
      : [],
    'You do not delegate work to other agents.',
  );
  section(out, 'Tools', [
    `The registry grants you: ${agent.tools.length > 0 ? agent.tools.map((t) => `\`${t}\``).join(', ') : 'no file, shell or web tools'}.`,
    ...(narrower.length > 0
      ? ['', `Not as granted in ${client}:`, ...narrower.map((line) => `- ${line}`)]
      : []),
  ]);
  section(out, 'The mesh', [
    `Work with other agents only through the orgmesh MCP tools (${caps.meshToolsAllowed.map((t) => `\`${t}\``).join(', ')}). ` +
      'The mesh refuses anything the policy does not grant:',
    `- send tasks to: ${describeTargets(profile.mesh.sendTaskTo)}`,
    `- request approval from: ${describeTargets(profile.mesh.requestApprovalFrom)}`,
    `- notify: ${describeTargets(profile.mesh.notify)}`,
  ]);
  const strictEntities = Object.entries(profile.privacy.entities)
    .filter(([, mode]) => mode !== profile.privacy.mode)
    .map(([entity, mode]) => `- ${entity.replace(/_/g, ' ')}: ${MODE_WORDS[mode as PrivacyMode]}`);
  section(out, 'Personal data', [
    `Personal data in your prompts is ${MODE_WORDS[profile.privacy.mode]} (privacy mode \`${profile.privacy.mode}\`).`,
    ...(strictEntities.length > 0 ? ['', 'Except:', ...strictEntities] : []),
  ]);
  section(
    out,
    'Off limits',
    caps.offLimits.length > 0 ? ['Never read or change:', ...caps.offLimits.map((p) => `- \`${p}\``)] : [],
    'No paths are off limits beyond what your tools allow.',
  );
  if (profile.hints.trim()) section(out, 'Role guidance', profile.hints.trim().split('\n'));
  return out.join('\n').replace(/\n+$/, '\n');
}

function section(out: string[], title: string, lines: readonly string[], empty?: string): void {
  out.push(`## ${title}`, '');
  if (lines.length > 0) out.push(...lines);
  else if (empty) out.push(empty);
  out.push('');
}

import { AgentCardRefused, fetchVerifiedAgentCard, type FetchAgentCardOptions } from '@orgmesh/auth';
import type { RegistrySourceFile } from '@orgmesh/contracts';
import type { RegistryModel } from '../model/registry.model.js';
import { sortProblems, type Problem } from './problem.js';
import { locate, parseYaml } from './yaml-source.js';

const AGENT_FILE = /^agents\/[^/]+\.ya?ml$/;

export interface RemoteCardCheck {
  /** Longest wait for a card (and for its key set); default 5 s. */
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

/**
 * The network half of validating a registry (validateRegistry stays pure): every remote A2A agent's
 * card is fetched and, when signed, verified (ADR 0021). A card that does not answer, is not a card,
 * or whose signature does not verify is a problem of the agent's file at `a2a.card_url`, with the
 * reason in one line, so the load is refused like any invalid registry. Cards are checked at once.
 */
export async function checkRemoteAgents(
  model: RegistryModel,
  files: readonly RegistrySourceFile[],
  options: RemoteCardCheck = {},
): Promise<Problem[]> {
  const remote = model.agents.filter((agent) => agent.a2a);
  if (remote.length === 0) return [];
  const problems = await Promise.all(
    remote.map(async (agent): Promise<Problem | undefined> => {
      const a2a = agent.a2a!;
      const fetchOptions: FetchAgentCardOptions = {
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
        ...(a2a.jwksUrl ? { jwksUrl: a2a.jwksUrl } : {}),
      };
      try {
        await fetchVerifiedAgentCard(a2a.cardUrl, fetchOptions);
        return undefined;
      } catch (error) {
        const reason =
          error instanceof AgentCardRefused
            ? error.message
            : `the card could not be checked (${error instanceof Error ? error.message : String(error)})`;
        return { ...whereDeclared(agent.id, files), reason: `remote A2A agent refused: ${reason}` };
      }
    }),
  );
  return sortProblems(problems.filter((p): p is Problem => p !== undefined));
}

/** The agent file that declares the agent, and the position of its `a2a.card_url`. */
function whereDeclared(agentId: string, files: readonly RegistrySourceFile[]): Omit<Problem, 'reason'> {
  const path = ['a2a', 'card_url'];
  for (const file of files) {
    if (!AGENT_FILE.test(file.path)) continue;
    const parsed = parseYaml(file.path, file.content);
    if (!parsed.ok) continue;
    const data = parsed.source.data as { id?: unknown } | null;
    if (data?.id !== agentId) continue;
    return { file: file.path, path: path.join('.'), ...locate(parsed.source, path) };
  }
  return { file: `agents/${agentId}.yaml`, path: path.join('.') };
}

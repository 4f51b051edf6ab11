import { HOOK_EXIT_BLOCK, WORKSPACE_ORGMESH_BIN, type HookEvent } from '@orgmesh/contracts';

/**
 * The shell command of one Claude Code hook (`sh -c` compatible). It runs the workspace's own
 * `orgmesh` (written by `orgmesh agent run`, absolute paths inside), else `orgmesh` on PATH.
 *
 * pre-tool-use fails closed: Claude Code lets a tool call through on any exit but 2, so a missing
 * `orgmesh` (127), a crash (1) or a refusal all become exit 2 with the reason on stderr. Opened
 * without the runner, the workspace then blocks file and shell tools instead of guarding nothing.
 * session-start and stop have nothing to enforce and exit 0 when orgmesh is absent: exit 2 from a
 * Stop hook would keep the agent from ever finishing.
 */
export function hookCommand(event: HookEvent, agentId: string): string {
  const find = findOrgmesh();
  const run = `"$o" agent hook ${event} ${agentId}`;
  if (event !== 'pre-tool-use') return `${find} || exit 0; ${run}`;
  const refusal =
    `orgmesh: blocked: the off-limits check of ${agentId} cannot run (no ${WORKSPACE_ORGMESH_BIN} in the workspace and no orgmesh on PATH); ` +
    `start the agent with: orgmesh agent run ${agentId} -- claude`;
  return `${find} || { echo '${refusal}' >&2; exit ${HOOK_EXIT_BLOCK}; }; ${run} || exit ${HOOK_EXIT_BLOCK}`;
}

/**
 * Claude Code's `apiKeyHelper`: prints the agent's current token, fetched anew at each call (from the
 * OpenID provider or the dev issuer, with the credentials `orgmesh agent run` put into the
 * environment). Claude Code re-runs it every CLAUDE_CODE_API_KEY_HELPER_TTL_MS and after a 401, so
 * model calls through the privacy proxy outlive any one token. Without orgmesh the helper fails and
 * says why; Claude Code then has no credential, which the privacy proxy would refuse anyway.
 */
export function apiKeyHelperCommand(agentId: string): string {
  const missing = `orgmesh: no token for ${agentId}: no ${WORKSPACE_ORGMESH_BIN} in the workspace and no orgmesh on PATH; start the agent with: orgmesh agent run ${agentId} -- claude`;
  return `${findOrgmesh()} || { echo '${missing}' >&2; exit 1; }; exec "$o" agent token`;
}

/** The workspace's own `orgmesh` (absolute paths inside), else `orgmesh` on PATH, in `$o`. */
function findOrgmesh(): string {
  return `o="\${CLAUDE_PROJECT_DIR:-.}/${WORKSPACE_ORGMESH_BIN}"; [ -x "$o" ] || o=$(command -v orgmesh)`;
}

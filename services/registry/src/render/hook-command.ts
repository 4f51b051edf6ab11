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
  const find = `o="\${CLAUDE_PROJECT_DIR:-.}/${WORKSPACE_ORGMESH_BIN}"; [ -x "$o" ] || o=$(command -v orgmesh)`;
  const run = `"$o" agent hook ${event} ${agentId}`;
  if (event !== 'pre-tool-use') return `${find} || exit 0; ${run}`;
  const refusal =
    `orgmesh: blocked: the off-limits check of ${agentId} cannot run (no ${WORKSPACE_ORGMESH_BIN} in the workspace and no orgmesh on PATH); ` +
    `start the agent with: orgmesh agent run ${agentId} -- claude`;
  return `${find} || { echo '${refusal}' >&2; exit ${HOOK_EXIT_BLOCK}; }; ${run} || exit ${HOOK_EXIT_BLOCK}`;
}
